"""The process registry, built from data on disk: one folder under ``library/`` per process.

A folder is a process when it holds ``manifest.yaml``; its name is the process id. Nothing central
lists the processes, so adding one is copying a folder. The registry reads each manifest, settings
schema and message file once, and imports a handler the first time a turn needs it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import types
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Mapping

from .contract import Handler, Settings, Texts
from .yamlio import load_yaml

PACKAGE = "townhall_processes"
LANGUAGES = ("en", "cy")


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
    raise LibraryError(
        f"no library folder beside {here.parent} or {here.parent.parent}; set TOWNHALL_LIBRARY_DIR"
    )


@dataclass
class Process:
    id: str
    folder: Path
    manifest: Mapping[str, Any]
    schema: Mapping[str, Any]
    messages: Mapping[str, Mapping[str, str]]  # language -> key -> template
    _module: Any = field(default=None, repr=False)
    _validator: Any = field(default=None, repr=False)
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
        """The compiled JSON Schema validator of this process's settings."""
        if self._validator is None:
            self._validator = compile_schema(self.schema)
        return self._validator

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


def compile_schema(schema: Mapping[str, Any]) -> Any:
    """A Draft 2020-12 validator (formats such as ``date`` checked); raises on a broken schema."""
    from jsonschema import Draft202012Validator  # only when settings are validated

    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


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
    def load(cls, root: Path | None = None) -> "Library":
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
