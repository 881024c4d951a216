"""Settings: the per-instance cache (TTL, single flight, stale-if-error) and both backends,
Firestore through the real emulator."""

from __future__ import annotations

import json
import threading
import time

import pytest
from support import PASSWORDS, PROJECTS, TENANTS, basic

from townhall import wire
from townhall.auth import password_hash
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


# -- The tenant index: credentials without a read per name ------------------------------------------


class IndexCountingBackend(CountingBackend):
    """Also counts tenant-index reads, which fail with the rest during an outage."""

    def __init__(self, inner, delay: float = 0.0):
        super().__init__(inner, delay)
        self.index_reads = 0

    def read_index(self):
        with self._lock:
            self.index_reads += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise BackendError("simulated outage")
        return self.inner.read_index()


def test_index_holds_every_tenant_and_unknown_names_cost_no_read():
    backend = IndexCountingBackend(FilesBackend(TENANTS))
    c = cache(backend, Clock())
    oxford = c.credential("oxford")
    assert oxford.project == PROJECTS["oxford"] and oxford.password_sha256 == password_hash(PASSWORDS["oxford"])
    assert c.credential("cardiff").project == PROJECTS["cardiff"]
    for i in range(1000):
        assert c.credential(f"council-{i:04d}") is None
    for junk in ["", "../etc/passwd", "A" * 200, "Oxford"]:
        assert c.credential(junk) is None
    assert (backend.index_reads, backend.reads) == (1, 0), "one index read; no tenant read for any name"
    assert c.reads == c.index_reads == 1


def test_index_is_read_once_by_concurrent_first_turns():
    backend = IndexCountingBackend(FilesBackend(TENANTS), delay=0.2)
    c = SettingsCache(backend, default_library(), ttl=60)
    barrier = threading.Barrier(16)
    found = []

    def worker(name):
        barrier.wait()
        found.append(c.credential(name))

    threads = [threading.Thread(target=worker, args=(n,)) for n in ["oxford", "nosuch"] * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(found) == 16 and sum(f is None for f in found) == 8
    assert backend.index_reads == 1


def test_index_outage_serves_the_last_index_then_refuses(captured_logs):
    from townhall.settings import IndexUnavailable

    clock = Clock()
    backend = IndexCountingBackend(FilesBackend(TENANTS))
    c = cache(backend, clock, ttl=60, retry_after=5, index_stale_if_error=3600)
    assert c.credential("oxford") is not None
    backend.fail = True
    clock.now += 61
    assert c.credential("oxford") is not None and c.credential("nosuch") is None  # the last index
    for _ in range(50):
        c.credential("nosuch")
    assert backend.index_reads == 2, "a failed read is retried after retry_after, not per turn"
    clock.now += 5
    c.credential("oxford")
    assert backend.index_reads == 3
    clock.now += 3600
    with pytest.raises(IndexUnavailable) as refused:
        c.credential("oxford")  # stale for longer than allowed: no credential is taken on trust
    assert refused.value.retry_after >= 1
    backend.fail = False
    clock.now += 5
    assert c.credential("oxford") is not None  # recovers
    failed = [line for line in captured_logs() if line["message"] == "tenant index read failed"]
    assert failed and failed[0]["serving"] == "last index" and failed[0]["severity"] == "ERROR"


def test_no_index_ever_loaded_is_unavailable_and_the_backend_not_hammered():
    from townhall.settings import IndexUnavailable

    clock = Clock()
    backend = IndexCountingBackend(FilesBackend(TENANTS))
    backend.fail = True
    c = cache(backend, clock, retry_after=5)
    for name in ["oxford", "nosuch"] * 10:
        with pytest.raises(IndexUnavailable) as refused:
            c.credential(name)
    assert refused.value.retry_after == 5
    clock.now += 3
    with pytest.raises(IndexUnavailable) as refused:
        c.credential("oxford")
    assert refused.value.retry_after == 2
    assert backend.index_reads == 1


def test_files_index_keeps_an_unreadable_files_last_entry(tmp_path, captured_logs):
    import shutil

    for name in ("oxford", "cardiff"):
        shutil.copy(TENANTS / f"{name}.yaml", tmp_path / f"{name}.yaml")
    backend = FilesBackend(tmp_path)
    assert set(backend.read_index().tenants) == {"oxford", "cardiff"}
    (tmp_path / "oxford.yaml").write_text("id: oxford\nname: [unclosed\n")
    (tmp_path / "newcomer.yaml").write_text("id: newcomer\nname: [unclosed\n")
    index = backend.read_index()
    assert set(index.tenants) == {"oxford", "cardiff"}, "kept: oxford's last entry; never known: newcomer"
    messages = [line["message"] for line in captured_logs() if line["severity"] == "ERROR"]
    assert any("last good index entry is kept" in m for m in messages)
    assert any("left out of the tenant index" in m for m in messages)
    assert FilesBackend(tmp_path / "gone").read_index is not None
    with pytest.raises(BackendError, match="does not exist"):
        FilesBackend(tmp_path / "gone").read_index()
    with pytest.raises(BackendError, match="does not exist"):
        FilesBackend(tmp_path / "gone").read("oxford")


def test_index_documents_hold_only_usable_hashes_and_are_checked():
    from townhall.settings import index_document, parse_index

    oxford = load_yaml(TENANTS / "oxford.yaml")
    pending = {**oxford, "id": "pending", "webhook": {"password_sha256": "managed-by-terraform"}}
    document = index_document({"oxford": oxford, "pending": pending, "Bad Id": oxford})
    assert document["format"] == 1 and document["count"] == 1
    assert document["tenants"] == {
        "oxford": {"password_sha256": oxford["webhook"]["password_sha256"], "project": PROJECTS["oxford"]}
    }
    assert set(parse_index(document, "test").tenants) == {"oxford"}
    for bad in [None, {}, {"format": 2, "tenants": {}}, {"format": 1, "tenants": []}]:
        with pytest.raises(BackendError, match="settings push"):
            parse_index(bad, "test")


# -- The webhook: credentials before, during and after an outage ---------------------------------------


def _post(app, tenant, password):
    body = wire.build_request(PROJECTS.get(tenant, PROJECTS["oxford"]), "contact.details")
    return app.raw(
        json.dumps(body).encode(), {"Content-Type": "application/json", "Authorization": basic(tenant, password)}
    )


def _statuses(app):
    return (
        _post(app, "oxford", PASSWORDS["oxford"]).status,
        _post(app, "oxford", "wrong-password").status,
        _post(app, "nosuch", "wrong-password").status,
    )


def _settings():
    from townhall import webhook

    return webhook.runtime().settings


def _probe_unknown_names(app, settings, count=1000, period=0.2):
    """Posts ``count`` never-seen names: none costs a tenant read, and the index is read no more
    often than its own refresh or retry period allows, however many names are tried."""
    tenant_reads, index_reads = settings.reads - settings.index_reads, settings.index_reads
    started = time.monotonic()
    for i in range(count):
        assert _post(app, f"council-{i:04d}", "guess").status == 401
    elapsed = time.monotonic() - started
    assert settings.reads - settings.index_reads == tenant_reads, "an unknown name cost a tenant read"
    assert settings.index_reads - index_reads <= elapsed / period + 1, "index reads follow time, not names"


def test_files_outage_before_during_and_after(tmp_path, make_app, captured_logs):
    import shutil

    folder = tmp_path / "tenants"
    shutil.copytree(TENANTS, folder)
    # Before: no index was ever loaded (the folder is missing): nothing is served, 503 + Retry-After.
    shutil.move(folder, tmp_path / "away")
    app = make_app(TOWNHALL_TENANTS_DIR=str(folder), TOWNHALL_SETTINGS_TTL="0.3", TOWNHALL_SETTINGS_RETRY="0.2")
    for tenant, password in [("oxford", PASSWORDS["oxford"]), ("oxford", "wrong"), ("nosuch", "x")]:
        refused = _post(app, tenant, password)
        assert refused.status == 503 and int(refused.headers["Retry-After"]) >= 1
        assert set(refused.json) == {"error"} and refused.headers["Content-Type"] == "application/json"
    turns = [line for line in captured_logs() if line["message"] == "turn"]
    assert {line["outcome"] for line in turns} == {"credentials_unverifiable"}
    shutil.move(tmp_path / "away", folder)
    time.sleep(0.25)
    assert _statuses(app) == (200, 401, 401)
    # During: the folder goes away after the index and oxford's settings were read.
    shutil.move(folder, tmp_path / "away")
    time.sleep(0.35)
    assert _statuses(app) == (200, 401, 401), "the last index and the last good settings keep serving"
    time.sleep(0.35)
    assert _statuses(app) == (200, 401, 401)
    # After.
    shutil.move(tmp_path / "away", folder)
    time.sleep(0.35)
    assert _statuses(app) == (200, 401, 401)
    _probe_unknown_names(app, _settings(), period=0.2)


@pytest.mark.firestore
def test_firestore_outage_before_during_and_after(firestore_env, make_app, monkeypatch):
    from google.cloud import firestore

    from townhall_tools.cli import main

    assert main(["settings", "push"]) == 0
    env = {"TOWNHALL_SETTINGS_BACKEND": "firestore", "TOWNHALL_SETTINGS_TTL": "0.5", "TOWNHALL_SETTINGS_RETRY": "0.2"}
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # nothing listens there
    dead = firestore.Client(project=firestore_env["GOOGLE_CLOUD_PROJECT"])
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_env["FIRESTORE_EMULATOR_HOST"])

    # Before: Firestore unreachable since start-up: no credential is verified, none is served.
    app = make_app(**env)
    backend = _settings().backend
    live, backend._client, backend.timeout = backend.client, dead, 0.3
    refused = _post(app, "nosuch", "guess")
    assert refused.status == 503 and refused.headers["Retry-After"].isdigit()
    assert _post(app, "oxford", PASSWORDS["oxford"]).status == 503
    backend._client = live
    time.sleep(0.25)
    assert _statuses(app) == (200, 401, 401)
    settings = _settings()
    assert settings.index_reads == 2  # the failed read and the good one

    # During: the index and oxford's settings are held; Firestore goes away past their TTL.
    backend._client = dead
    time.sleep(0.6)
    for _ in range(3):
        assert _statuses(app) == (200, 401, 401)
        time.sleep(0.3)
    _probe_unknown_names(app, settings, period=0.2)

    # After.
    backend._client = live
    time.sleep(0.6)
    assert _statuses(app) == (200, 401, 401)
    _probe_unknown_names(app, settings, period=0.2)


@pytest.mark.firestore
def test_settings_push_writes_the_tenant_index_from_the_documents(firestore_env, make_app):
    from townhall.settings import INDEX_COLLECTION, INDEX_DOCUMENT, index_document
    from townhall_tools.cli import main

    backend = FirestoreBackend()
    reference = backend.client.collection(INDEX_COLLECTION).document(INDEX_DOCUMENT)
    assert main(["settings", "push", "--dry-run"]) == 0
    assert not reference.get().exists, "a dry run writes nothing"
    assert main(["settings", "push", "--tenant", "oxford"]) == 0
    assert set(reference.get().to_dict()["tenants"]) == {"oxford"}
    assert main(["settings", "push", "--tenant", "cardiff"]) == 0
    docs = {t: backend.read(t) for t in ("oxford", "cardiff")}
    assert reference.get().to_dict() == index_document(docs), "the index is made from every tenant document"
    assert backend.read_index().source == f"{INDEX_COLLECTION}/{INDEX_DOCUMENT}"
    # A platform pushed before the index existed: built from the tenants collection in one query.
    reference.delete()
    index = backend.read_index()
    assert index.source == "collection tenants" and set(index.tenants) == {"oxford", "cardiff"}
    app = make_app(TOWNHALL_SETTINGS_BACKEND="firestore")
    assert _statuses(app) == (200, 401, 401)
    assert main(["settings", "push"]) == 0
    assert reference.get().to_dict() == index_document(docs)


@pytest.mark.firestore
def test_side_effect_records_go_to_their_own_database(firestore_env):
    from google.cloud import firestore

    from townhall.contract import Deadline
    from townhall.settings import SIDE_EFFECTS_DATABASE
    from townhall.sideeffects import COLLECTION, side_effects_from_env

    settings_backend = FirestoreBackend()
    once = side_effects_from_env(settings_backend, {})
    key = f"test-{time.time_ns()}"
    assert once(key, lambda: {"done": 1}, Deadline(time.monotonic() + 5)) == {"done": 1}
    assert once(key, lambda: {"done": 2}, Deadline(time.monotonic() + 5)) == {"done": 1}
    own = firestore.Client(project=firestore_env["GOOGLE_CLOUD_PROJECT"], database=SIDE_EFFECTS_DATABASE)
    assert [d.to_dict()["state"] for d in own.collection(COLLECTION).stream()].count("done") >= 1
    assert not list(settings_backend.client.collection(COLLECTION).stream()), "nothing in the settings database"
    other = side_effects_from_env(settings_backend, {"TOWNHALL_SIDE_EFFECTS_DATABASE": "elsewhere"})
    assert other(key, lambda: {"done": 3}, Deadline(time.monotonic() + 5)) == {"done": 3}


def test_unreadable_tenant_file_is_verified_against_its_last_index_entry(tmp_path, make_app, captured_logs):
    """A file that cannot be parsed: a tenant the index knew keeps its credential (then the generic
    reply, its settings being unreadable); one it never knew cannot sign in at all."""
    import shutil

    folder = tmp_path / "tenants"
    shutil.copytree(TENANTS, folder)
    app = make_app(TOWNHALL_TENANTS_DIR=str(folder), TOWNHALL_SETTINGS_TTL="0.2")
    assert _post(app, "cardiff", PASSWORDS["cardiff"]).status == 200  # the index is read: oxford is in it
    (folder / "oxford.yaml").write_text("id: oxford\nname: [unclosed\n")
    time.sleep(0.3)
    answer = _post(app, "oxford", PASSWORDS["oxford"])
    assert answer.status == 200 and answer.json["fulfillmentText"].startswith("Sorry, I can't help with that right now")
    assert _post(app, "oxford", "wrong-password").status == 401
    turns = [line["outcome"] for line in captured_logs() if line["message"] == "turn"]
    assert turns[-2:] == ["settings_unavailable", "unauthenticated"]
    fresh = make_app(TOWNHALL_TENANTS_DIR=str(folder))  # never read oxford's file: no credential to check
    assert _post(fresh, "oxford", PASSWORDS["oxford"]).status == 401
    assert _post(fresh, "cardiff", PASSWORDS["cardiff"]).status == 200
