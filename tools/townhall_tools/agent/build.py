"""Build a tenant's Dialogflow ES agent export (the ZIP the console's "Restore from ZIP" takes).

The export holds only what the library and the tenant file say, generically:

- ``package.json`` and ``agent.json`` (the council's name, its languages, London time);
- for every process the tenant switches on, each intent its manifest lists
  (``library/<id>/intents/<name>.json``), with the webhook on, and its training phrases in every
  language the tenant offers (``<name>_usersays_<lang>.json``);
- every custom entity those processes ship (``library/<id>/entities/``) or name in their manifest's
  ``entities:`` (kept once in ``library/_shared/entities/``), once: two processes may ship the same
  entity only with the same definition and entries;
- per-tenant entity entries from a process's optional ``agent.py``:
  ``entities(settings, language) -> {entity: [{"value", "synonyms"}]}`` replaces the shipped
  entries of an entity of that process for that tenant (``faq`` fills ``faq-topic`` from the
  council's own questions).

- the shared entities' per-council entries from ``library/_shared/agent.py``
  (``entities(processes, language, shipped)``: ``bin-type`` = only the council's own bins, with its
  own names and words for them);
- what each council's agent carries is true for that council: a training phrase annotating a
  custom entity whose entries are the council's own (``faq-topic``, ``bin-type``) with words the
  council's entries lack is regenerated with the council's own synonyms (round robin over its
  values), words two entities claim are kept by one (``_settle_clashes``), and a phrase still
  pointing at a value the agent lacks stops the build naming it (``check_annotations``);
- every intent answers, in each of the council's languages, with a static text giving the
  council's contact details (``static_answer``): what Dialogflow shows when the webhook cannot
  be reached, so a resident is never left with nothing;
- in languages where Dialogflow may not extract them (Welsh), annotations of ``@sys.number``,
  ``@sys.email`` and ``@sys.phone-number`` are removed from the training phrases (their words
  kept): the handlers read those values from the resident's words.

No secret goes in: the fulfillment (URL and credential) is set by ``deploy``, never by the ZIP,
and the ZIP's webhook is off (``available: false``, no URL): a restore never switches on a webhook
with an empty URL; ``deploy`` enables the fulfillment before training.
The bytes are deterministic: files in name order, fixed timestamps and permissions.
"""

from __future__ import annotations

import copy
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from townhall.library import SHARED, Library, LibraryError, Process, _import
from townhall.tenants import Tenant, compile_tenant, validate
from townhall.yamlio import YamlError, load_yaml

from ..paths import REPO

# The agent settings Terraform's google_dialogflow_agent sets too (language, names, time zone,
# classification threshold, logging): one copy, infra/agent-settings.json, read by both, so a
# deploy and the next plan agree (tests/test_terraform_offline.py compares them).
AGENT_SETTINGS = REPO / "infra" / "agent-settings.json"


def agent_settings() -> dict:
    try:
        return json.loads(AGENT_SETTINGS.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BuildError(
            f"{AGENT_SETTINGS}: not readable JSON ({e}); it holds the agent settings Terraform shares"
        ) from e


def _fill(template: str, tenant: Tenant) -> str:
    return template.replace("{name}", tenant.name).replace("{gss_code}", tenant.gss_code)


NORMAL_PRIORITY, LOW_PRIORITY = 500000, 250000  # Dialogflow's "Normal" and "Low"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP entry can carry: same bytes every build
# System entities Dialogflow may not extract in a language: their annotations are dropped there.
UNEXTRACTED_SYSTEM = {"cy": frozenset({"@sys.number", "@sys.email", "@sys.phone-number"})}
ENTRIES = re.compile(r"^(?P<entity>.+)_entries_(?P<lang>[a-z]{2}(?:-[a-z]+)?)$")


class BuildError(Exception):
    """The agent cannot be built; the message names the file and what to fix."""


@dataclass
class AgentExport:
    """The files of one tenant's agent export: ZIP path -> JSON value."""

    tenant: Tenant
    files: dict[str, Any] = field(default_factory=dict)

    @property
    def languages(self) -> tuple[str, ...]:
        return self.tenant.languages

    def _definitions(self, folder: str, per_language: str) -> Iterator[dict]:
        for path, value in sorted(self.files.items()):
            if path.startswith(folder) and per_language not in path:
                yield value

    def intents(self) -> Iterator[dict]:
        return self._definitions("intents/", "_usersays_")

    def usersays(self, intent: str, language: str) -> list[dict]:
        return self.files.get(f"intents/{intent}_usersays_{language}.json", [])

    def entities(self) -> Iterator[dict]:
        return self._definitions("entities/", "_entries_")

    def entries(self, entity: str, language: str) -> list[dict]:
        return self.files.get(f"entities/{entity}_entries_{language}.json", [])

    def zip_bytes(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for path in sorted(self.files):
                info = zipfile.ZipInfo(path, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # unix, whatever builds it
                info.external_attr = 0o644 << 16
                zf.writestr(info, _dump(self.files[path]), compresslevel=9)
        return out.getvalue()


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BuildError(f"{path}: not readable JSON ({e}); fix the file") from e


# -- tenants ---------------------------------------------------------------------------------------


def load_tenant(tenant_id: str, tenants_dir: Path, library: Library) -> Tenant:
    """The validated tenant ``<tenants_dir>/<tenant_id>.yaml``; BuildError saying what is wrong."""
    path = Path(tenants_dir) / f"{tenant_id}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in Path(tenants_dir).glob("*.yaml"))) or "none"
        raise BuildError(f"no tenant file {path} (tenants there: {known}); check the id or --tenants-dir")
    try:
        doc = load_yaml(path)
    except YamlError as e:
        raise BuildError(str(e)) from e
    problems = validate(doc, library, expected_id=tenant_id)
    if problems:
        lines = "\n".join(f"  {path}: {p}" for p in problems)
        raise BuildError(f"{path} is not valid; fix it first (townhall tenants validate):\n{lines}")
    return compile_tenant(doc, library)


def tenant_ids(tenants_dir: Path) -> list[str]:
    return sorted(p.stem for p in Path(tenants_dir).glob("*.yaml"))


# -- intents ---------------------------------------------------------------------------------------


STATIC = {
    "en": (
        "Sorry, I can't answer that right now.",
        "You can contact {name}",
        "phone {phone}",
        "email {email}",
        "{web}",
    ),
    "cy": (
        "Mae'n ddrwg gen i, alla i ddim ateb hynny ar hyn o bryd.",
        "Gallwch gysylltu â'r cyngor ({name})",
        "ffôn {phone}",
        "e-bost {email}",
        "{web}",
    ),
}


def static_answer(tenant: Tenant, language: str) -> str:
    """The static text every intent carries in ``language``: the council's contact details (what
    Dialogflow shows when the webhook cannot be reached)."""
    sorry, intro, phone, email, web = STATIC.get(language, STATIC["en"])
    contact = tenant.contact
    name = (getattr(tenant, "names", None) or {}).get(language) or tenant.name
    ways = []
    if contact.phone:
        ways.append(phone.format(phone=contact.phone))
    if contact.email:
        ways.append(email.format(email=contact.email))
    if contact.web_form or contact.website:
        ways.append(web.format(web=contact.web_form or contact.website))
    if not ways:
        return sorry
    return f"{sorry} {intro.format(name=name)}: {', '.join(ways)}."


def _static_answers(intent: dict, tenant: Tenant) -> None:
    """Each language's text response ends with the council's contact details."""
    for response in intent.get("responses", []) or [{}]:
        for message in response.get("messages", []):
            if str(message.get("type")) != "0" or message.get("lang") not in tenant.languages:
                continue
            text = static_answer(tenant, message["lang"])
            said = message.get("speech") or []
            said = said if isinstance(said, list) else [said]
            message["speech"] = [f"{s} {text}" if text not in s else s for s in said if s] or [text]


def _intent(process: Process, entry: Mapping[str, Any], languages: tuple[str, ...]) -> dict:
    name = entry["name"]
    path = process.folder / "intents" / f"{name}.json"
    if not path.is_file():
        raise BuildError(f"{path}: missing; library/{process.id}/manifest.yaml lists {name!r}")
    intent = copy.deepcopy(_read_json(path))
    if intent.get("name") != name:
        raise BuildError(f'{path}: "name" is {intent.get("name")!r}; set it to {name!r}')
    intent["webhookUsed"] = True
    intent["webhookForSlotFilling"] = bool(intent.get("webhookForSlotFilling") or entry.get("webhook_for_slot_filling"))
    for response in intent.get("responses", []):
        messages = [m for m in response.get("messages", []) if m.get("lang") in languages]
        present = {m.get("lang") for m in messages}
        for language in languages:
            if language not in present:
                messages.append({"type": "0", "lang": language, "condition": "", "speech": []})
        response["messages"] = messages
        for parameter in response.get("parameters", []):
            for key in ("prompts", "promptMessages"):
                if isinstance(parameter.get(key), list):
                    parameter[key] = [p for p in parameter[key] if p.get("lang", languages[0]) in languages]
    return intent


def _catch_all(intent: Mapping[str, Any], phrases: list[list[dict]]) -> bool:
    """An intent with input contexts trained mostly on a lone ``@sys.any`` (it takes whatever is
    typed while its contexts are active): the builder gives it Dialogflow's "Low" priority, so a
    clear match for another intent outranks it (unless the library set a priority of its own)."""
    rows = [row for language in phrases for row in language]
    if not intent.get("contexts") or intent.get("fallbackIntent") or not rows:
        return False
    if int(intent.get("priority", NORMAL_PRIORITY)) != NORMAL_PRIORITY:
        return False
    lone = 0
    for row in rows:
        said = [p for p in row.get("data", []) if str(p.get("text", "")).strip()]
        lone += bool(said) and all(p.get("meta") == "@sys.any" for p in said)
    return lone * 2 >= len(rows)


def _usersays(process: Process, name: str, language: str) -> list[dict] | None:
    path = process.folder / "intents" / f"{name}_usersays_{language}.json"
    if not path.is_file():
        return None
    rows = _read_json(path)
    if not isinstance(rows, list):
        raise BuildError(f"{path}: must be a list of training phrases")
    return rows


# -- entities --------------------------------------------------------------------------------------


@dataclass
class _Entity:
    definition: dict
    entries: dict[str, list]  # language -> entries
    source: str  # library/<id>/entities/<name>.json or library/_shared/entities/<name>.json
    # language -> {synonym: 2 when the council wrote it, 1 when the library did}; set only for an
    # entity whose entries in that language are the council's own (from an agent.py)
    own: dict[str, dict[str, int]] = field(default_factory=dict)
    # entries wholly the council's (a process's agent.py): every annotated example is regenerated
    regenerate: bool = False


def shared_entities(process: Process) -> list[str]:
    """The shared entities ``process``'s manifest names (``entities: [uk-postcode]``)."""
    named = process.manifest.get("entities") or []
    return [str(name) for name in named] if isinstance(named, list) else []


def _entity_files(process: Process) -> list[Path]:
    """The definition files of the process's entities: its own, then the shared ones it names."""
    own = process.folder / "entities"
    files = [p for p in sorted(own.glob("*.json")) if not ENTRIES.match(p.stem)] if own.is_dir() else []
    shared = process.folder.parent / SHARED / "entities"
    for name in shared_entities(process):
        path = shared / f"{name}.json"
        if not path.is_file():
            raise BuildError(
                f"library/{process.id}/manifest.yaml: entities: names {name!r}, but there is no "
                f"library/{SHARED}/entities/{name}.json; fix the name or add the entity there"
            )
        files.append(path)
    return files


def _shipped_entities(process: Process, languages: tuple[str, ...]) -> dict[str, _Entity]:
    found: dict[str, _Entity] = {}
    for path in _entity_files(process):
        folder = path.parent
        definition = _read_json(path)
        name = definition.get("name") if isinstance(definition, dict) else None
        if name != path.stem:
            raise BuildError(f'{path}: "name" is {name!r}; set it to the file name {path.stem!r}')
        entries = {}
        for language in languages:
            entries_path = folder / f"{name}_entries_{language}.json"
            if entries_path.is_file():
                entries[language] = _read_json(entries_path)
            elif definition.get("isRegexp") and "en" in entries:
                entries[language] = entries["en"]  # a pattern reads the same in every language
            else:
                raise BuildError(
                    f"{entries_path}: missing; the tenant offers {language!r}, so the entity needs its entries"
                )
        found[name] = _Entity(definition, entries, f"library/{path.relative_to(process.folder.parent).as_posix()}")
    return found


def _tenant_entries(process: Process, settings: Mapping[str, Any], language: str) -> Mapping[str, list]:
    """Entries from the process's optional ``agent.py``: ``entities(settings, language)``."""
    if not (process.folder / "agent.py").is_file():
        return {}
    try:
        module = _import(process, "agent", "entities")
        result = module.entities(copy.deepcopy(dict(settings)), language)
    except LibraryError as e:
        raise BuildError(str(e)) from e
    where = f"library/{process.id}/agent.py"
    if not isinstance(result, Mapping):
        raise BuildError(f"{where}: entities() must return {{entity name: [{{value, synonyms}}]}}")
    for entity, entries in result.items():
        ok = isinstance(entries, list) and all(
            isinstance(e, Mapping)
            and isinstance(e.get("value"), str)
            and e["value"]
            and isinstance(e.get("synonyms"), list)
            and e["synonyms"]
            and all(isinstance(s, str) and s for s in e["synonyms"])
            for e in entries
        )
        if not ok or not entries:
            raise BuildError(
                f"{where}: entities()[{entity!r}] for {language!r} must be a non-empty list of "
                "{value: text, synonyms: [text, ...]} with at least one synonym each"
            )
    return result


def _shared_tenant_entries(library: Library, tenant: Tenant, entities: dict[str, _Entity]) -> None:
    """The council's own entries of shared entities, from ``library/_shared/agent.py``."""
    path = next((p.folder.parent / SHARED / "agent.py" for p in library.processes.values()), None)
    if path is None or not path.is_file():
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location("townhall_library_shared_agent", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a broken library file: say which
        raise BuildError(f"{path}: cannot be loaded ({type(e).__name__}: {e}); fix the file") from e
    shared = {n: e for n, e in entities.items() if e.source.startswith(f"library/{SHARED}/")}
    settings = {pid: copy.deepcopy(dict(s or {})) for pid, s in tenant.processes.items()}
    for language in tenant.languages:
        result = module.entities(settings, language, {n: copy.deepcopy(e.entries[language]) for n, e in shared.items()})
        for name, entries in (result or {}).items():
            if name not in shared:
                raise BuildError(f"{path}: entities() returns {name!r}, which is no shared entity of this agent")
            if not entries or not all(isinstance(e, Mapping) and e.get("value") and e.get("synonyms") for e in entries):
                raise BuildError(f"{path}: entities()[{name!r}] for {language!r} must be a non-empty list of entries")
            shared[name].entries[language] = [
                {"value": e["value"], "synonyms": list(dict.fromkeys(e["synonyms"]))} for e in entries
            ]
            shared[name].own[language] = {
                s: 2 if k < int(e.get("own", 0)) else 1 for e in entries for k, s in enumerate(e["synonyms"])
            }


def _fold(text: str) -> str:
    return " ".join(
        re.findall(r"[\w']+", unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode())
    )


def _settle_clashes(entities: dict[str, _Entity], languages: tuple[str, ...]) -> None:
    """Words two entities claim in one language (a council's FAQ keyword "garden waste" and the
    library's bin-type synonym) are kept by one: the council's own words before the library's,
    and between equals the entity first in name order; the other drops them (an entry left with
    no synonym is dropped)."""
    for language in languages:
        claims: dict[str, list[tuple[int, str]]] = {}
        for name, entity in sorted(entities.items()):
            if entity.definition.get("isRegexp"):
                continue
            ranks = entity.own.get(language, {})
            for entry in entity.entries[language]:
                for synonym in entry["synonyms"]:
                    claims.setdefault(_fold(synonym), []).append((-ranks.get(synonym, 1), name))
        for folded, claimants in claims.items():
            owners = sorted(set(claimants))
            if len({n for _, n in owners}) < 2:
                continue
            keeper = owners[0][1]
            for _, name in owners:
                if name == keeper:
                    continue
                entity = entities[name]
                kept = []
                for entry in entity.entries[language]:
                    synonyms = [s for s in entry["synonyms"] if _fold(s) != folded]
                    if synonyms:
                        kept.append({**entry, "synonyms": synonyms})
                entity.entries[language] = kept


def _council_phrases(export: AgentExport, entities: dict[str, _Entity], languages: tuple[str, ...]) -> None:
    """Training phrases say only what is true for this council: an annotation of an entity whose
    entries are the council's own, with words those entries lack, gets one of the council's
    synonyms instead (round robin over its values, so every value is learned); in a language where
    Dialogflow may not extract a system entity, its annotations are removed (the words kept)."""
    rotation: dict[str, dict[str, int]] = {language: {} for language in languages}
    for path in sorted(export.files):
        m = re.match(r"^intents/(?P<intent>.+)_usersays_(?P<lang>[a-z]{2}(?:-[a-z]+)?)\.json$", path)
        if not m:
            continue
        language = m["lang"]
        rows = copy.deepcopy(export.files[path])
        for row in rows:
            parts = []
            for part in row.get("data", []):
                meta = str(part.get("meta", ""))
                if meta in UNEXTRACTED_SYSTEM.get(language, ()):
                    part = {"text": part.get("text", ""), "userDefined": False}
                name = meta.lstrip("@")
                entity = entities.get(name)
                if entity is not None and language in entity.own and entity.entries[language]:
                    known = {_fold(s) for e in entity.entries[language] for s in e["synonyms"]}
                    if entity.regenerate or _fold(part.get("text", "")) not in known:
                        pool = _round_robin(entity.entries[language])
                        k = rotation[language].get(name, 0)
                        rotation[language][name] = k + 1
                        part = {**part, "text": pool[k % len(pool)]}
                parts.append(part)
            row["data"] = _joined(parts)
        export.files[path] = rows


def _round_robin(entries: list[dict]) -> list[str]:
    """The synonyms of every value in turn (first synonyms of each value, then the second...),
    leaving out whole questions where a value has shorter words (a keyword fits a phrase)."""
    lists = []
    for e in entries:
        short = [s for s in e["synonyms"] if len(s.split()) <= 4 and not s.rstrip().endswith("?")]
        lists.append(short or e["synonyms"][:1])
    out, depth = [], max(len(x) for x in lists)
    for k in range(depth):
        out += [x[k] for x in lists if k < len(x)]
    return out


def _joined(parts: list[dict]) -> list[dict]:
    """Neighbouring plain-text parts as one (as Dialogflow writes them)."""
    out: list[dict] = []
    for part in parts:
        if out and not part.get("meta") and not out[-1].get("meta"):
            out[-1] = {"text": out[-1].get("text", "") + part.get("text", ""), "userDefined": False}
        else:
            out.append(part)
    return out


def check_annotations(export: AgentExport, council: set[str] | None = None) -> None:
    """Stop the build when a training phrase annotates an entity whose entries are the council's
    own (``council``; default every custom entity) with words none of the agent's entries hold
    (Dialogflow would learn a value the council lacks), or annotates a system entity Dialogflow
    may not extract in that language."""
    synonyms: dict[tuple[str, str], set[str]] = {}
    regexp = set()
    for definition in export.entities():
        name = definition.get("name")
        if definition.get("isRegexp") or (council is not None and name not in council):
            regexp.add(name)
            continue
        for language in export.languages:
            synonyms[(name, language)] = {
                _fold(s) for e in export.entries(name, language) for s in [e.get("value", ""), *e.get("synonyms", [])]
            }
    for path in sorted(export.files):
        m = re.match(r"^intents/(?P<intent>.+)_usersays_(?P<lang>[a-z]{2}(?:-[a-z]+)?)\.json$", path)
        if not m:
            continue
        for row in export.files[path]:
            text = "".join(p.get("text", "") for p in row.get("data", []))
            for part in row.get("data", []):
                meta = str(part.get("meta", ""))
                name = meta.lstrip("@")
                if meta in UNEXTRACTED_SYSTEM.get(m["lang"], ()):
                    raise BuildError(
                        f"{path}: the phrase {text!r} annotates {meta}, which Dialogflow may not extract "
                        f"in {m['lang']!r}; leave the words unannotated"
                    )
                known = synonyms.get((name, m["lang"]))
                if known is not None and _fold(part.get("text", "")) not in known:
                    raise BuildError(
                        f"{path}: the phrase {text!r} annotates {part.get('text', '')!r} as {meta}, "
                        f"a value {export.tenant.id}'s agent does not carry; use one of the entity's "
                        "synonyms (or the council's own words) in the phrase"
                    )


def _merge_entity(entities: dict[str, _Entity], name: str, entity: _Entity) -> None:
    held = entities.get(name)
    if held is None:
        entities[name] = entity
    elif (held.definition, held.entries) != (entity.definition, entity.entries):
        raise BuildError(
            f"entity {name!r} is defined differently by {held.source} and {entity.source}; "
            "processes may share an entity only with identical files: make them the same or rename one"
        )


# -- the agent -------------------------------------------------------------------------------------


def agent_json(tenant: Tenant) -> dict:
    shared = agent_settings()
    default = shared["language"]
    if default not in tenant.languages:
        raise BuildError(f"tenant {tenant.id!r}: its languages must include {default!r}, the agents' default language")
    others = [language for language in tenant.languages if language != default]
    return {
        "description": _fill(shared["description"], tenant),
        "language": default,
        "shortDescription": "",
        "examples": "",
        "linkToDocs": "",
        "displayName": _fill(shared["display_name"], tenant),
        # Dialogflow's own history and logs would keep residents' words: both off (infra/modules/tenant).
        "disableInteractionLogs": not shared["interaction_logging"],
        "disableStackdriverLogs": True,
        "defaultTimezone": shared["time_zone"],
        # Off until `townhall agent deploy` sets the fulfillment (URL and credential, never here): a
        # restore of this ZIP alone answers with the intents' static texts, never an empty URL.
        "webhook": {
            "url": "",
            "username": "",
            "headers": {},
            "available": False,
            "useForDomains": False,
            "cloudFunctionsEnabled": False,
            "cloudFunctionsInitialized": False,
        },
        "isPrivate": True,
        "mlMinConfidence": shared["classification_threshold"],
        "supportedLanguages": others,
        "enableOnePlatformApi": True,
        "onePlatformApiVersion": "v2",
        "analyzeQueryTextSentiment": False,
        "enabledKnowledgeBaseNames": [],
        "knowledgeServiceConfidenceAdjustment": -0.4,
        "dialogBuilderMode": False,
        "baseActionPackagesUrl": "",
        "enableSpellCorrection": False,
    }


def build(tenant: Tenant, library: Library) -> AgentExport:
    """The agent export of ``tenant``: its switched-on processes, in its languages."""
    export = AgentExport(tenant)
    languages = tenant.languages
    export.files["package.json"] = {"version": "1.0.0"}
    export.files["agent.json"] = agent_json(tenant)
    entities: dict[str, _Entity] = {}
    welcome = fallback = False
    for process_id in sorted(tenant.processes):
        process = library.get(process_id)
        if process is None:
            raise BuildError(f"tenant {tenant.id!r} switches on {process_id!r}, which is not in the library")
        for entry in process.manifest.get("intents", []):
            intent = _intent(process, entry, languages)
            _static_answers(intent, tenant)
            name = intent["name"]
            export.files[f"intents/{name}.json"] = intent
            welcome = welcome or any(e.get("name") == "WELCOME" for e in intent.get("events", []))
            # a fallback scoped to a process's own contexts is no default fallback
            fallback = fallback or (bool(intent.get("fallbackIntent")) and not intent.get("contexts"))
            for language in languages:
                rows = _usersays(process, name, language)
                if rows is not None:
                    export.files[f"intents/{name}_usersays_{language}.json"] = rows
            if _catch_all(intent, [export.usersays(name, language) for language in languages]):
                intent["priority"] = LOW_PRIORITY
        shipped = _shipped_entities(process, languages)
        for language in languages:
            for name, entries in _tenant_entries(process, tenant.processes[process_id], language).items():
                if name not in shipped:
                    raise BuildError(
                        f"library/{process.id}/agent.py: entities() returns {name!r}, which "
                        f"library/{process.id}/entities/ does not ship; add {name}.json there"
                    )
                shipped[name].entries[language] = [
                    {"value": e["value"], "synonyms": list(dict.fromkeys(e["synonyms"]))} for e in entries
                ]
                shipped[name].own[language] = {s: 2 for e in entries for s in e["synonyms"]}
                shipped[name].regenerate = True
        for name, entity in shipped.items():
            _merge_entity(entities, name, entity)
    if not welcome or not fallback:
        missing = " and ".join(
            w for w, ok in (("a WELCOME-event intent", welcome), ("a fallback intent", fallback)) if not ok
        )
        raise BuildError(
            f"tenant {tenant.id!r}: its agent would have no {missing}; switch on the library's "
            "welcome and fallback processes (processes: {welcome: {}, fallback: {}})"
        )
    _shared_tenant_entries(library, tenant, entities)
    _settle_clashes(entities, languages)
    _council_phrases(export, entities, languages)
    for name, entity in sorted(entities.items()):
        export.files[f"entities/{name}.json"] = entity.definition
        for language in languages:
            export.files[f"entities/{name}_entries_{language}.json"] = entity.entries[language]
    check_annotations(export, {name for name, entity in entities.items() if entity.own})
    return export


def build_tenant(tenant_id: str, tenants_dir: Path, library: Library) -> AgentExport:
    return build(load_tenant(tenant_id, tenants_dir, library), library)
