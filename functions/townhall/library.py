"""The process registry, built from data on disk: one folder under ``library/`` per process.

A folder is a process when it holds ``manifest.yaml``; its name is the process id. Nothing central
lists the processes, so adding one is copying a folder. The registry reads each manifest, settings
schema and message file once, and imports a handler the first time a turn needs it.

Settings schemas share definitions through one schema registry (``schema_registry``): every
``*.schema.json`` of the runtime package (``schemas/``, ``upstreams/<api>/``) is a resource whose
``$id`` is ``https://townhall.example/`` plus its path in the package, and a process schema refers
to it with ``{"$ref": "<$id>#/$defs/..."}``. Nothing is ever fetched. ``compile_schema`` adds
Townhall's one keyword, ``bilingual``: the texts of the shared ``text`` definition
(``schemas/text.schema.json``) must be given in every language the council offers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from .contract import Handler, Settings, Texts
from .yamlio import load_yaml

PACKAGE = "townhall_processes"
LANGUAGES = ("en", "cy")
# library/_shared/: what several processes use, kept once (Dialogflow entities in entities/; a
# process names those it uses in its manifest's ``entities:``). Not a process: it has no manifest.
SHARED = "_shared"


class LibraryError(Exception):
    """A process folder is broken; the message names the file and what to fix."""


def default_library_dir() -> Path:
    """``TOWNHALL_LIBRARY_DIR``, else ``library/`` beside the function source or the repo root."""
    configured = os.environ.get("TOWNHALL_LIBRARY_DIR")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "library", here.parent.parent / "library"):
        if candidate.is_dir():
            return candidate
    raise LibraryError(f"no library folder beside {here.parent} or {here.parent.parent}; set TOWNHALL_LIBRARY_DIR")


@dataclass
class Process:
    id: str
    folder: Path
    manifest: Mapping[str, Any]
    schema: Mapping[str, Any]
    messages: Mapping[str, Mapping[str, str]]  # language -> key -> template
    _module: Any = field(default=None, repr=False)
    _validators: dict = field(default_factory=dict, repr=False)  # languages -> validator
    _texts: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def intents(self) -> list[str]:
        return [i["name"] for i in self.manifest.get("intents", [])]

    def label(self, language: str) -> str:
        menu = self.manifest.get("menu") or {}
        return menu.get(language) or menu.get("en") or self.manifest["title"]["en"]

    @cached_property
    def upstream(self) -> bool:
        """True when the handler calls upstream services: it then runs under the turn's deadline."""
        return bool(self.manifest.get("upstream", False))

    @property
    def validator(self) -> Any:
        """The compiled JSON Schema validator of this process's settings, for an English-only council."""
        return self.validator_for(("en",))

    def validator_for(self, languages: tuple[str, ...]) -> Any:
        """The compiled validator for a council offering ``languages``: its bilingual texts must
        give each of them. One per languages tuple (a handful: the languages are an enumeration)."""
        languages = tuple(languages)
        found = self._validators.get(languages)
        if found is None:
            found = self._validators[languages] = compile_schema(self.schema, languages)
        return found

    def texts(self, language: str) -> Texts:
        texts = self._texts.get(language)
        if texts is None:
            english = self.messages.get("en", {})
            texts = self._texts[language] = Texts(language, self.messages.get(language, english), english)
        return texts

    @property
    def module(self) -> Any:
        """``handler.py``, imported on first use."""
        if self._module is None:
            with self._lock:
                if self._module is None:
                    self._module = _import(self, "handler", "handle")
        return self._module

    @cached_property
    def handler(self) -> Handler:
        """``handle(turn, settings) -> Reply``."""
        return self.module.handle

    @property
    def prepare(self) -> Callable[[Settings], Any] | None:
        """The optional ``prepare(settings)``: settings-only work, done once per settings load."""
        return getattr(self.module, "prepare", None)

    def check(self, settings: Mapping[str, Any], languages: list[str]) -> list[tuple[str, str]]:
        """Problems the schema cannot express, from the optional ``checks.py``: (path, reason)."""
        if not (self.folder / "checks.py").exists():
            return []
        return list(_import(self, "checks", "check").check(settings, languages))


SCHEMA_BASE = "https://townhall.example/"  # + a shared schema's path in this package = its $id
SCHEMA_FILES = ("schemas/*.schema.json", "upstreams/*/*.schema.json")
LANGUAGE_NAMES = {"en": "English", "cy": "Welsh"}


def schema_id(path: Path) -> str:
    """The ``$id`` a shared schema file must have: where it is in the runtime package."""
    return SCHEMA_BASE + path.resolve().relative_to(Path(__file__).resolve().parent).as_posix()


def schema_files() -> list[Path]:
    """Every shared schema of the runtime package, each a resource of the registry."""
    here = Path(__file__).resolve().parent
    return sorted(path for pattern in SCHEMA_FILES for path in here.glob(pattern))


@lru_cache(maxsize=1)
def schema_registry() -> Any:
    """A ``referencing.Registry`` of every shared schema, by ``$id``; built once, never fetching."""
    from referencing import Registry, Resource  # only when settings are validated

    resources = []
    for path in schema_files():
        contents = _read_json(path)
        expected = schema_id(path)
        if not isinstance(contents, dict) or contents.get("$id") != expected:
            raise LibraryError(
                f'{path}: set "$id": "{expected}" (a shared schema\'s $id is its place in '
                "the runtime package), so process schemas can $ref it"
            )
        resources.append((expected, Resource.from_contents(contents)))
    return Registry().with_resources(resources).crawl()


def resolve(schema: Mapping[str, Any], ref: str) -> Any:
    """What ``ref`` (as written in ``schema``: local ``#/$defs/...`` or a shared ``$id#...``) points to."""
    from referencing import Resource
    from referencing.jsonschema import DRAFT202012

    own = Resource.from_contents(schema, default_specification=DRAFT202012)
    base = own.id() or ""
    return schema_registry().with_resource(base, own).resolver(base).lookup(ref).contents


def _missing_language(language: str, languages: tuple[str, ...]) -> str:
    """What to do; tenants.validate adds the expected form and an example from the schema's
    ``description`` and ``examples`` (the shared text definition has both)."""
    offered = " and ".join([", ".join(languages[:-1]), languages[-1]]) if len(languages) > 1 else languages[0]
    return f"give the {LANGUAGE_NAMES.get(language, language)} too ({language}), as this council offers {offered}"


@lru_cache(maxsize=8)  # one per languages tuple the tenant schema allows: a handful
def _validator_class(languages: tuple[str, ...]) -> Any:
    """Draft 2020-12 with ``bilingual``: an object of texts by language gives every language in
    ``languages`` (those its own ``required`` names are left to ``required``'s message)."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def bilingual(validator, value, instance, schema):
        if not value or not validator.is_type(instance, "object"):
            return
        required = schema.get("required") or ()
        for language in languages:
            if language not in instance and language not in required:
                yield ValidationError(_missing_language(language, languages))

    return validators.extend(Draft202012Validator, {"bilingual": bilingual})


def compile_schema(schema: Mapping[str, Any], languages: tuple[str, ...] = ("en",)) -> Any:
    """A Draft 2020-12 validator (formats such as ``date`` checked) resolving ``$ref`` through the
    schema registry, for a council offering ``languages``; raises on a broken schema."""
    cls = _validator_class(tuple(languages))
    cls.check_schema(schema)
    return cls(schema, registry=schema_registry(), format_checker=cls.FORMAT_CHECKER)


def _package(process: Process) -> str:
    """Make ``townhall_processes.<id>`` a package over the process folder (for relative imports)."""
    if PACKAGE not in sys.modules:
        root = types.ModuleType(PACKAGE)
        root.__path__ = []  # a namespace for the processes' own modules
        sys.modules[PACKAGE] = root
    name = f"{PACKAGE}.{process.id}"
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(process.folder)]
        package.__package__ = name
        sys.modules[name] = package
    return name


def _import(process: Process, module: str, function: str) -> Any:
    """Import ``<process folder>/<module>.py``, which must define ``function``."""
    path = process.folder / f"{module}.py"
    loaded = importlib.import_module(f"{_package(process)}.{module}")
    if not callable(getattr(loaded, function, None)):
        raise LibraryError(f"{path}: define a function {function}(...) (see docs/processes.md)")
    return loaded


def _read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise LibraryError(f"{path}: {e}") from e


def load_process(folder: Path) -> Process:
    manifest_path = folder / "manifest.yaml"
    manifest = load_yaml(manifest_path)
    if not isinstance(manifest, dict):
        raise LibraryError(f"{manifest_path}: must be a mapping with id, version, title, owner, intents")
    if manifest.get("id") != folder.name:
        raise LibraryError(f"{manifest_path}: id must be the folder name {folder.name!r}")
    for key in ("version", "title", "owner", "intents"):
        if key not in manifest:
            raise LibraryError(f"{manifest_path}: missing {key!r}")
    for intent in manifest["intents"]:
        if not isinstance(intent, dict) or not str(intent.get("name", "")).startswith(folder.name + "."):
            raise LibraryError(f"{manifest_path}: every intent needs a name starting {folder.name + '.'!r}")
    messages = {}
    for language in LANGUAGES:
        path = folder / "messages" / f"{language}.yaml"
        if path.exists():
            data = load_yaml(path)
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise LibraryError(f"{path}: must map message keys to strings")
            messages[language] = data
    if "en" not in messages:
        raise LibraryError(f"{folder}/messages/en.yaml: every process needs its English replies")
    return Process(folder.name, folder, manifest, _read_json(folder / "schema.json"), messages)


class Library:
    def __init__(self, processes: Mapping[str, Process]):
        self.processes = dict(processes)
        self._by_intent = {name: p for p in self.processes.values() for name in p.intents}

    @classmethod
    def load(cls, root: Path | None = None) -> Library:
        root = Path(root) if root else default_library_dir()
        folders = sorted(p.parent for p in root.glob("*/manifest.yaml"))
        return cls({folder.name: load_process(folder) for folder in folders})

    def get(self, process_id: str) -> Process | None:
        return self.processes.get(process_id)

    def for_intent(self, display_name: str) -> Process | None:
        """The process whose manifest declares this intent (always under its own prefix)."""
        return self._by_intent.get(display_name)


_default: Library | None = None
_default_lock = threading.Lock()


def default_library() -> Library:
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Library.load()
    return _default
