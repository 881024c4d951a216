"""Tenant settings: where they are read from, and the per-instance cache in front of that.

Backends (``TOWNHALL_SETTINGS_BACKEND``):
- ``files`` (default): ``<TOWNHALL_TENANTS_DIR>/<tenant-id>.yaml``, default ``infra/tenants``.
- ``firestore``: collection ``tenants``, document id = tenant id. Project and database come from
  the usual Google environment; ``FIRESTORE_EMULATOR_HOST`` points at the emulator. The Firestore
  client is imported only when this backend is chosen.
- ``dynamodb`` (AWS): one item per tenant in the table ``TOWNHALL_TENANTS_TABLE`` (default
  ``townhall-tenants``), the tenant index an item beside them (``townhall.aws.dynamodb``).

Each document read is validated and compiled once (``townhall.tenants.compile_tenant``): every
enabled process's settings prepared in each of the council's languages. The cache holds each
compiled tenant for ``TOWNHALL_SETTINGS_TTL`` seconds (default 60). Concurrent turns
for one tenant share a single backend read (no stampede): while a copy is held, one turn refreshes
it and the others keep serving it; with no copy, the others wait for that one read. When a read
fails, the last good copy keeps serving for ``TOWNHALL_SETTINGS_STALE_IF_ERROR`` seconds (default
3600) and the failure is logged; a failed read is retried after ``TOWNHALL_SETTINGS_RETRY``
seconds (default 5) at the most once.

Credentials are checked against the **tenant index** before any tenant's settings are read: every
tenant's id, password hash and Dialogflow project, loaded with one backend read (``townhall
settings push`` writes it, for Firestore as document ``townhall/tenant-index``; the files backend
builds it from the folder). The index is held for ``TOWNHALL_SETTINGS_TTL`` seconds and refreshed
by one turn while the others keep using it; when the backend cannot be read the last index keeps
answering for ``TOWNHALL_INDEX_STALE_IF_ERROR`` seconds (default 604800, a week). So a name the
index does not hold costs no backend read, and a credential is never taken on trust: with no index
at all, ``IndexUnavailable`` (the webhook answers 503 with ``Retry-After``). Only a credential the
index verified leads to a read of that tenant's full settings (``SettingsCache.get``).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from . import auth, logs
from .library import Library
from .tenants import Problem, Tenant, compile_tenant, validate
from .yamlio import YamlError, load_yaml

TENANT_ID = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
COLLECTION = "tenants"
INDEX_COLLECTION, INDEX_DOCUMENT = "townhall", "tenant-index"  # Firestore: townhall/tenant-index
INDEX_FORMAT = 1
SIDE_EFFECTS_DATABASE = "townhall-side-effects"  # default of TOWNHALL_SIDE_EFFECTS_DATABASE
_HASH = re.compile(r"^[0-9a-f]{64}$")
# The fields of a tenant document the index needs (a projection query reads only these).
INDEX_FIELDS = ("webhook.password_sha256", "dialogflow.project")


class BackendError(Exception):
    """The settings backend could not be read (I/O, network, permissions, unreadable file)."""


@dataclass(frozen=True)
class Credential:
    """What the tenant index holds for one tenant: enough to check its webhook credential."""

    password_sha256: str
    project: str | None


@dataclass(frozen=True)
class TenantIndex:
    """Every tenant's credential, from one backend read; ``source`` says where it came from."""

    tenants: Mapping[str, Credential]
    source: str

    def __len__(self) -> int:
        return len(self.tenants)


def index_entry(doc: Any) -> dict[str, Any] | None:
    """The index entry of a tenant document (``password_sha256``, ``project``), or None when the
    document holds no usable hash (e.g. still ``managed-by-terraform``): nobody can sign in."""
    stored, project = auth.raw_credentials(doc)
    if not isinstance(stored, str) or not _HASH.match(stored):
        return None
    return {"password_sha256": stored, "project": project if isinstance(project, str) else None}


def index_document(docs: Mapping[str, Any]) -> dict[str, Any]:
    """The index document for ``{tenant id: tenant document}``, as ``settings push`` writes it."""
    tenants = {}
    for tenant_id, doc in sorted(docs.items()):
        entry = index_entry(doc)
        if entry is not None and TENANT_ID.match(tenant_id):
            tenants[tenant_id] = entry
    return {"format": INDEX_FORMAT, "count": len(tenants), "tenants": tenants}


def parse_index(doc: Any, source: str) -> TenantIndex:
    """A ``TenantIndex`` from an index document; raises BackendError if it is not one."""
    tenants = doc.get("tenants") if isinstance(doc, dict) else None
    if not isinstance(tenants, dict) or doc.get("format") != INDEX_FORMAT:
        raise BackendError(f"{source}: not a tenant index of format {INDEX_FORMAT}: run townhall settings push")
    found = {}
    for tenant_id, entry in tenants.items():
        if isinstance(entry, dict) and (checked := index_entry({"webhook": entry, "dialogflow": entry})):
            found[tenant_id] = Credential(checked["password_sha256"], checked["project"])
    return TenantIndex(MappingProxyType(found), source)


class Backend(Protocol):
    name: str

    def read(self, tenant_id: str) -> Mapping[str, Any] | None:
        """The tenant's document, or None when there is none. Raises BackendError."""

    def read_index(self) -> TenantIndex:
        """Every tenant's credential, in one read. Raises BackendError."""


class FilesBackend:
    name = "files"

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._known: dict[str, Any] = {}  # tenant id -> its entry as a document, from the last index
        self._parsed: dict[str, tuple[tuple[int, int], Any]] = {}  # tenant id -> ((mtime, size), document)

    def path(self, tenant_id: str) -> Path:
        return self.directory / f"{tenant_id}.yaml"

    def read(self, tenant_id: str) -> Mapping[str, Any] | None:
        path = self.path(tenant_id)
        if not path.is_file():
            if not self.directory.is_dir():  # the folder itself is gone: an outage, not "no such tenant"
                raise BackendError(f"tenants folder {self.directory} does not exist")
            return None
        try:
            return load_yaml(path)
        except YamlError as e:
            raise BackendError(str(e)) from e

    def files(self) -> Iterator[Path]:
        return iter(sorted(self.directory.glob("*.yaml")))

    def read_index(self) -> TenantIndex:
        """The index of the folder: each file's hash and project. A file that cannot be parsed
        keeps the entry this backend last read from it (none: its tenant cannot sign in until it
        is fixed), and is logged."""
        if not self.directory.is_dir():
            raise BackendError(f"tenants folder {self.directory} does not exist")
        docs, parsed = {}, {}
        for path in self.files():
            try:
                stat = path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                held = self._parsed.get(path.stem)
                # An unchanged file is not parsed again: a refresh costs a stat per file.
                docs[path.stem] = held[1] if held is not None and held[0] == stamp else load_yaml(path)
                parsed[path.stem] = (stamp, docs[path.stem])
            except (YamlError, OSError) as e:
                kept = self._known.get(path.stem)
                if kept is not None:
                    docs[path.stem] = kept
                logs.event(
                    "ERROR",
                    "tenant file unreadable: "
                    + ("its last good index entry is kept" if kept else "left out of the tenant index"),
                    file=str(path),
                    error=str(e),
                )
        self._parsed = parsed
        document = index_document(docs)
        self._known = {k: {"webhook": v, "dialogflow": v} for k, v in document["tenants"].items()}
        return parse_index(document, f"folder {self.directory}")


class FirestoreBackend:
    name = "firestore"

    def __init__(self, client: Any = None, timeout: float = 2.0):
        self._client = client
        self._lock = threading.Lock()
        self._others: dict[str, Any] = {}
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

    def client_for(self, database: str):
        """A client of another database in the same project (side-effect records), made once."""
        with self._lock:
            if database not in self._others:
                from google.cloud import firestore

                self._others[database] = firestore.Client(
                    project=os.environ.get("GOOGLE_CLOUD_PROJECT") or None, database=database
                )
            return self._others[database]

    def document(self, tenant_id: str):
        return self.client.collection(COLLECTION).document(tenant_id)

    def index_reference(self):
        return self.client.collection(INDEX_COLLECTION).document(INDEX_DOCUMENT)

    def read_index(self) -> TenantIndex:
        """The index document; where there is none yet (a platform whose settings were pushed by
        an older ``settings push``), one projection query over the tenants collection."""
        try:
            snapshot = self.index_reference().get(timeout=self.timeout, retry=None)
            if snapshot.exists:
                return parse_index(snapshot.to_dict(), f"{INDEX_COLLECTION}/{INDEX_DOCUMENT}")
            docs = self.tenant_credentials()
        except BackendError:
            raise
        except Exception as e:
            raise BackendError(f"firestore read of the tenant index failed: {type(e).__name__}") from e
        logs.event(
            "WARNING",
            f"no {INDEX_COLLECTION}/{INDEX_DOCUMENT} document: tenant index built from the {COLLECTION} "
            "collection; run townhall settings push to write it",
        )
        return parse_index(index_document(docs), f"collection {COLLECTION}")

    def tenant_credentials(self, transaction: Any = None) -> dict[str, Any]:
        """``{tenant id: document with only the index's fields}`` of every tenant document."""
        query = self.client.collection(COLLECTION).select(list(INDEX_FIELDS))
        kwargs = {"transaction": transaction} if transaction is not None else {"retry": None}
        return {s.id: s.to_dict() for s in query.stream(timeout=self.timeout * 5, **kwargs)}

    def write_index(self, dry_run: bool = False, pending: Mapping[str, Any] | None = None) -> tuple[str, int]:
        """Rewrite ``townhall/tenant-index`` from the tenants collection as it now is, in one
        transaction (so it always matches the per-tenant documents). Returns (state, tenants):
        state is created, updated or unchanged. ``pending`` (dry run) are documents not yet written."""
        from google.cloud import firestore

        reference = self.index_reference()
        outcome: list = []

        @firestore.transactional
        def rewrite(transaction):
            docs = self.tenant_credentials(transaction)
            docs.update(pending or {})
            wanted = index_document(docs)
            current = reference.get(transaction=transaction)
            held = current.to_dict() if current.exists else None
            state = "unchanged" if held == wanted else ("created" if held is None else "updated")
            if state != "unchanged" and not dry_run:
                transaction.set(reference, wanted)
            outcome[:] = [state, wanted["count"]]

        try:
            rewrite(self.client.transaction())
        except Exception as e:
            raise BackendError(f"firestore write of {INDEX_COLLECTION}/{INDEX_DOCUMENT} failed: {e}") from e
        return outcome[0], outcome[1]

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
    if kind == "dynamodb":  # AWS (docs/aws.md); boto3 is imported on the first read
        from .aws.dynamodb import DynamoDBBackend

        return DynamoDBBackend.from_env(env)
    raise ValueError(f"TOWNHALL_SETTINGS_BACKEND={kind!r}: use 'files', 'firestore' or 'dynamodb'")


@dataclass(frozen=True)
class Loaded:
    """The outcome of one backend read: a tenant, no such tenant, or invalid settings."""

    tenant: Tenant | None = None
    missing: bool = False
    problems: tuple[Problem, ...] = ()
    raw: Mapping[str, Any] | None = None  # kept only for invalid settings (to check the credential)


class Unavailable(Exception):
    """No settings can be served for the tenant: the backend failed and no good copy is held."""


class IndexUnavailable(Exception):
    """No tenant index is held (never loaded, or stale for longer than allowed): no credential can
    be verified. ``retry_after``: whole seconds until the backend is tried again."""

    def __init__(self, retry_after: int):
        super().__init__(f"no tenant index: retry after {retry_after} s")
        self.retry_after = retry_after


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
        index_stale_if_error: float = 7 * 24 * 3600.0,
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
        self.index_stale_if_error = index_stale_if_error
        self.reads = 0  # backend reads made (tenants and index), for the benchmark and tests
        self.index_reads = 0
        self._slots: dict[str, _Slot] = {}
        self._slots_lock = threading.Lock()
        self._index: TenantIndex | None = None
        self._index_lock = threading.Lock()
        self._index_fetched_at = 0.0  # when the held index was read
        self._index_failed_at: float | None = None

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
            index_stale_if_error=seconds("TOWNHALL_INDEX_STALE_IF_ERROR", 7 * 24 * 3600.0),
        )

    # -- the tenant index: credentials ----------------------------------------------------------
    def credential(self, tenant_id: str) -> Credential | None:
        """The tenant's credential from the tenant index, None for a name it does not hold (no
        backend read, whatever the name); raises ``IndexUnavailable`` when no index is held."""
        index = self._index
        if index is None or self.clock() - self._index_fetched_at >= self.ttl:
            index = self._current_index()
        return index.tenants.get(tenant_id)

    def _current_index(self) -> TenantIndex:
        if self._index is not None:
            # An index is held: one turn refreshes it, the others keep using it meanwhile.
            if self._index_lock.acquire(blocking=False):
                try:
                    self._refresh_index()
                finally:
                    self._index_lock.release()
        else:
            with self._index_lock:  # none yet: wait for the one read in flight, or make it
                if self._index is None:
                    self._refresh_index()
        index = self._index
        if index is None or self.clock() - self._index_fetched_at > self.ttl + self.index_stale_if_error:
            raise IndexUnavailable(self._retry_in())
        return index

    def _retry_in(self) -> int:
        if self._index_failed_at is None:
            return max(1, int(-(-self.retry_after // 1)))
        left = self.retry_after - (self.clock() - self._index_failed_at)
        return max(1, int(-(-left // 1)))

    def _refresh_index(self) -> None:
        now = self.clock()
        if self._index is not None and now - self._index_fetched_at < self.ttl:
            return  # another turn refreshed it while we waited
        if self._index_failed_at is not None and now - self._index_failed_at < self.retry_after:
            return  # the last read failed moments ago: do not hammer a failing backend
        self.reads += 1
        self.index_reads += 1
        try:
            index = self.backend.read_index()
        except BackendError as e:
            self._index_failed_at = self.clock()
            logs.event(
                "ERROR",
                "tenant index read failed",
                backend=self.backend.name,
                error=str(e),
                serving="last index" if self._index is not None else "no index: 503 to every credential",
            )
            return
        self._index, self._index_failed_at = index, None
        self._index_fetched_at = self.clock()
        logs.event(
            "INFO",
            "tenant index read",
            backend=self.backend.name,
            source=index.source,
            tenants=len(index),
            latency_ms=round((self._index_fetched_at - now) * 1000, 1),
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
