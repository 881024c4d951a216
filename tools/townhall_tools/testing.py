"""Helpers for process tests: build a Turn and a handler's Settings without any server.

from townhall_tools.testing import turn, settings_for
reply = handle(turn("contact.open_now", now="2026-12-28T10:00"), settings_for("contact", "oxford"))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from townhall.contract import Context, Deadline, Settings, Turn
from townhall.library import Library, default_library
from townhall.secrets import FilesSecrets
from townhall.sideeffects import FilesSideEffects
from townhall.tenants import compile_tenant, validate
from townhall.upstream import Http, Upstream
from townhall.yamlio import load_yaml

from .fakes import point_at

LONDON = ZoneInfo("Europe/London")
from .paths import REPO  # noqa: E402


def turn(
    intent: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    text: str = "",
    language: str = "en",
    now: str | datetime = "2026-12-01T10:00",
    contexts: Mapping[str, Mapping[str, Any]] | None = None,
    seconds_left: float = 3.0,
    all_required_params_present: bool = True,
) -> Turn:
    """A Turn as the runtime would build it; ``now`` is London local time."""
    if isinstance(now, str):
        now = datetime.fromisoformat(now)
    if now.tzinfo is None:
        now = now.replace(tzinfo=LONDON)
    return Turn(
        intent=intent,
        action=intent.split(".", 1)[1],
        parameters={k: v for k, v in (parameters or {}).items() if v not in ("", None)},
        contexts={name: Context(name, 1, dict(p)) for name, p in (contexts or {}).items()},
        language=language,
        query_text=text,
        now=now,
        deadline=Deadline.after(seconds_left),
        all_required_params_present=all_required_params_present,
        conversation="test-conversation",
    )


def tenant_doc(tenant: str | Mapping[str, Any], only: tuple[str, ...] | None = None) -> dict:
    """An example tenant by id (infra/tenants/<id>.yaml) or a tenant document as given; with
    ``only``, just those of its processes (a test of the menu then does not change each time a
    demo tenant switches another process on)."""
    doc = load_yaml(REPO / "infra" / "tenants" / f"{tenant}.yaml") if isinstance(tenant, str) else dict(tenant)
    if only is not None:
        doc["processes"] = {k: v for k, v in doc["processes"].items() if k in only}
    return doc


def settings_for(
    process: str,
    tenant: str | Mapping[str, Any] = "oxford",
    *,
    language: str = "en",
    library: Library | None = None,
    override: Mapping[str, Any] | None = None,
    fakes: str | None = None,
    upstream: Upstream | None = None,
) -> Settings:
    """A handler's Settings for ``process`` in a (validated) tenant, optionally overriding its settings.

    ``fakes``: the base URL of served upstream fakes (the ``served_fakes`` fixture's ``url``); the
    tenant's sandbox URLs are pointed there. ``upstream``: the ``Upstream`` handed to the handler
    (``sandbox_upstream`` makes one with the demo secrets).
    """
    library = library or default_library()
    doc = tenant_doc(tenant)
    if override is not None:
        doc["processes"] = {**doc["processes"], process: dict(override)}
    if fakes is not None:  # the overriding settings' sandbox URLs too
        doc = json.loads(point_at(json.dumps(doc), fakes))
    problems = validate(doc, library, expected_id=doc.get("id"))
    if problems:
        raise AssertionError("tenant settings are invalid: " + "; ".join(map(str, problems)))
    compiled = compile_tenant(doc, library, (lambda _: upstream) if upstream is not None else None)
    if language not in compiled.served:
        raise AssertionError(
            f"tenant {compiled.id!r} does not offer {language!r} (languages: "
            f"{', '.join(compiled.languages)}); its turns in {language!r} get English"
        )
    served = compiled.served[language].get(process)
    if served is None:
        raise AssertionError(f"tenant {compiled.id!r} does not switch on {process!r}")
    if served.failure:
        raise AssertionError(served.failure)
    return served.settings


def sandbox_upstream(tenant: str, state_dir: Path, http: Http | None = None) -> Upstream:
    """An Upstream with the demo secrets (examples/demo-secrets.yaml) and side effects kept in
    ``state_dir`` (a pytest ``tmp_path``)."""
    secrets = FilesSecrets(REPO / "examples" / "demo-secrets.yaml")
    return Upstream(tenant, http or Http(), lambda name: secrets(tenant, name), FilesSideEffects(state_dir))
