"""Tenant settings: where they are read from, and the per-instance cache in front of that.

Backends (``TOWNHALL_SETTINGS_BACKEND``):
- ``files`` (default): ``<TOWNHALL_TENANTS_DIR>/<tenant-id>.yaml``, default ``infra/tenants``.
- ``firestore``: collection ``tenants``, document id = tenant id. Project and database come from
  the usual Google environment; ``FIRESTORE_EMULATOR_HOST`` points at the emulator. The Firestore
  client is imported only when this backend is chosen.

Each document read is validated and compiled once (``townhall.tenants.compile_tenant``): every
enabled process's settings prepared in each of the council's languages. The cache holds each
compiled tenant for ``TOWNHALL_SETTINGS_TTL`` seconds (default 60). Concurrent turns
for one tenant share a single backend read (no stampede): while a copy is held, one turn refreshes
it and the others keep serving it; with no copy, the others wait for that one read. When a read
fails, the last good copy keeps serving for ``TOWNHALL_SETTINGS_STALE_IF_ERROR`` seconds (default
3600) and the failure is logged; a failed read is retried after ``TOWNHALL_SETTINGS_RETRY``
seconds (default 5) at the most once.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from . import logs
from .library import Library
from .tenants import Problem, Tenant, compile_tenant, validate
from .yamlio import YamlError, load_yaml

TENANT_ID = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
COLLECTION = "tenants"


class BackendError(Exception):
    """The settings backend could not be read (I/O, network, permissions, unreadable file)."""


class Backend(Protocol):
    name: str

    def read(self, tenant_id: str) -> Mapping[str, Any] | None:
        """The tenant's document, or None when there is none. Raises BackendError."""


class FilesBackend:
    name = "files"

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path(self, tenant_id: str) -> Path:
        return self.directory / f"{tenant_id}.yaml"

    def read(self, tenant_id: str) -> Mapping[str, Any] | None:
        path = self.path(tenant_id)
        if not path.is_file():
            return None
        try:
            return load_yaml(path)
        except YamlError as e:
            raise BackendError(str(e)) from e

    def files(self) -> Iterator[Path]:
        return iter(sorted(self.directory.glob("*.yaml")))


class FirestoreBackend:
    name = "firestore"

    def __init__(self, client: Any = None, timeout: float = 2.0):
        self._client = client
        self._lock = threading.Lock()
        self.timeout = timeout

    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from google.cloud import firestore  # only when this backend is used

                    self._client = firestore.Client(
                        project=os.environ.get("GOOGLE_CLOUD_PROJECT") or None,
                        database=os.environ.get("TOWNHALL_FIRESTORE_DATABASE") or "(default)",
                    )
        return self._client

    def document(self, tenant_id: str):
        return self.client.collection(COLLECTION).document(tenant_id)

    def read(self, tenant_id: str) -> Mapping[str, Any] | None:
        try:
            snapshot = self.document(tenant_id).get(timeout=self.timeout, retry=None)
        except Exception as e:  # any client, transport or auth failure
            raise BackendError(f"firestore read of {COLLECTION}/{tenant_id} failed: {type(e).__name__}") from e
        return snapshot.to_dict() if snapshot.exists else None

    def write(self, tenant_id: str, doc: Mapping[str, Any]) -> None:
        try:
            self.document(tenant_id).set(dict(doc), timeout=30)
        except Exception as e:
            raise BackendError(f"firestore write of {COLLECTION}/{tenant_id} failed: {e}") from e


def backend_from_env(env: Mapping[str, str] = os.environ) -> Backend:
    kind = env.get("TOWNHALL_SETTINGS_BACKEND", "files")
    if kind == "files":
        return FilesBackend(Path(env.get("TOWNHALL_TENANTS_DIR", "infra/tenants")))
    if kind == "firestore":
        return FirestoreBackend()
    raise ValueError(f"TOWNHALL_SETTINGS_BACKEND={kind!r}: use 'files' or 'firestore'")


@dataclass(frozen=True)
class Loaded:
    """The outcome of one backend read: a tenant, no such tenant, or invalid settings."""

    tenant: Tenant | None = None
    missing: bool = False
    problems: tuple[Problem, ...] = ()
    raw: Mapping[str, Any] | None = None  # kept only for invalid settings (to check the credential)


class Unavailable(Exception):
    """No settings can be served for the tenant: the backend failed and no good copy is held."""


class _Slot:
    __slots__ = ("lock", "loaded", "fetched_at", "failed_at", "good_at")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded: Loaded | None = None
        self.fetched_at = 0.0  # when `loaded` was read
        self.good_at = 0.0  # when `loaded` was last confirmed by a read
        self.failed_at: float | None = None


class SettingsCache:
    MAX_TENANTS = 10_000

    def __init__(
        self,
        backend: Backend,
        library: Library,
        ttl: float = 60.0,
        stale_if_error: float = 3600.0,
        retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        upstream_for: Callable[[str], Any] | None = None,
    ):
        self.backend = backend
        self.library = library
        # The Upstream of a tenant id, handed to the processes with ``upstream: true`` when a
        # tenant is compiled; the webhook's Runtime, which owns them, sets it.
        self.upstream_for = upstream_for
        self.ttl = ttl
        self.stale_if_error = stale_if_error
        self.retry_after = retry_after
        self.clock = clock
        self.reads = 0  # backend reads made, for the benchmark and tests
        self._slots: dict[str, _Slot] = {}
        self._slots_lock = threading.Lock()

    @classmethod
    def from_env(cls, library: Library, env: Mapping[str, str] = os.environ) -> SettingsCache:
        def seconds(name: str, default: float) -> float:
            value = env.get(name)
            try:
                return float(value) if value else default
            except ValueError:
                raise ValueError(f"{name}={value!r}: give a number of seconds") from None

        return cls(
            backend_from_env(env),
            library,
            ttl=seconds("TOWNHALL_SETTINGS_TTL", 60.0),
            stale_if_error=seconds("TOWNHALL_SETTINGS_STALE_IF_ERROR", 3600.0),
            retry_after=seconds("TOWNHALL_SETTINGS_RETRY", 5.0),
        )

    def _slot(self, tenant_id: str) -> _Slot:
        slot = self._slots.get(tenant_id)
        if slot is None:
            with self._slots_lock:
                slot = self._slots.get(tenant_id)
                if slot is None:
                    if len(self._slots) >= self.MAX_TENANTS:
                        self._forget_missing()
                    slot = self._slots[tenant_id] = _Slot()
        return slot

    def _forget_missing(self) -> None:
        for key in [k for k, s in self._slots.items() if s.loaded is None or s.loaded.missing]:
            del self._slots[key]

    def get(self, tenant_id: str) -> Loaded:
        """The tenant's settings as last read; raises ``Unavailable`` if none can be served."""
        slot = self._slots.get(tenant_id)
        if slot is None:
            if not TENANT_ID.match(tenant_id):
                return Loaded(missing=True)
            slot = self._slot(tenant_id)
        elif slot.loaded is not None and self.clock() - slot.fetched_at < self.ttl:
            return slot.loaded  # the warm path: one lookup, one clock reading
        if slot.loaded is not None:
            # A copy is held: one turn refreshes it, the others keep serving it meanwhile.
            if slot.lock.acquire(blocking=False):
                try:
                    self._refresh(tenant_id, slot)
                finally:
                    slot.lock.release()
            return self._usable(tenant_id, slot)
        with slot.lock:  # no copy: wait for the one read in flight, or make it
            if slot.loaded is None:
                self._refresh(tenant_id, slot)
        return self._usable(tenant_id, slot)

    def _within_stale(self, slot: _Slot) -> bool:
        return slot.loaded is not None and self.clock() - slot.good_at <= self.ttl + self.stale_if_error

    def _usable(self, tenant_id: str, slot: _Slot) -> Loaded:
        if not self._within_stale(slot):
            raise Unavailable(tenant_id)
        return slot.loaded

    def _refresh(self, tenant_id: str, slot: _Slot) -> None:
        now = self.clock()
        if now - slot.fetched_at < self.ttl and slot.loaded is not None:
            return  # another turn refreshed it while we waited
        if slot.failed_at is not None and now - slot.failed_at < self.retry_after:
            return  # the last read failed moments ago: do not hammer a failing backend
        self.reads += 1
        started = self.clock()
        try:
            doc = self.backend.read(tenant_id)
        except BackendError as e:
            slot.failed_at = self.clock()
            logs.event(
                "ERROR",
                "settings backend read failed",
                tenant=tenant_id,
                backend=self.backend.name,
                error=str(e),
                serving="stale copy" if self._within_stale(slot) else "fallback",
            )
            return
        slot.failed_at = None
        slot.loaded = self.load(tenant_id, doc)
        slot.fetched_at = slot.good_at = self.clock()
        logs.event(
            "INFO",
            "settings read",
            tenant=tenant_id,
            backend=self.backend.name,
            outcome="missing" if slot.loaded.missing else ("invalid" if slot.loaded.problems else "ok"),
            latency_ms=round((slot.fetched_at - started) * 1000, 1),
        )

    def load(self, tenant_id: str, doc: Mapping[str, Any] | None) -> Loaded:
        if doc is None:
            return Loaded(missing=True)
        problems = validate(doc, self.library, expected_id=tenant_id)
        if problems:
            logs.event(
                "ERROR",
                "tenant settings are invalid; serving the safe fallback",
                tenant=tenant_id,
                problems=[str(p) for p in problems[:20]],
            )
            return Loaded(problems=tuple(problems), raw=doc if isinstance(doc, dict) else None)
        return Loaded(tenant=compile_tenant(doc, self.library, self.upstream_for))
