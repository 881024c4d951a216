"""Tenant settings: validation against the core schema plus each enabled process's schema, and
the compiled ``Tenant`` the webhook serves from.

Validation is the same wherever settings enter: ``townhall tenants validate``, ``townhall settings
push`` and every load by the webhook. Problems are ``key.path: reason`` pairs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from .contract import Contact, Council, Service, Settings
from .library import Library, Process, compile_schema

SCHEMA_PATH = Path(__file__).with_name("schemas") / "tenant.schema.json"


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.reason}"


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@lru_cache(maxsize=1)
def core_validator():
    return compile_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _problems(validator, data: Any, prefix: list) -> list[Problem]:
    return [
        Problem(_path(prefix + list(e.absolute_path)), e.message)
        for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]


def validate(doc: Any, library: Library, expected_id: str | None = None) -> list[Problem]:
    """Every problem with a tenant document, core and processes; empty when it is valid."""
    problems = _problems(core_validator(), doc, [])
    if not isinstance(doc, dict):
        return problems
    if expected_id is not None and doc.get("id") != expected_id:
        problems.append(Problem("id", f"must be {expected_id!r}, the file name / document id"))
    processes = doc.get("processes")
    if isinstance(processes, dict):
        for pid, settings in sorted(processes.items()):
            process = library.get(pid)
            if process is None:
                known = ", ".join(sorted(library.processes)) or "none"
                problems.append(Problem(f"processes.{pid}", f"no such process in the library (it has: {known})"))
                continue
            if settings is None or isinstance(settings, dict):
                own = {k: v for k, v in (settings or {}).items() if k != "enabled"}
                found = _problems(process.validator, own, ["processes", pid])
                if not found:
                    languages = doc.get("languages") if isinstance(doc.get("languages"), list) else ["en"]
                    found = [Problem(f"processes.{pid}.{path}", reason) for path, reason in process.check(own, languages)]
                problems += found
    return problems


@dataclass(frozen=True)
class Tenant:
    """A validated tenant, ready to serve turns."""

    id: str
    name: str
    project: str
    password_sha256: str
    languages: tuple[str, ...]
    contact: Contact
    processes: Mapping[str, Mapping[str, Any]]  # enabled processes only, without 'enabled'
    names: Mapping[str, str] = field(default_factory=dict)  # council name per language
    gss_code: str = ""
    _councils: dict = field(default_factory=dict, repr=False, compare=False)
    _settings: dict = field(default_factory=dict, repr=False, compare=False)
    _languages: dict = field(default_factory=dict, repr=False, compare=False)

    def language_for(self, language_code: str) -> str:
        """The reply language: the request's when the council offers it, English otherwise."""
        found = self._languages.get(language_code)
        if found is None:
            base = language_code.split("-", 1)[0].lower()
            found = base if base in self.languages else "en"
            if len(self._languages) < 64:  # the codes Dialogflow sends: a handful
                self._languages[language_code] = found
        return found

    def council(self, library: Library, language: str) -> Council:
        council = self._councils.get(language)
        if council is None:
            services = tuple(
                Service(pid, library.processes[pid].label(language))
                for pid in self.processes
                if pid in library.processes and library.processes[pid].manifest.get("menu")
            )
            council = Council(
                id=self.id,
                name=self.names.get(language, self.name),
                contact=self.contact,
                languages=self.languages,
                services=services,
                gss_code=self.gss_code,
            )
            self._councils[language] = council
        return council


    def settings(self, library: Library, process: Process, language: str) -> Settings:
        """A handler's Settings, with the process's ``prepare`` applied once per language."""
        key = (process.id, language)
        found = self._settings.get(key)
        if found is None:
            found = Settings(self.council(library, language), self.processes[process.id], process.texts(language))
            if process.prepare is not None:
                found = replace(found, prepared=process.prepare(found))
            self._settings[key] = found
        return found


def compile_tenant(doc: Mapping[str, Any]) -> Tenant:
    """Build a Tenant from a document that ``validate`` passed."""
    processes = {
        pid: {k: v for k, v in (settings or {}).items() if k != "enabled"}
        for pid, settings in doc["processes"].items()
        if (settings or {}).get("enabled", True)
    }
    names = {"en": doc["name"]}
    if doc.get("name_cy"):
        names["cy"] = doc["name_cy"]
    return Tenant(
        id=doc["id"],
        name=doc["name"],
        project=doc["dialogflow"]["project"],
        password_sha256=doc["webhook"]["password_sha256"],
        languages=tuple(doc["languages"]),
        contact=Contact(**doc["contact"]),
        processes=processes,
        names=names,
        gss_code=doc["gss_code"],
    )
