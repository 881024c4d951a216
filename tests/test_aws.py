"""The AWS path against a moto server on loopback (started and stopped by the suite, like the
Firestore emulator): the DynamoDB settings backend, side-effect records in DynamoDB, secrets in
Secrets Manager, ``townhall settings push --backend dynamodb`` and ``request --event lambda``, the
Lambda entry point (payload formats 2.0 and 1.0, the same answers as the Cloud Function), and every
scripted conversation of the library replayed through ``lambda_main.handler``.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
import threading
import time
import uuid

import pytest
from support import FUNCTIONS, PASSWORDS, PROJECTS, REPO, TENANTS, auth_for, basic, check_response

from townhall import aws, webhook, wire
from townhall.aws.dynamodb import INDEX_ID, DynamoDBBackend
from townhall.aws.events import request_from_event
from townhall.aws.secrets import SecretsManagerSecrets
from townhall.aws.sideeffects import DynamoDBSideEffects
from townhall.contract import Deadline
from townhall.library import default_library
from townhall.settings import BackendError, IndexUnavailable, SettingsCache, Unavailable
from townhall.sideeffects import GRACE
from townhall.upstream import UpstreamError
from townhall.yamlio import load_yaml
from townhall_tools import cli, conversations
from townhall_tools.aws import Context, MotoServer, create_tables, function_url_event, invoke, moto_env, put_secrets

LIBRARY = default_library()
TENANT_DOCS = {p.stem: load_yaml(p) for p in sorted(TENANTS.glob("*.yaml"))}
CASES = conversations.cases(LIBRARY, TENANT_DOCS)
DEMO_SECRETS = load_yaml(REPO / "examples" / "demo-secrets.yaml")


def _lambda_main():
    spec = importlib.util.spec_from_file_location("lambda_main", FUNCTIONS / "lambda_main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lambda_main = _lambda_main()


# -- moto ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """A moto server on a free loopback port for the whole session."""
    with MotoServer(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def aws_env(moto_server, monkeypatch):
    """Every AWS client at the session's moto server, with tables of this test's own."""
    for key, value in moto_env(moto_server.url).items():
        monkeypatch.setenv(key, value)
    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setenv("TOWNHALL_TENANTS_TABLE", f"tenants-{suffix}")
    monkeypatch.setenv("TOWNHALL_SIDE_EFFECTS_TABLE", f"side-effects-{suffix}")
    aws.reset()
    create_tables(aws.client("dynamodb"), f"tenants-{suffix}", f"side-effects-{suffix}")
    yield {"tenants": f"tenants-{suffix}", "side_effects": f"side-effects-{suffix}", "url": moto_server.url}
    aws.reset()


def push(tenants_dir, *extra) -> int:
    return cli.main(["--tenants-dir", str(tenants_dir), "settings", "push", "--backend", "dynamodb", *extra])


# -- settings in DynamoDB ----------------------------------------------------------------------------


def test_settings_push_to_dynamodb_is_validated_idempotent_and_reports_each_tenant(aws_env, capsys, tmp_path):
    assert push(TENANTS, "--dry-run") == 0
    err = capsys.readouterr().err
    assert "[1/2] cardiff: created (dry run)" in err and "[2/2] oxford: created (dry run)" in err
    backend = DynamoDBBackend(aws_env["tenants"])
    assert backend.read("oxford") is None  # a dry run writes nothing

    assert push(TENANTS) == 0
    captured = capsys.readouterr()
    assert "[2/2] oxford: created" in captured.err and f"{aws_env['tenants']}/{INDEX_ID}: created" in captured.err
    assert "2 created, 0 updated, 0 unchanged" in captured.out
    assert backend.read("oxford") == TENANT_DOCS["oxford"]
    index = backend.read_index()
    assert set(index.tenants) == {"oxford", "cardiff"}
    assert index.tenants["cardiff"].project == PROJECTS["cardiff"]

    assert push(TENANTS) == 0  # idempotent: nothing changes the second time
    captured = capsys.readouterr()
    assert (
        "0 created, 0 updated, 2 unchanged" in captured.out and "index" in captured.err and "unchanged" in captured.err
    )

    bad = tmp_path / "bad"
    bad.mkdir()
    doc = dict(TENANT_DOCS["oxford"], languages=["fr"])
    (bad / "oxford.yaml").write_text(json.dumps(doc))
    assert push(bad) == 1
    assert "nothing pushed" in capsys.readouterr().err
    assert backend.read("oxford") == TENANT_DOCS["oxford"]  # the invalid file never reached the table


def test_create_tables_belongs_to_dynamodb_and_missing_tables_are_named(aws_env, capsys, monkeypatch):
    assert cli.main(["--tenants-dir", str(TENANTS), "settings", "push", "--create-tables"]) == 2
    assert "--create-tables is for --backend dynamodb" in capsys.readouterr().err
    monkeypatch.setenv("TOWNHALL_TENANTS_TABLE", "no-such-table")
    assert push(TENANTS) == 1
    assert "no-such-table/cardiff failed: ResourceNotFoundException" in capsys.readouterr().err
    assert push(TENANTS, "--create-tables") == 0
    assert "table no-such-table: created" in capsys.readouterr().err


def test_dynamodb_backend_reads_index_by_scan_when_the_index_item_is_missing(aws_env, captured_logs):
    backend = DynamoDBBackend(aws_env["tenants"])
    backend.write("oxford", TENANT_DOCS["oxford"])
    index = backend.read_index()
    assert index.source == f"table {aws_env['tenants']}" and set(index.tenants) == {"oxford"}
    assert any("no #tenant-index item" in line["message"] for line in captured_logs())
    assert backend.read("nobody") is None


def test_an_item_that_is_not_a_document_is_invalid_settings_not_an_outage(aws_env):
    client = aws.client("dynamodb")
    client.put_item(TableName=aws_env["tenants"], Item={"id": {"S": "oxford"}, "settings": {"S": "{not json"}})
    cache = SettingsCache(DynamoDBBackend(aws_env["tenants"]), LIBRARY)
    loaded = cache.get("oxford")
    assert loaded.tenant is None and loaded.problems


def test_single_flight_one_read_per_tenant_however_many_turns_arrive(aws_env):
    backend = DynamoDBBackend(aws_env["tenants"])
    for tenant, doc in TENANT_DOCS.items():
        backend.write(tenant, doc)
    backend.write_index()
    cache = SettingsCache(backend, LIBRARY, ttl=60)
    start = threading.Barrier(24)
    results = []

    def turn(tenant):
        start.wait(10)
        results.append(cache.get(tenant).tenant.id)

    threads = [threading.Thread(target=turn, args=(("oxford", "cardiff")[i % 2],)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(set(results)) == ["cardiff", "oxford"] and len(results) == 24
    assert cache.reads == 2  # one read per tenant, for 24 concurrent turns


def test_stale_if_error_when_moto_stops_then_the_documented_answers(tmp_path, monkeypatch, captured_logs):
    """A moto server of its own, stopped mid-test: the held copy and index serve within their
    bounds, a tenant never read gets the generic reply, and past the bound nothing is served."""
    with MotoServer(tmp_path / "moto.log") as server:
        for key, value in moto_env(server.url).items():
            monkeypatch.setenv(key, value)
        aws.reset()
        create_tables(aws.client("dynamodb"), "tenants", "side-effects")
        backend = DynamoDBBackend("tenants")
        for tenant, doc in TENANT_DOCS.items():
            backend.write(tenant, doc)
        backend.write_index()
        now = [1000.0]
        cache = SettingsCache(backend, LIBRARY, ttl=60, stale_if_error=600, retry_after=5, clock=lambda: now[0])
        assert cache.credential("oxford") is not None and cache.get("oxford").tenant is not None
        reads = cache.reads
    aws.reset()
    with pytest.raises(BackendError):
        backend.read("oxford")  # moto is gone: a read fails at once, as a BackendError
    now[0] += 61  # past the TTL: refreshing fails, the copy and the index keep serving
    assert cache.credential("oxford") is not None
    assert cache.get("oxford").tenant.id == "oxford"
    assert cache.reads == reads + 2
    assert cache.get("oxford").tenant.id == "oxford" and cache.reads == reads + 2  # not asked again within 5 s
    with pytest.raises(Unavailable):
        cache.get("cardiff")  # never read: the webhook answers the generic reply
    failures = [line for line in captured_logs() if line["message"] == "settings backend read failed"]
    assert failures and failures[0]["backend"] == "dynamodb" and failures[0]["serving"] == "stale copy"
    now[0] += 600  # past stale-if-error: the copy is no longer served
    with pytest.raises(Unavailable):
        cache.get("oxford")
    fresh = SettingsCache(backend, LIBRARY)
    with pytest.raises(IndexUnavailable):
        fresh.credential("oxford")  # no index ever held: 503 with Retry-After


# -- side-effect records -------------------------------------------------------------------------------


def test_side_effect_runs_once_and_repeats_get_its_result(aws_env):
    store = DynamoDBSideEffects(aws_env["side_effects"])
    calls = []

    def action():
        calls.append(1)
        return {"reference": "R-1"}

    key = f"report:{uuid.uuid4()}"
    assert store(key, action, Deadline(time.monotonic() + 3)) == {"reference": "R-1"}
    assert store(key, action, Deadline(time.monotonic() + 3)) == {"reference": "R-1"}
    assert calls == [1] and store.state(key) == "done"
    item = aws.client("dynamodb").get_item(
        TableName=aws_env["side_effects"], Key={"key": {"S": __import__("hashlib").sha256(key.encode()).hexdigest()}}
    )["Item"]
    assert int(item["expire_at"]["N"]) > time.time() + 29 * 86400  # the TTL attribute, 30 days on
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=aws_env["side_effects"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expire_at"


def test_concurrent_repeats_make_one_side_effect(aws_env):
    store = DynamoDBSideEffects(aws_env["side_effects"])
    calls, results = [], []
    start = threading.Barrier(6)

    def action():
        calls.append(1)
        time.sleep(0.3)
        return "sent"

    def repeat():
        start.wait(10)
        results.append(store(key, action, Deadline(time.monotonic() + 3)))

    key = f"notify:{uuid.uuid4()}"
    threads = [threading.Thread(target=repeat) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert calls == [1] and results == ["sent"] * 6


def test_a_clear_failure_leaves_nothing_and_an_unanswered_one_is_never_sent_again(aws_env):
    store = DynamoDBSideEffects(aws_env["side_effects"])
    key = f"pay:{uuid.uuid4()}"

    def refused():
        raise UpstreamError("status", "refused", 422, sent=True)

    with pytest.raises(UpstreamError):
        store(key, refused, Deadline(time.monotonic() + 3))
    assert store.state(key) is None  # nothing was done: the resident may try again

    def unanswered():
        error = UpstreamError("unknown", "no answer", sent=True)
        error.check = {"reference": "abc"}
        raise error

    with pytest.raises(UpstreamError):
        store(key, unanswered, Deadline(time.monotonic() + 3))
    assert store.state(key) == "unknown"
    sent = []
    with pytest.raises(UpstreamError) as raised:
        store(key, lambda: sent.append(1), Deadline(time.monotonic() + 3))
    assert raised.value.kind == "unknown" and sent == []  # never sent again blind
    looked = []
    found = store(
        key, lambda: sent.append(1), Deadline(time.monotonic() + 3), check=lambda spec: looked.append(spec) or "R-9"
    )
    assert found == "R-9" and looked == [{"reference": "abc"}] and sent == [] and store.state(key) == "done"


def test_pending_past_its_deadline_is_unknown_and_expired_records_count_as_absent(aws_env):
    client = aws.client("dynamodb")
    store = DynamoDBSideEffects(aws_env["side_effects"])
    digest = __import__("hashlib").sha256
    lost, old = f"lost:{uuid.uuid4()}", f"old:{uuid.uuid4()}"
    now = time.time()
    client.put_item(
        TableName=aws_env["side_effects"],
        Item={
            "key": {"S": digest(lost.encode()).hexdigest()},
            "state": {"S": "pending"},
            "since": {"N": str(now - 60)},
            "until": {"N": str(now - 50)},
            "expire_at": {"N": str(int(now) + 86400)},
        },
    )
    with pytest.raises(UpstreamError) as raised:  # an instance lost mid-action: maybe made, never re-sent
        store(lost, lambda: "again", Deadline(time.monotonic() + 3))
    assert raised.value.kind == "unknown"
    client.put_item(  # done long ago, past its expiry, not yet deleted by DynamoDB's TTL
        TableName=aws_env["side_effects"],
        Item={
            "key": {"S": digest(old.encode()).hexdigest()},
            "state": {"S": "done"},
            "result": {"S": '"stale"'},
            "since": {"N": str(now - 40 * 86400)},
            "expire_at": {"N": str(int(now) - 86400)},
        },
    )
    assert store.state(old) is None
    assert store(old, lambda: "fresh", Deadline(time.monotonic() + 3)) == "fresh"


def test_an_upstream_answering_late_is_never_sent_twice_through_the_dynamodb_records(aws_env):
    """The upstream acts, then answers after the turn gave up: every repeat is unknown and none
    reaches the upstream; a check that finds what it made settles the record as done."""
    from townhall.upstream import Upstream
    from townhall_tools.fakes._faults import FaultServer

    store = DynamoDBSideEffects(aws_env["side_effects"])
    key = f"report:{uuid.uuid4()}"
    with FaultServer() as faults:
        faults.late = 1.5
        up = Upstream("oxford", side_effects=store)

        def send():
            return up.http.post_json(faults.url + "/late", {"a": 1}, deadline=Deadline.after(0.8), ok=(201,)).json()

        for _ in range(3):  # the resident says yes three times
            with pytest.raises(UpstreamError) as raised:
                up.once(key, send, Deadline.after(1.0))
            assert raised.value.kind == "unknown" and not raised.value.retryable
        assert faults.acted == 1 and store.state(f"oxford:{key}") == "unknown"
        time.sleep(0.8)  # the late answer has come and gone
        assert up.once(key, send, Deadline.after(1.0), check=lambda: {"id": "late-1"}) == {"id": "late-1"}
        assert up.once(key, send, Deadline.after(1.0)) == {"id": "late-1"}
        assert faults.acted == 1 and store.state(f"oxford:{key}") == "done"


def test_dynamodb_refusing_after_the_action_never_lets_it_be_sent_again(aws_env, captured_logs):
    """The action is made but its record cannot be saved (DynamoDB refuses mid-turn): the resident
    still gets the result, the operator the reason, and a repeat past the claim's deadline finds
    the record unknown rather than sending again."""
    real = aws.client("dynamodb")

    class Refusing:
        def __getattr__(self, name):
            return getattr(real, name)

        def put_item(self, **kw):
            if kw["Item"]["state"]["S"] != "pending":
                raise real.exceptions.ProvisionedThroughputExceededException(
                    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem"
                )
            return real.put_item(**kw)

    refusing = DynamoDBSideEffects(aws_env["side_effects"], lambda: Refusing())
    store = DynamoDBSideEffects(aws_env["side_effects"])
    key, sent = f"pay:{uuid.uuid4()}", []
    assert refusing(key, lambda: sent.append(1) or "P-1", Deadline(time.monotonic() + 0.3)) == "P-1"
    assert store.state(key) == "pending" and "record not saved" in captured_logs.text()
    time.sleep(0.3 + GRACE + 0.2)  # the claim's deadline and its grace
    with pytest.raises(UpstreamError) as raised:
        store(key, lambda: sent.append(1) or "P-2", Deadline(time.monotonic() + 3))
    assert raised.value.kind == "unknown" and sent == [1]


def test_a_store_that_refuses_the_claim_yet_holds_no_record_ends_busy_in_the_deadline(aws_env):
    """DynamoDB saying a live record exists, then that there is none, round after round: the claim
    gives up as busy inside the turn's deadline and the action never runs."""
    real = aws.client("dynamodb")

    class Contradicting:
        def put_item(self, **kw):
            raise real.exceptions.ConditionalCheckFailedException(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "exists"}}, "PutItem"
            )

        def get_item(self, **kw):
            return {}

    store = DynamoDBSideEffects(aws_env["side_effects"], lambda: Contradicting())
    sent, outcome = [], []

    def attempt():
        try:
            store("k", lambda: sent.append(1), Deadline(time.monotonic() + 0.5))
        except UpstreamError as e:
            outcome.append(e.kind)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive() and outcome == ["busy"] and sent == []


def test_dynamodb_unreachable_before_the_action_means_nothing_was_done(monkeypatch):
    for key, value in moto_env("http://127.0.0.1:9").items():  # nothing listens on the discard port
        monkeypatch.setenv(key, value)
    aws.reset()
    sent = []
    with pytest.raises(UpstreamError) as raised:
        DynamoDBSideEffects("side-effects")("k", lambda: sent.append(1), Deadline(time.monotonic() + 2))
    assert raised.value.kind == "connection" and not raised.value.sent and sent == []
    aws.reset()


def test_dynamodb_hanging_before_the_action_means_nothing_was_done(monkeypatch):
    """A DynamoDB endpoint that takes the connection and never answers: the claim gives up at the
    client's read timeout, the action never runs, and the record store says nothing was sent."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the kernel; nothing ever reads or answers them
        for key, value in moto_env(f"http://127.0.0.1:{silent.getsockname()[1]}").items():
            monkeypatch.setenv(key, value)
        aws.reset()
        sent, outcome = [], []

        def attempt():
            try:
                DynamoDBSideEffects("side-effects")("k", lambda: sent.append(1), Deadline(time.monotonic() + 3))
            except UpstreamError as e:
                outcome.append((e.kind, e.sent))

        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(20)
        assert not worker.is_alive() and outcome == [("connection", False)] and sent == []
    aws.reset()


# -- secrets ---------------------------------------------------------------------------------------------


def test_secrets_manager_values_are_cached_missing_ones_logged_and_kept_on_errors(tmp_path, monkeypatch, captured_logs):
    with MotoServer(tmp_path / "moto.log") as server:
        for key, value in moto_env(server.url).items():
            monkeypatch.setenv(key, value)
        aws.reset()
        client = aws.client("secretsmanager")
        put_secrets(client, {"oxford": {"pay-api-key": "demo-one"}})
        secrets = SecretsManagerSecrets(ttl=300)
        assert secrets("oxford", "pay-api-key") == "demo-one"
        tags = client.describe_secret(SecretId="townhall-oxford-pay-api-key")["Tags"]
        assert {"Key": "townhall", "Value": "upstream-key"} in tags
        put_secrets(client, {"oxford": {"pay-api-key": "demo-two"}})
        assert secrets("oxford", "pay-api-key") == "demo-one"  # cached for the TTL
        assert secrets("oxford", "notify-api-key") is None  # never set: secret_missing
        assert any(
            "secret townhall-oxford-notify-api-key unreadable: ResourceNotFoundException" in line["message"]
            for line in captured_logs()
        )
        secrets.ttl = 0
        assert secrets("oxford", "pay-api-key") == "demo-two"
    aws.reset()
    assert secrets("oxford", "pay-api-key") == "demo-two"  # Secrets Manager gone: the last good value
    assert secrets("cardiff", "pay-api-key") is None
    aws.reset()


def test_a_failing_secrets_store_is_asked_once_per_retry_period_not_once_per_turn(captured_logs):
    """Secrets Manager down (or the secret missing): each turn gets the last good value, or None,
    at once; the store is asked again only after ``retry_after``, and answers again when it is back."""

    class Client:
        def __init__(self):
            self.calls, self.down = 0, False

        def get_secret_value(self, SecretId):
            self.calls += 1
            if self.down:
                raise ConnectionError("no route to Secrets Manager")
            return {"SecretString": f"demo-{self.calls}"}

    client = Client()
    secrets = SecretsManagerSecrets(ttl=0, client=client, retry_after=0.3)
    assert secrets("oxford", "pay-api-key") == "demo-1"
    client.down = True
    for _ in range(20):  # twenty turns while it is down: one call, the held value every time
        assert secrets("oxford", "pay-api-key") == "demo-1"
        assert secrets("cardiff", "pay-api-key") is None
    assert client.calls == 3  # the first read, then one failed read per key
    assert sum("unreadable" in line["message"] for line in captured_logs()) == 2
    time.sleep(0.35)
    client.down = False
    assert secrets("oxford", "pay-api-key") == "demo-4"  # retried after the period, and back
    assert secrets("cardiff", "pay-api-key") == "demo-5"


# -- the Lambda entry point ------------------------------------------------------------------------------


def _v1_event(body: bytes, headers: dict, method: str = "POST", base64_body: bool = False) -> dict:
    return {
        "resource": "/",
        "path": "/",
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {"identity": {"sourceIp": "127.0.0.1"}, "stage": "prod"},
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


REQUESTS = [  # (name, method, headers, body) the Cloud Function and Lambda must answer alike
    ("ok", "POST", {"Content-Type": "application/json", **auth_for("oxford")}, "opening"),
    ("get", "GET", {**auth_for("oxford")}, b""),
    ("media", "POST", {"Content-Type": "text/plain", **auth_for("oxford")}, "opening"),
    ("large", "POST", {"Content-Type": "application/json", **auth_for("oxford")}, b"{" + b" " * 300_000 + b"}"),
    ("no auth", "POST", {"Content-Type": "application/json"}, "opening"),
    ("wrong", "POST", {"Content-Type": "application/json", "Authorization": basic("oxford", "nope")}, "opening"),
    ("bad json", "POST", {"Content-Type": "application/json", **auth_for("oxford")}, b'{"session": 3}'),
    ("other project", "POST", {"Content-Type": "application/json", **auth_for("cardiff")}, "opening"),
    ("charset", "POST", {"Content-Type": "Application/JSON; charset=utf-8", **auth_for("oxford")}, "opening"),
]


@pytest.fixture
def files_runtime(monkeypatch, tmp_path):
    monkeypatch.setenv("TOWNHALL_SETTINGS_BACKEND", "files")
    monkeypatch.setenv("TOWNHALL_TENANTS_DIR", str(TENANTS))
    monkeypatch.setenv("TOWNHALL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("TOWNHALL_TURN_BUDGET", raising=False)
    webhook.reset()
    yield
    webhook.reset()


@pytest.mark.parametrize("form", ["2.0", "2.0 base64", "1.0", "1.0 base64"])
def test_lambda_answers_every_request_as_the_cloud_function_does(form, files_runtime, app_client):
    opening = json.dumps(wire.build_request(PROJECTS["oxford"], "contact.opening_hours", session_id="s1")).encode()
    for name, method, headers, body in REQUESTS:
        raw = opening if body == "opening" else body
        google = app_client.raw(raw, headers, method)
        encoded = "base64" in form
        if form.startswith("2.0"):
            event = function_url_event(raw, headers, method=method, base64_body=encoded)
        else:  # REST API: header names as the client sent them
            event = _v1_event(
                raw, {k.upper() if k == "Authorization" else k: v for k, v in headers.items()}, method, encoded
            )
        answer = lambda_main.handler(event, Context(6000))
        assert answer["statusCode"] == google.status, (name, answer, google.status)
        assert answer["isBase64Encoded"] is False
        assert answer["headers"]["Content-Type"] == "application/json", name
        for header in ("Allow", "WWW-Authenticate"):
            assert answer["headers"].get(header) == google.headers.get(header), (name, header)
        if google.status == 200:
            data = check_response(answer["body"].encode(), "projects/townhall-demo-oxford/agent/sessions/s1")
            assert data["fulfillmentText"] == google.json["fulfillmentText"], name
        else:
            assert json.loads(answer["body"]) == google.json, name


def test_not_an_http_event_or_broken_base64_gets_a_json_400(files_runtime):
    answer = lambda_main.handler({"Records": []}, Context())
    assert answer["statusCode"] == 400 and "not an HTTP event" in json.loads(answer["body"])["error"]
    event = function_url_event(b"{}", {"Content-Type": "application/json", **auth_for("oxford")})
    event["body"], event["isBase64Encoded"] = "@@@not base64@@@", True
    answer = lambda_main.handler(event, Context())
    assert answer["statusCode"] == 400 and "invalid base64" in json.loads(answer["body"])["error"]


def test_the_turn_deadline_comes_from_the_invocation_remaining_time(files_runtime):
    event = function_url_event(b"{}", {"Content-Type": "application/json"})
    before = time.monotonic()
    request = request_from_event(event, Context(1500), arrived=before)
    assert request.method == "POST" and request.remote_addr == "127.0.0.1"
    assert 1.2 <= request.deadline - before <= 1.31  # 1.5 s left, less the 0.2 s margin
    assert request_from_event(event, None).deadline is None
    # A turn whose invocation has little time left: the handler's deadline is the invocation's.
    seen = []
    served = webhook.runtime()
    original = served._dispatch

    def spy(tenant, srv, req, language, expires_at, log, now):
        seen.append(expires_at - time.monotonic())
        return original(tenant, srv, req, language, expires_at, log, now)

    served._dispatch = spy
    body = wire.build_request(PROJECTS["oxford"], "contact.opening_hours")
    status, _, _ = invoke(lambda_main.handler, body, {"Content-Type": "application/json", **auth_for("oxford")}, 1000)
    assert status == 200 and seen and seen[0] < 0.81  # 1 s left - 0.2 s margin - render margin, not the 4 s budget


def test_lying_events_are_answered_never_raised(files_runtime):
    """A REST API event whose multiValueHeaders list only some headers still has the rest from
    ``headers``; a context whose remaining time is no number leaves the turn budget in charge."""
    raw = json.dumps(wire.build_request(PROJECTS["oxford"], "contact.opening_hours", session_id="s1")).encode()
    event = _v1_event(raw, {"Content-Type": "application/json", **auth_for("oxford")})
    event["multiValueHeaders"] = {"Authorization": [auth_for("oxford")["Authorization"]]}
    answer = lambda_main.handler(event, Context())
    assert answer["statusCode"] == 200, answer
    check_response(answer["body"].encode(), "projects/townhall-demo-oxford/agent/sessions/s1")

    class Broken:
        def __init__(self, value):
            self.value = value

        def get_remaining_time_in_millis(self):
            if isinstance(self.value, Exception):
                raise self.value
            return self.value

    for value in (None, "soon", float("nan"), RuntimeError("no clock")):
        assert request_from_event(event, Broken(value)).deadline is None, value
        answer = lambda_main.handler(event, Broken(value))
        assert answer["statusCode"] == 200, (value, answer)


def test_request_event_lambda_prints_a_function_url_event_the_handler_answers(files_runtime, capsys):
    assert cli.main(["request", "cardiff", "welcome.hello", "--lang", "cy", "--event", "lambda"]) == 0
    event = json.loads(capsys.readouterr().out)
    assert event["version"] == "2.0" and event["requestContext"]["http"]["method"] == "POST"
    assert event["headers"]["authorization"] == basic("cardiff", PASSWORDS["cardiff"])
    answer = lambda_main.handler(event, Context())
    assert answer["statusCode"] == 200
    check_response(answer["body"].encode(), json.loads(event["body"])["session"])


def test_imports_stay_apart_boto3_only_when_an_aws_backend_reads():
    """The Cloud Function never imports boto3; the Lambda module, with the AWS backends chosen,
    imports neither boto3 nor Flask nor functions-framework until a backend first reads."""
    code = (
        "import sys; sys.path.insert(0, {functions!r}); import {module}; from townhall.webhook import runtime; runtime();"
        "print(sorted(m for m in ('boto3', 'botocore', 'flask', 'functions_framework', 'google.cloud.firestore') if m in sys.modules))"
    )
    found = {}
    for module in ("main", "lambda_main"):
        done = subprocess.run(
            [sys.executable, "-c", code.format(functions=str(FUNCTIONS), module=module)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            env={
                "PATH": "/usr/bin:/bin",
                "TOWNHALL_TENANTS_DIR": str(TENANTS),
                **(
                    {"TOWNHALL_SETTINGS_BACKEND": "dynamodb", "TOWNHALL_SECRETS_BACKEND": "secretsmanager"}
                    if module == "lambda_main"
                    else {}
                ),
            },
        )
        assert done.returncode == 0, done.stderr
        found[module] = json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))
    assert "boto3" not in found["main"] and "botocore" not in found["main"]
    assert found["lambda_main"] == []


# -- every scripted conversation through the Lambda entry point, with everything in moto ---------------


@pytest.fixture(scope="module")
def lambda_on_moto(moto_server, sandbox_tenants, tmp_path_factory):
    """The runtime behind lambda_main.handler with settings, side-effect records and secrets in moto."""
    patch = pytest.MonkeyPatch()
    try:
        for key, value in moto_env(moto_server.url).items():
            patch.setenv(key, value)
        patch.setenv("TOWNHALL_TENANTS_TABLE", "conversations-tenants")
        patch.setenv("TOWNHALL_SIDE_EFFECTS_TABLE", "conversations-side-effects")
        patch.setenv("TOWNHALL_SETTINGS_BACKEND", "dynamodb")
        patch.setenv("TOWNHALL_SECRETS_BACKEND", "secretsmanager")
        patch.setenv("TOWNHALL_DEV_CLOCK", "1")
        patch.delenv("TOWNHALL_LIBRARY_DIR", raising=False)
        patch.delenv("TOWNHALL_TURN_BUDGET", raising=False)
        aws.reset()
        assert push(sandbox_tenants, "--create-tables") == 0
        put_secrets(aws.client("secretsmanager"), DEMO_SECRETS)
        webhook.reset()
        yield DynamoDBSideEffects("conversations-side-effects")
    finally:
        webhook.reset()
        aws.reset()
        patch.undo()


def council_name(tenant: str, language: str) -> str:
    doc = TENANT_DOCS[tenant]
    return doc.get("name_cy") or doc["name"] if language == "cy" else doc["name"]


@pytest.mark.parametrize(("conversation", "tenant"), CASES, ids=[f"{c.name}[{t}]" for c, t in CASES])
def test_conversation_through_lambda(conversation, tenant, lambda_on_moto, served_fakes):
    turns = []

    def send(body: dict, now: str | None) -> dict:
        headers = {"Content-Type": "application/json", **auth_for(tenant)}
        if now:
            headers["X-Townhall-Now"] = now
        turns.append(1)  # every other turn's body base64-encoded, as API Gateway may send it
        status, _, data = invoke(lambda_main.handler, json.dumps(body), headers, base64_body=len(turns) % 2 == 0)
        assert status == 200, (status, data)
        return check_response(json.dumps(data).encode(), body["session"])

    failures = conversations.replay(
        conversation,
        PROJECTS[tenant],
        council_name(tenant, conversation.language),
        send,
        conversations.event_intents(LIBRARY),
        session_id=f"aws-{uuid.uuid4().hex[:12]}",
        received=lambda: conversations.received(served_fakes.url),
    )
    assert not failures, "\n".join(failures)


SENDING = [
    (c, t)
    for c, t in CASES
    if any(isinstance(s.expect.get("sent"), dict) and any(n > 0 for n in s.expect["sent"].values()) for s in c.steps)
]


def test_the_replay_runs_on_the_aws_backends(lambda_on_moto, served_fakes):
    """The replay uses DynamoDB and Secrets Manager, not local files: the runtime's backends say
    so, and a conversation that sends a report leaves its once-only record in the side-effect table."""
    assert SENDING, "no conversation expects a side effect"
    test_conversation_through_lambda(*SENDING[0], lambda_on_moto, served_fakes)
    served = webhook.runtime()
    assert served.settings.backend.name == "dynamodb"
    assert isinstance(served.secrets, SecretsManagerSecrets)
    assert isinstance(served.side_effects, DynamoDBSideEffects)
    items = aws.client("dynamodb").scan(TableName="conversations-side-effects")["Items"]
    assert items and {i["state"]["S"] for i in items} <= {"done", "unknown"}


def test_agent_deploy_points_the_fulfillment_at_the_function_url(monkeypatch, capsys):
    """``townhall agent deploy --webhook-url`` takes the Function URL as Terraform outputs it."""
    from fake_dialogflow import FakeDialogflow, Serving

    url = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-2.on.aws/"  # the output's shape
    serving = Serving(FakeDialogflow(projects=set(PROJECTS.values())))
    try:
        monkeypatch.setenv("TOWNHALL_DIALOGFLOW_ENDPOINT", serving.endpoint)
        monkeypatch.setenv("SECRET", PASSWORDS["cardiff"])
        monkeypatch.chdir(REPO)
        code = cli.main(["agent", "deploy", "cardiff", "--webhook-url", url, "--password-from-env", "SECRET"])
        assert code == 0, capsys.readouterr().err
        fulfillment = serving.fake.fulfillments[PROJECTS["cardiff"]]
        assert fulfillment.generic_web_service.uri == url and fulfillment.generic_web_service.username == "cardiff"
    finally:
        serving.stop()
