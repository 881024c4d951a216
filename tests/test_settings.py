"""Settings: the per-instance cache (TTL, single flight, stale-if-error) and both backends,
Firestore through the real emulator."""

from __future__ import annotations

import threading
import time

import pytest
from support import PROJECTS, TENANTS

from townhall import wire
from townhall.library import default_library
from townhall.settings import BackendError, FilesBackend, FirestoreBackend, SettingsCache, Unavailable
from townhall.yamlio import load_yaml


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class CountingBackend:
    """Wraps a real backend: counts reads, can be slowed down or made to fail."""

    name = "counting"

    def __init__(self, inner, delay: float = 0.0):
        self.inner = inner
        self.delay = delay
        self.reads = 0
        self.fail = False
        self._lock = threading.Lock()

    def read(self, tenant_id):
        with self._lock:
            self.reads += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise BackendError("simulated outage")
        return self.inner.read(tenant_id)


@pytest.fixture
def backend():
    return CountingBackend(FilesBackend(TENANTS))


def cache(backend, clock=None, **kw):
    return SettingsCache(backend, default_library(), clock=clock or Clock(), **kw)


def test_reads_once_per_ttl(backend):
    clock = Clock()
    c = cache(backend, clock, ttl=60)
    assert c.get("oxford").tenant.name == "Oxford City Council"
    for _ in range(100):
        c.get("oxford")
    assert backend.reads == 1
    clock.now += 59
    c.get("oxford")
    assert backend.reads == 1
    clock.now += 2
    c.get("oxford")
    assert backend.reads == 2


def test_concurrent_turns_share_one_read(backend, captured_logs):
    backend.delay = 0.2
    c = SettingsCache(backend, default_library(), ttl=60)
    barrier = threading.Barrier(32)
    results = []

    def worker():
        barrier.wait()
        results.append(c.get("cardiff").tenant.id)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["cardiff"] * 32
    assert backend.reads == 1
    reads = [line for line in captured_logs() if line["message"] == "settings read"]
    assert len(reads) == 1 and reads[0]["tenant"] == "cardiff" and reads[0]["outcome"] == "ok"


def test_refresh_in_flight_does_not_block_other_turns(backend):
    clock = Clock()
    c = cache(backend, clock, ttl=60)
    c.get("oxford")
    clock.now += 61
    backend.delay = 0.5
    refresher = threading.Thread(target=c.get, args=("oxford",))
    refresher.start()
    time.sleep(0.1)
    started = time.monotonic()
    for _ in range(50):
        assert c.get("oxford").tenant is not None  # served from the held copy meanwhile
    assert time.monotonic() - started < 0.3
    refresher.join(5)
    assert backend.reads == 2


def test_stale_if_error_then_fallback(backend, captured_logs):
    clock = Clock()
    c = cache(backend, clock, ttl=60, stale_if_error=600, retry_after=5)
    c.get("oxford")
    backend.fail = True
    clock.now += 61
    assert c.get("oxford").tenant.id == "oxford"  # last good copy
    assert backend.reads == 2
    clock.now += 1
    c.get("oxford")
    assert backend.reads == 2  # no retry within retry_after
    clock.now += 5
    c.get("oxford")
    assert backend.reads == 3
    clock.now += 600
    with pytest.raises(Unavailable):
        c.get("oxford")  # stale for longer than allowed
    failures = [line for line in captured_logs() if line["message"] == "settings backend read failed"]
    assert failures and failures[0]["serving"] == "stale copy" and failures[-1]["serving"] == "fallback"
    backend.fail = False
    clock.now += 5
    assert c.get("oxford").tenant.id == "oxford"  # recovers


def test_no_copy_and_failing_backend_is_unavailable_and_not_hammered(backend):
    backend.fail = True
    c = cache(backend, Clock(), retry_after=5)
    for _ in range(20):
        with pytest.raises(Unavailable):
            c.get("oxford")
    assert backend.reads == 1


def test_unknown_tenants_are_remembered_and_junk_ids_never_read(backend):
    c = cache(backend, Clock())
    assert c.get("nosuch").missing
    assert c.get("nosuch").missing
    assert backend.reads == 1
    for junk in ["", "../etc/passwd", "A" * 200, "oxford/../cardiff", "Oxford"]:
        assert c.get(junk).missing
    assert backend.reads == 1


def test_invalid_settings_are_reported_with_paths(tmp_path):
    doc = load_yaml(TENANTS / "oxford.yaml")
    doc["gss_code"] = "X123"
    doc["processes"]["nosuch"] = {}
    doc["processes"]["faq"]["entries"][0]["links"][0]["url"] = "http://insecure.example"
    import yaml

    (tmp_path / "oxford.yaml").write_text(yaml.safe_dump(doc))
    loaded = cache(FilesBackend(tmp_path)).get("oxford")
    assert loaded.tenant is None
    paths = {p.path for p in loaded.problems}
    assert {"gss_code", "processes.nosuch", "processes.faq.entries[0].links[0].url"} <= paths


def test_handlers_see_the_councils_gss_code():
    """Processes tell the council's own area from others' by its ONS code."""
    from townhall_tools.testing import settings_for

    assert settings_for("contact", "oxford").council.gss_code == "E07000178"
    assert settings_for("contact", "cardiff", language="cy").council.gss_code == "W06000015"


def test_ttl_from_environment_is_checked():
    lib = default_library()
    assert SettingsCache.from_env(lib, {"TOWNHALL_SETTINGS_TTL": "5"}).ttl == 5
    with pytest.raises(ValueError, match="TOWNHALL_SETTINGS_TTL"):
        SettingsCache.from_env(lib, {"TOWNHALL_SETTINGS_TTL": "soon"})
    with pytest.raises(ValueError, match="files.*firestore"):
        SettingsCache.from_env(lib, {"TOWNHALL_SETTINGS_BACKEND": "s3"})


# -- Firestore, through the emulator -----------------------------------------------------------------


@pytest.mark.firestore
def test_firestore_backend_reads_documents(firestore_env):
    backend = FirestoreBackend()
    doc = load_yaml(TENANTS / "cardiff.yaml")
    backend.write("cardiff", doc)
    assert backend.read("cardiff") == doc
    assert backend.read("nosuch") is None


@pytest.mark.firestore
def test_firestore_outage_is_a_backend_error(monkeypatch, firestore_env):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # nothing listens there
    backend = FirestoreBackend(timeout=0.5)
    started = time.monotonic()
    with pytest.raises(BackendError):
        backend.read("oxford")
    assert time.monotonic() - started < 5


@pytest.mark.firestore
def test_webhook_serves_from_firestore(firestore_env, make_app):
    from townhall_tools.cli import main

    assert main(["settings", "push"]) == 0
    app = make_app(TOWNHALL_SETTINGS_BACKEND="firestore")
    body = wire.build_request(PROJECTS["cardiff"], "welcome.hello", language_code="cy")
    answer = app.post(body, "cardiff")
    assert answer.status == 200
    assert "Cyngor Caerdydd" in answer.json["fulfillmentText"]
    assert app.post(wire.build_request(PROJECTS["oxford"], "contact.details"), "cardiff").status == 403


@pytest.mark.firestore
def test_webhook_with_empty_firestore_rejects_credentials(firestore_env, make_app):
    app = make_app(TOWNHALL_SETTINGS_BACKEND="firestore")
    assert app.post(wire.build_request(PROJECTS["oxford"], "contact.details"), "oxford").status == 401
