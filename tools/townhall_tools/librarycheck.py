"""The process library's own checks: every folder under library/ held to the same shape.

Each check returns a list of problems, every one naming the file and how to fix it, so a broken
process fails with a message that says what to do. ``tests/test_library.py`` runs them on the real
library in ``make test``; ``townhall process check`` runs them by hand; ``townhall process new``
scaffolds a folder that passes them.
"""

from __future__ import annotations

import ast
import json
import re
import string
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from townhall.library import LANGUAGES, SHARED, Library, Process, resolve, schema_files, schema_id
from townhall.yamlio import load_yaml

REQUIRED_FILES = ("manifest.yaml", "schema.json", "example.yaml", "messages/en.yaml", "handler.py", "README.md")
MIN_PHRASES = {"en": 20, "cy": 10}
USERSAYS = re.compile(r"^(?P<intent>.+)_usersays_(?P<lang>[a-z]{2}(?:-[A-Za-z]+)?)$")
ENTRIES = re.compile(r"^(?P<entity>.+)_entries_(?P<lang>[a-z]{2}(?:-[A-Za-z]+)?)$")


def _rel(path: Path, process: Process) -> str:
    """``library/<id>/...``: short enough to read, precise enough to open."""
    return f"{process.folder.parent.name}/{process.id}/{path.relative_to(process.folder).as_posix()}"


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _read_json(path: Path, process: Process, problems: list[str]):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        problems.append(f"{_rel(path, process)}: not readable JSON ({e}); fix the file or export it again")
        return None


def _fallback(entry: dict) -> bool:
    return bool(entry.get("fallback"))


def phrases(process: Process, intent: str, language: str) -> list[str] | None:
    """The training phrases of one intent in one language (None when there is no usersays file)."""
    path = process.folder / "intents" / f"{intent}_usersays_{language}.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(part["text"] for part in row["data"]) for row in data]


# --- the checks ----------------------------------------------------------------------------------


def check_files(process: Process) -> list[str]:
    problems = [
        f"{_rel(process.folder / name, process)}: missing; every process needs it (see docs/processes.md)"
        for name in REQUIRED_FILES
        if not (process.folder / name).is_file()
    ]
    if process.manifest.get("id") != process.folder.name:
        problems.append(
            f"{_rel(process.folder / 'manifest.yaml', process)}: id is {process.manifest.get('id')!r}; "
            f"set it to the folder name {process.folder.name!r}"
        )
    return problems


def refs(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every ``$ref`` in a schema: (its place as a JSON pointer, the reference)."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield where or "/", node["$ref"]
        for key, value in node.items():
            yield from refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from refs(value, f"{where}/{i}")


def check_refs(schema: Any, where: str) -> list[str]:
    """Every ``$ref`` of ``schema`` (in file ``where``) resolves, locally or through the registry."""
    from referencing.exceptions import Unresolvable

    problems = []
    for pointer, ref in refs(schema):
        try:
            resolve(schema, ref)
        except Unresolvable:
            shared = ", ".join(schema_id(path) for path in schema_files())
            problems.append(
                f"{where}: $ref {ref!r} at {pointer} resolves to nothing; refer to a $defs entry of "
                f"this schema (#/$defs/...) or of a shared schema ({shared})"
            )
    return problems


def check_schema(process: Process) -> list[str]:
    schema_file = _rel(process.folder / "schema.json", process)
    example_path = process.folder / "example.yaml"
    try:
        Draft202012Validator.check_schema(process.schema)
    except SchemaError as e:
        path = "/".join(str(p) for p in e.path) or "(root)"
        return [f"{schema_file}: not a valid JSON Schema (Draft 2020-12) at {path}: {e.message}"]
    unresolved = check_refs(process.schema, schema_file)
    if unresolved:
        return unresolved
    if not example_path.is_file():
        return [f"{_rel(example_path, process)}: missing; add example settings that the schema accepts"]
    example = load_yaml(example_path)
    # the example is a Welsh council's when the process speaks Welsh: every bilingual text in both
    validator = process.validator_for(tuple(language for language in LANGUAGES if language in process.messages))
    return [
        f"{_rel(example_path, process)}: {'.'.join(str(p) for p in e.absolute_path) or '(root)'}: "
        f"{e.message}; fix the example or {schema_file}"
        for e in sorted(validator.iter_errors(example), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _placeholders(template: str) -> set[str]:
    names = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field is not None:
            names.add(re.split(r"[.\[!:]", field, maxsplit=1)[0])
    return names


def check_messages(process: Process) -> list[str]:
    english = process.messages["en"]
    problems = []
    for language, messages in process.messages.items():
        if language == "en":
            continue
        path = _rel(process.folder / "messages" / f"{language}.yaml", process)
        for key in sorted(set(english) - set(messages)):
            problems.append(f"{path}: missing key {key!r}; translate messages/en.yaml's {key!r}")
        for key in sorted(set(messages) - set(english)):
            problems.append(f"{path}: key {key!r} is not in messages/en.yaml; remove it or add it there")
        for key in sorted(set(english) & set(messages)):
            try:
                theirs, ours = _placeholders(english[key]), _placeholders(messages[key])
            except ValueError as e:
                problems.append(f"{path}: {key!r} is not a valid template ({e}); balance its braces")
                continue
            if theirs != ours:
                fix = "; ".join(
                    [
                        *(f"lacks {{{n}}}" for n in sorted(theirs - ours)),
                        *(f"{{{n}}} is not one of them" for n in sorted(ours - theirs)),
                    ]
                )
                problems.append(
                    f"{path}: {key!r} has placeholders {_shown(ours)}, messages/en.yaml's {key!r} has "
                    f"{_shown(theirs)} ({fix}); use the same names in every language"
                )
    return problems


def _shown(names: set[str]) -> str:
    return " ".join(f"{{{n}}}" for n in sorted(names)) or "none"


def check_intents(process: Process) -> list[str]:
    problems = []
    manifest = _rel(process.folder / "manifest.yaml", process)
    folder = process.folder / "intents"
    for entry in process.manifest.get("intents", []):
        name = str(entry.get("name", ""))
        if not name.startswith(process.id + "."):
            problems.append(f"{manifest}: intent {name!r} must start with {process.id + '.'!r}; rename it")
            continue
        path = folder / f"{name}.json"
        if not path.is_file():
            problems.append(f"{_rel(path, process)}: missing; add the Dialogflow ES intent for {name!r}")
            continue
        intent = _read_json(path, process, problems)
        if intent is None:
            continue
        where = _rel(path, process)
        if intent.get("name") != name:
            problems.append(f'{where}: "name" is {intent.get("name")!r}; set it to the display name {name!r}')
        if intent.get("webhookUsed") is not True:
            problems.append(f'{where}: set "webhookUsed": true, so the webhook answers {name!r}')
        if bool(intent.get("fallbackIntent")) != _fallback(entry):
            problems.append(f'{where}: "fallbackIntent" must be {str(_fallback(entry)).lower()}, as {manifest} says')
        events = sorted(e.get("name") for e in intent.get("events", []))
        if events != sorted(entry.get("events", [])):
            problems.append(f"{where}: events {events} differ from {manifest}'s {sorted(entry.get('events', []))}")
        declared = {p["name"]: p.get("dataType") for r in intent.get("responses", []) for p in r.get("parameters", [])}
        for parameter, data_type in (entry.get("parameters") or {}).items():
            if declared.get(parameter) != data_type:
                problems.append(
                    f'{where}: add parameter {parameter!r} with "dataType": {data_type!r}, as {manifest} says'
                )
        if _fallback(entry):
            continue
        for language in process.messages:
            problems += _check_usersays(process, name, language, declared)
    return problems


def _check_usersays(process: Process, name: str, language: str, declared: dict) -> list[str]:
    path = process.folder / "intents" / f"{name}_usersays_{language}.json"
    where = _rel(path, process)
    if not path.is_file():
        return [f"{where}: missing; the process has {language} messages, so add {language} training phrases"]
    problems: list[str] = []
    rows = _read_json(path, process, problems)
    if rows is None:
        return problems
    minimum = MIN_PHRASES.get(language, MIN_PHRASES["cy"])
    if len(rows) < minimum:
        problems.append(f"{where}: {len(rows)} phrases; add varied phrases up to at least {minimum}")
    seen: dict[str, str] = {}
    for row in rows:
        text = "".join(part.get("text", "") for part in row.get("data", []))
        if row.get("lang", language) != language:
            problems.append(f'{where}: {text!r} has "lang" {row.get("lang")!r}; set it to {language!r}')
        if _normal(text) in seen:
            problems.append(f"{where}: {text!r} repeats {seen[_normal(text)]!r}; remove one")
        seen[_normal(text)] = text
        for part in row.get("data", []):
            alias = part.get("alias")
            if alias and part.get("meta") != declared.get(alias):
                problems.append(
                    f"{where}: {text!r} annotates {alias!r} as {part.get('meta')!r}; "
                    f"declare that parameter in {name}.json or fix the annotation"
                )
    return problems


def check_stray_intents(process: Process) -> list[str]:
    listed = set(process.intents)
    problems = []
    for path in sorted((process.folder / "intents").glob("*.json")):
        stem = path.stem
        usersays = USERSAYS.match(stem)
        owner = usersays.group("intent") if usersays else stem
        if owner not in listed:
            problems.append(
                f"{_rel(path, process)}: {owner!r} is not an intent of "
                f"{_rel(process.folder / 'manifest.yaml', process)}; list it there or delete the file"
            )
    return problems


def _shared_entities_dir(library_dir: Path) -> Path:
    return library_dir / SHARED / "entities"


def _entity_names(folder: Path) -> set[str]:
    """The entities defined in a folder of agent-export entity files."""
    return {p.stem for p in folder.glob("*.json") if not ENTRIES.match(p.stem)} if folder.is_dir() else set()


def _used_entities(process: Process) -> dict[str, str]:
    """Custom entity -> the first intent whose parameters use it."""
    used: dict[str, str] = {}
    for name in process.intents:
        path = process.folder / "intents" / f"{name}.json"
        if not path.is_file():
            continue  # check_intents reports it
        intent = json.loads(path.read_text(encoding="utf-8"))
        for response in intent.get("responses", []):
            for parameter in response.get("parameters", []):
                data_type = parameter.get("dataType", "")
                if data_type.startswith("@") and not data_type.startswith("@sys."):
                    used.setdefault(data_type[1:], name)
    return used


def check_entities(process: Process) -> list[str]:
    """Every custom entity an intent's parameters use is the process's own (``entities/``) or a
    shared one its manifest names (``entities:``, kept in ``library/_shared/entities/``), and has
    entries in every language of the process."""
    manifest = _rel(process.folder / "manifest.yaml", process)
    own, shared = process.folder / "entities", _shared_entities_dir(process.folder.parent)
    shared_rel = f"{process.folder.parent.name}/{SHARED}/entities"
    named = process.manifest.get("entities") or []
    problems = []
    if not isinstance(named, list) or not all(isinstance(n, str) for n in named):
        problems.append(f"{manifest}: entities: must be a list of shared entity names, e.g. entities: [uk-postcode]")
        named = []
    for name in named:
        if not (shared / f"{name}.json").is_file():
            available = ", ".join(sorted(_entity_names(shared))) or "none"
            problems.append(
                f"{manifest}: entities: names {name!r}, but there is no {shared_rel}/{name}.json; "
                f"fix the name (shared entities: {available}) or add the entity there"
            )
        if (own / f"{name}.json").is_file():
            problems.append(
                f"{_rel(own / f'{name}.json', process)}: {name!r} is also the shared entity "
                f"{manifest} names; delete this copy or drop {name!r} from entities:"
            )
    used = _used_entities(process)
    for entity, intent in sorted(used.items()):
        if entity in named:
            folder, where = shared, shared_rel
        elif (own / f"{entity}.json").is_file():
            folder, where = own, _rel(own, process)
        elif (shared / f"{entity}.json").is_file():
            problems.append(
                f"{manifest}: {intent} uses @{entity}, a shared entity ({shared_rel}/{entity}.json); "
                f"name it there: entities: [{', '.join([*named, entity])}]"
            )
            continue
        else:
            problems.append(
                f"{_rel(own / f'{entity}.json', process)}: missing; {intent} uses @{entity}, so the "
                f"process must ship it there, or name a shared entity in {manifest}'s entities:"
            )
            continue
        for language in process.messages:
            if not (folder / f"{entity}_entries_{language}.json").is_file():
                problems.append(
                    f"{where}/{entity}_entries_{language}.json: missing; {intent} uses @{entity} "
                    f"and the process speaks {language}"
                )
    for name in named:
        if name not in used:
            problems.append(f"{manifest}: entities: names {name!r}, which none of its intents uses; remove it")
    return problems


UPSTREAMS = "townhall.upstreams"


def shared_clients() -> list[str]:
    """The shared upstream clients: the packages of ``functions/townhall/upstreams/``."""
    import townhall.upstreams

    return sorted(p.parent.name for p in Path(townhall.upstreams.__file__).parent.glob("*/__init__.py"))


def _imported_clients(path: Path) -> set[str]:
    """The shared clients a module imports: ``townhall.upstreams.<api>`` in any import form."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names if a.name.startswith(UPSTREAMS + ".")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == UPSTREAMS:
                found |= {a.name for a in node.names}
            elif node.module.startswith(UPSTREAMS + "."):
                found.add(node.module.split(".")[2])
    return found


def check_uses(process: Process) -> list[str]:
    """The manifest's ``uses:`` names exactly the shared clients the process's code imports."""
    manifest = _rel(process.folder / "manifest.yaml", process)
    uses = process.manifest.get("uses") or []
    if not isinstance(uses, list) or not all(isinstance(u, str) for u in uses):
        return [f"{manifest}: uses: must be a list of shared clients, e.g. uses: [open311, notify]"]
    clients = shared_clients()
    problems = [
        f"{manifest}: uses: names {u!r}, which is not a shared client (functions/townhall/upstreams/: "
        f"{', '.join(clients)}); remove it"
        for u in uses
        if u not in clients
    ]
    imported: dict[str, str] = {}  # client -> the first file importing it
    for path in sorted(process.folder.rglob("*.py")):
        parts = path.relative_to(process.folder).parts
        if parts[0] == "tests" or "__pycache__" in parts:
            continue
        try:
            found = _imported_clients(path)
        except SyntaxError as e:
            problems.append(f"{_rel(path, process)}: not valid Python ({e.msg}, line {e.lineno}); fix it")
            continue
        for client in sorted(found):
            imported.setdefault(client, _rel(path, process))
    wanted = ", ".join(sorted(imported))
    for client, where in sorted(imported.items()):
        if client not in uses:
            problems.append(
                f"{where}: imports {UPSTREAMS}.{client}, which {manifest} does not name; add it: uses: [{wanted}]"
            )
    for client in uses:
        if client in clients and client not in imported:
            problems.append(
                f"{manifest}: uses: names {client!r}, but no Python file of the process imports "
                f"{UPSTREAMS}.{client}; remove it: uses: [{wanted}]"
            )
    return problems


def check_menu(process: Process) -> list[str]:
    menu = process.manifest.get("menu") or {}
    problems = []
    for language, label in sorted(menu.items()):
        trained = {_normal(text) for intent in process.intents for text in (phrases(process, intent, language) or [])}
        if _normal(label) not in trained:
            problems.append(
                f"{_rel(process.folder / 'manifest.yaml', process)}: the {language} menu label {label!r} is not a "
                f"training phrase of any {process.id} intent; add it to the intent it should lead to "
                f"(intents/<intent>_usersays_{language}.json)"
            )
    return problems


def check_handler(process: Process) -> list[str]:
    try:
        handle = process.handler
    except Exception as e:  # noqa: BLE001 - any import error is the process's problem to report
        return [f"{_rel(process.folder / 'handler.py', process)}: does not import ({type(e).__name__}: {e}); fix it"]
    if not callable(handle):
        return [f"{_rel(process.folder / 'handler.py', process)}: define handle(turn, settings) -> Reply"]
    return []


def check_claims(library: Library) -> list[str]:
    claims = defaultdict(list)
    for process in library.processes.values():
        for name in process.intents:
            claims[name].append(process.id)
    return [
        f"intent {name!r} is claimed by {', '.join(f'library/{p}/manifest.yaml' for p in owners)}; "
        "keep it in one process"
        for name, owners in sorted(claims.items())
        if len(owners) > 1
    ]


def check_phrase_overlap(library: Library) -> list[str]:
    """One phrase training two intents makes Dialogflow guess between them."""
    trained: dict[tuple[str, str], list[str]] = defaultdict(list)
    for process in library.processes.values():
        for name in process.intents:
            for language in LANGUAGES:
                for text in phrases(process, name, language) or []:
                    trained[(language, _normal(text))].append(name)
    return [
        f"{language} phrase {text!r} trains {', '.join(sorted(set(names)))}; keep it in the one it should reach"
        for (language, text), names in sorted(trained.items())
        if len(set(names)) > 1
    ]


def check_entity_owners(library: Library) -> list[str]:
    """An entity is a process's own (in one process only) or shared (kept once, named by each user):
    two copies of one entity would reach the same agent and drift apart."""
    root = next(iter(library.processes.values())).folder.parent if library.processes else None
    if root is None:
        return []
    shared = _entity_names(_shared_entities_dir(root))
    owners: dict[str, list[str]] = defaultdict(list)
    for process in sorted(library.processes.values(), key=lambda p: p.id):
        for name in sorted(_entity_names(process.folder / "entities")):
            owners[name].append(process.id)
    problems = []
    for name, ids in sorted(owners.items()):
        if len(ids) > 1 or name in shared:
            places = [f"{root.name}/{i}/entities/{name}.json" for i in ids]
            places += [f"{root.name}/{SHARED}/entities/{name}.json"] if name in shared else []
            problems.append(
                f"entity {name!r} is defined in {', '.join(places)}; keep one copy in "
                f"{root.name}/{SHARED}/entities/ and name it in each manifest's entities:"
            )
    named = {
        n
        for p in library.processes.values()
        if isinstance(p.manifest.get("entities"), list)
        for n in p.manifest["entities"]
    }
    for name in sorted(shared - named):
        problems.append(
            f"{root.name}/{SHARED}/entities/{name}.json: no process names it in its manifest's "
            "entities:; remove it or name it where it is used"
        )
    return problems


def check_conversations(process: Process) -> list[str]:
    """Every scripted conversation follows the format (townhall_tools.conversations)."""
    from townhall.library import LibraryError

    from .conversations import load

    problems = []
    for path in sorted((process.folder / "conversations").glob("*.yaml")):
        try:
            load(path, process.id)
        except LibraryError as e:
            problems.append(str(e))
    return problems


PROCESS_CHECKS = {
    "files": check_files,
    "schema": check_schema,
    "messages": check_messages,
    "intents": check_intents,
    "stray_intents": check_stray_intents,
    "entities": check_entities,
    "uses": check_uses,
    "menu": check_menu,
    "handler": check_handler,
    "conversations": check_conversations,
}


LIBRARY_CHECKS = (check_claims, check_phrase_overlap, check_entity_owners)


def check_process(process: Process) -> list[str]:
    return [p for check in PROCESS_CHECKS.values() for p in check(process)]


def check_library(library: Library) -> list[str]:
    """Every problem in the library: each process's, then those between processes."""
    problems = []
    for process_id in sorted(library.processes):
        problems += check_process(library.processes[process_id])
    for check in LIBRARY_CHECKS:
        problems += check(library)
    return problems
