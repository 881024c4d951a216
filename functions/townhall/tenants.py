"""Tenant settings: validation against the core schema plus each enabled process's schema, and
the compiled ``Tenant`` the webhook serves from.

Validation is the same wherever settings enter: ``townhall tenants validate``, ``townhall settings
push`` and every load by the webhook. Problems are ``key.path: reason`` pairs.
"""

from __future__ import annotations

import itertools
import json
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from . import replycache
from .contract import Contact, Council, Handler, Service, Settings
from .library import LANGUAGES, Library, Process, compile_schema

SCHEMA_PATH = Path(__file__).with_name("schemas") / "tenant.schema.json"


@dataclass(frozen=True)
class Problem:
    """One problem: where (``key.path``) and why. A schema problem's reason also says the expected
    form and an example, from the schema's ``description`` and ``examples`` annotations."""

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
    """Every schema problem of ``data``: what was wrong, the expected form and an example."""
    found: list[Problem] = []
    reported: set[str] = set()
    for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = prefix + list(e.absolute_path)
        schema = e.schema if isinstance(e.schema, Mapping) else {}
        if e.validator == "required" and isinstance(e.instance, Mapping):  # one error per missing key
            missing = next(
                (k for k in e.validator_value if k not in e.instance and _path(path + [k]) not in reported), None
            )
            if missing is not None:
                reported.add(_path(path + [missing]))
                own = _resolved(validator, (schema.get("properties") or {}).get(missing, {}))
                found.append(Problem(_path(path + [missing]), "missing" + _expected(own)))
                continue
        found.append(Problem(_path(path), _what(e, schema) + _expected(_annotated(validator, e, schema))))
    return sorted(found, key=lambda p: p.path)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _what(e, schema: Mapping[str, Any]) -> str:
    """What was wrong, in words rather than the schema's regular expressions."""
    kind, value, instance = e.validator, e.validator_value, e.instance
    if kind == "pattern":
        return f"{_show(instance)} does not match the expected form"
    if kind == "format":
        return f"{_show(instance)} is not a valid {value}"
    if kind == "enum":
        return f"{_show(instance)} is not one of: {', '.join(_show(v) for v in value)}"
    if kind == "const":
        return f"must be {_show(value)}"
    if kind == "contains" and isinstance(value, Mapping) and "const" in value:
        return f"{_show(instance)} must include {_show(value['const'])}"
    if kind in ("anyOf", "oneOf") and all(isinstance(s, Mapping) and set(s) == {"required"} for s in value):
        keys = [k for s in value for k in s["required"]]
        return f"give at least one of: {', '.join(keys)}"
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        allowed = sorted(schema.get("properties") or {})
        extra = sorted(str(k) for k in instance if k not in allowed)
        return f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(extra)}" + (
            f" (allowed here: {', '.join(allowed)})" if allowed else ""
        )
    return e.message


def _expected(schema: Mapping[str, Any]) -> str:
    """`; expected: <description> (e.g. <example>)` from a schema's annotations, or nothing."""
    description = str(schema.get("description") or "").strip().rstrip(".")
    examples = schema.get("examples") if isinstance(schema.get("examples"), list) else []
    text = f"; expected: {description}" if description else ""
    if examples:
        text += f"{' (' if text else '; '}e.g. {' or '.join(_show(x) for x in examples[:2])}{')' if text else ''}"
    return text


def _resolved(validator, schema: Any) -> Mapping[str, Any]:
    """A subschema with its ``$ref`` followed (annotations beside the ``$ref`` win)."""
    if not isinstance(schema, Mapping):
        return {}
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    target: Any = None
    if ref.startswith("#/"):
        target = validator.schema
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, Mapping) else None
    else:
        try:
            target = validator._resolver.lookup(ref).contents
        except Exception:  # an unresolvable reference: the schema's own annotations only
            target = None
    return {**(target if isinstance(target, Mapping) else {}), **schema}


def _annotated(validator, e, schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The nearest schema on the error's path that has a description or examples."""
    if schema.get("description") or schema.get("examples"):
        return schema
    node: Any = validator.schema
    best: Mapping[str, Any] = {}
    for part in list(e.absolute_schema_path)[:-1]:
        node = _resolved(validator, node)
        if isinstance(node, Mapping) and (node.get("description") or node.get("examples")):
            best = node
        node = (
            node.get(part)
            if isinstance(node, Mapping)
            else (node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
        )
        if node is None:
            break
    node = _resolved(validator, node)
    if isinstance(node, Mapping) and (node.get("description") or node.get("examples")):
        best = node
    return best


def validate(doc: Any, library: Library, expected_id: str | None = None) -> list[Problem]:
    """Every problem with a tenant document, core and processes; empty when it is valid."""
    problems = _problems(core_validator(), doc, [])
    if not isinstance(doc, dict):
        return problems
    if expected_id is not None and doc.get("id") != expected_id:
        problems.append(Problem("id", f"must be {expected_id!r}, the file name / document id"))
    processes = doc.get("processes")
    # the languages the council offers: every bilingual text of its settings must give each of them
    offered = doc.get("languages") if isinstance(doc.get("languages"), list) else ["en"]
    languages = tuple(dict.fromkeys(str(language) for language in offered)) or ("en",)
    if isinstance(processes, dict):
        for pid, settings in sorted(processes.items()):
            process = library.get(pid)
            if process is None:
                known = ", ".join(sorted(library.processes)) or "none"
                problems.append(Problem(f"processes.{pid}", f"no such process in the library (it has: {known})"))
                continue
            if settings is None or isinstance(settings, dict):
                own = {k: v for k, v in (settings or {}).items() if k != "enabled"}
                found = _problems(process.validator_for(languages), own, ["processes", pid])
                if not found:
                    found = [
                        Problem(f"processes.{pid}.{path}", reason)
                        for path, reason in process.check(own, list(languages))
                    ]
                problems += found
    return problems


class Served(NamedTuple):
    """One enabled process in one language, compiled with the tenant: the webhook calls
    ``handler(turn, settings)``. ``failure`` says why it cannot serve (its handler would not
    import, its ``prepare`` or manifest failed); the webhook then answers ``handler_error``."""

    process: str
    handler: Handler | None
    settings: Settings | None
    upstream: bool  # the handler waits on upstream services: it runs under the turn's deadline
    cache: str | None  # the reply cache's rule from the manifest (townhall.replycache), or None
    failure: str | None = None


_serials = itertools.count(1)


@dataclass(frozen=True)
class Tenant:
    """A validated tenant, compiled once per settings load and ready to serve turns.

    ``councils`` holds the council as handlers see it per reply language, and ``served`` every
    enabled process per reply language (``served[language][process id]``), with its settings
    prepared: a turn only looks them up. ``serial`` is unique to this compile in this process,
    so that what is kept per settings load (rendered replies) is never served after a refresh.
    """

    id: str
    name: str
    project: str
    password_sha256: str
    languages: tuple[str, ...]
    contact: Contact
    processes: Mapping[str, Mapping[str, Any]]  # enabled processes only, without 'enabled'
    names: Mapping[str, str]  # council name per language
    gss_code: str
    councils: Mapping[str, Council]  # per reply language: the council's languages and English
    served: Mapping[str, Mapping[str, Served]]  # reply language -> process id -> Served
    codes: Mapping[str, str]  # the language codes Dialogflow sends -> reply language
    serial: int

    def language_for(self, language_code: str) -> str:
        """The reply language: the request's when the council offers it, English otherwise."""
        found = self.codes.get(language_code)
        if found is None:
            base = language_code.split("-", 1)[0].lower()
            found = base if base in self.languages else "en"
        return found

    def council(self, language: str) -> Council:
        """The council in a reply language (one ``language_for`` gave)."""
        return self.councils[language]


def compile_tenant(doc: Mapping[str, Any], library: Library, upstream: Callable[[str], Any] | None = None) -> Tenant:
    """Build a Tenant from a document that ``validate`` passed: its council and every enabled
    process's Settings in each reply language, each process's ``prepare`` run once here.
    ``upstream(tenant_id)`` gives the ``Upstream`` for processes with ``upstream: true``."""
    processes = {
        pid: MappingProxyType({k: v for k, v in (settings or {}).items() if k != "enabled"})
        for pid, settings in doc["processes"].items()
        if (settings or {}).get("enabled", True)
    }
    names = {"en": doc["name"]}
    if doc.get("name_cy"):
        names["cy"] = doc["name_cy"]
    tenant_id, languages, contact = doc["id"], tuple(doc["languages"]), Contact(**doc["contact"])
    known = [library.processes[pid] for pid in processes if pid in library.processes]
    reply_languages = tuple(dict.fromkeys((*languages, "en")))
    councils = {
        language: Council(
            id=tenant_id,
            name=names.get(language, doc["name"]),
            contact=contact,
            languages=languages,
            services=tuple(Service(p.id, p.label(language)) for p in known if p.manifest.get("menu")),
            gss_code=doc["gss_code"],
        )
        for language in reply_languages
    }
    given = upstream(tenant_id) if upstream is not None and any(p.upstream for p in known) else None
    served = {
        language: MappingProxyType(
            {p.id: _serve(p, processes[p.id], councils[language], language, given) for p in known}
        )
        for language in reply_languages
    }
    codes = {}
    for base in LANGUAGES:
        for code in (base, f"{base}-gb", f"{base}-GB"):
            codes[code] = base if base in languages else "en"
    return Tenant(
        id=tenant_id,
        name=doc["name"],
        project=doc["dialogflow"]["project"],
        password_sha256=doc["webhook"]["password_sha256"],
        languages=languages,
        contact=contact,
        processes=MappingProxyType(processes),
        names=MappingProxyType(names),
        gss_code=doc["gss_code"],
        councils=MappingProxyType(councils),
        served=MappingProxyType(served),
        codes=MappingProxyType(codes),
        serial=next(_serials),
    )


def _serve(process: Process, own: Mapping[str, Any], council: Council, language: str, upstream: Any) -> Served:
    """``process`` ready for one tenant's turns in one reply language; a failure is kept, not
    raised, so one broken process never stops a council's other processes."""
    try:
        cache = replycache.rule(process.manifest, f"library/{process.id}/manifest.yaml")
        settings = Settings(council, own, process.texts(language), upstream=upstream if process.upstream else None)
        if process.prepare is not None:
            settings = replace(settings, prepared=process.prepare(settings))
        return Served(process.id, process.handler, settings, process.upstream, cache)
    except Exception:
        return Served(
            process.id,
            None,
            None,
            process.upstream,
            None,
            f"process {process.id} could not be prepared\n" + traceback.format_exc(),
        )
