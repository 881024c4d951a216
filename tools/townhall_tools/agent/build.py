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

No secret goes in: the fulfillment (URL and credential) is set by ``deploy``, never by the ZIP.
The bytes are deterministic: files in name order, fixed timestamps and permissions.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from townhall.library import SHARED, Library, LibraryError, Process, _import
from townhall.tenants import Tenant, compile_tenant, validate
from townhall.yamlio import YamlError, load_yaml

TIMEZONE = "Europe/London"
ML_MIN_CONFIDENCE = 0.3
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP entry can carry: same bytes every build
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
    default, *others = tenant.languages
    return {
        "description": f"{tenant.name}: built by Townhall from the shared process library",
        "language": default,
        "shortDescription": "",
        "examples": "",
        "linkToDocs": "",
        "displayName": tenant.name,
        # Dialogflow's own history and logs would keep residents' words: both off (infra/modules/tenant).
        "disableInteractionLogs": True,
        "disableStackdriverLogs": True,
        "defaultTimezone": TIMEZONE,
        "webhook": {  # the URL and credential are set by `townhall agent deploy`, never here
            "url": "",
            "username": "",
            "headers": {},
            "available": True,
            "useForDomains": False,
            "cloudFunctionsEnabled": False,
            "cloudFunctionsInitialized": False,
        },
        "isPrivate": True,
        "mlMinConfidence": ML_MIN_CONFIDENCE,
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
            name = intent["name"]
            export.files[f"intents/{name}.json"] = intent
            welcome = welcome or any(e.get("name") == "WELCOME" for e in intent.get("events", []))
            # a fallback scoped to a process's own contexts is no default fallback
            fallback = fallback or (bool(intent.get("fallbackIntent")) and not intent.get("contexts"))
            for language in languages:
                rows = _usersays(process, name, language)
                if rows is not None:
                    export.files[f"intents/{name}_usersays_{language}.json"] = rows
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
    for name, entity in sorted(entities.items()):
        export.files[f"entities/{name}.json"] = entity.definition
        for language in languages:
            export.files[f"entities/{name}_entries_{language}.json"] = entity.entries[language]
    return export


def build_tenant(tenant_id: str, tenants_dir: Path, library: Library) -> AgentExport:
    return build(load_tenant(tenant_id, tenants_dir, library), library)
