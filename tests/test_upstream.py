"""The upstream toolkit: HTTP inside the turn's deadline, secrets by name, once-only side effects."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from townhall.contract import Deadline
from townhall.secrets import EnvSecrets, FilesSecrets, secret_id, secrets_from_env
from townhall.sideeffects import FilesSideEffects, FirestoreSideEffects
from townhall.upstream import Http, Upstream, UpstreamError


class Upstreamish:
    """A loopback server whose routes misbehave in the ways real upstreams do."""

    def __init__(self):
        self.hits: dict[str, int] = {}
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/ok":
            response = Response('{"ok": true, "q": "%s"}' % request.args.get("q", ""), content_type="application/json")
        elif path == "/slow":
            time.sleep(1.5)
            response = Response("{}", content_type="application/json")
        elif path == "/flaky":  # a 503, then fine
            response = (
                Response("busy", 503)
                if self.hits[path] == 1
                else Response('{"ok": true}', content_type="application/json")
            )
        elif path == "/down":
            response = Response('{"error": "down"}', 500, content_type="application/json")
        elif path == "/missing":
            response = Response('[{"code": 404, "description": "not found"}]', 404, content_type="application/json")
        elif path == "/html":
            response = Response("<html>ERROR</html>", content_type="text/html")
        elif path == "/huge":
            response = Response(b"x" * (1024 * 1024 + 10), content_type="application/json")
        elif path == "/form":
            response = Response(request.get_data(), content_type="text/plain")
        else:
            response = Response("", 404)
        return response(environ, start_response)

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def upstream_server():
    server = Upstreamish()
    yield server
    server.close()


def test_get_json_with_params(upstream_server):
    r = Http().get(upstream_server.url + "/ok", params={"q": "OX1 1BX"}, deadline=Deadline.after(2))
    assert r.status == 200 and r.json() == {"ok": True, "q": "OX1 1BX"}


def test_a_slow_upstream_is_cut_off_inside_the_deadline(upstream_server):
    started = time.monotonic()
    with pytest.raises(UpstreamError) as e:
        Http().get(upstream_server.url + "/slow", deadline=Deadline.after(0.4), retry=False)
    assert e.value.kind == "timeout"
    assert time.monotonic() - started < 0.9


def test_reads_retry_once_on_5xx_and_posts_never(upstream_server):
    assert Http().get(upstream_server.url + "/flaky", deadline=Deadline.after(3)).json() == {"ok": True}
    assert upstream_server.hits["/flaky"] == 2
    before = upstream_server.hits.get("/down", 0)
    with pytest.raises(UpstreamError) as e:
        Http().post_json(upstream_server.url + "/down", {"a": 1}, deadline=Deadline.after(3))
    assert (e.value.kind, e.value.status, e.value.body) == ("status", 500, {"error": "down"})
    assert upstream_server.hits["/down"] == before + 1
    with pytest.raises(UpstreamError):
        Http().get(upstream_server.url + "/down", deadline=Deadline.after(3))
    assert upstream_server.hits["/down"] == before + 3  # one GET, one retry


def test_errors_carry_the_status_and_parsed_body(upstream_server):
    with pytest.raises(UpstreamError) as e:
        Http().get(upstream_server.url + "/missing", deadline=Deadline.after(2))
    assert e.value.status == 404 and e.value.body == [{"code": 404, "description": "not found"}]
    assert not e.value.retryable


def test_malformed_and_oversized_answers(upstream_server):
    with pytest.raises(UpstreamError) as e:
        Http().get(upstream_server.url + "/html", deadline=Deadline.after(2)).json()
    assert e.value.kind == "malformed"
    with pytest.raises(UpstreamError) as e:
        Http().get(upstream_server.url + "/huge", deadline=Deadline.after(3))
    assert e.value.kind == "malformed"


def test_connection_refused_and_bad_urls():
    with pytest.raises(UpstreamError) as e:
        Http().get("http://127.0.0.1:9/", deadline=Deadline.after(1), retry=False)
    assert e.value.kind in ("connection", "timeout")
    with pytest.raises(UpstreamError) as e:
        Http().get("ftp://example.org/x", deadline=Deadline.after(1))
    assert e.value.kind == "unconfigured"
    with pytest.raises(UpstreamError) as e:
        Http().get("http://127.0.0.1:9/", deadline=Deadline.after(0.01))
    assert e.value.kind == "timeout"


def test_form_posts_are_urlencoded(upstream_server):
    r = Http().post_form(
        upstream_server.url + "/form",
        [("attribute[a][]", "x y"), ("api_key", "k")],
        deadline=Deadline.after(2),
        ok=(200,),
    )
    assert r.text() == "attribute%5Ba%5D%5B%5D=x+y&api_key=k"


def test_upstream_calls_are_logged_without_paths(upstream_server, captured_logs):
    Http().get(upstream_server.url + "/ok", params={"q": "OX1 1BX"}, deadline=Deadline.after(2))
    text = captured_logs.text()
    assert '"upstream call"' in text and "OX1" not in text and "/ok" not in text


# -- secrets -----------------------------------------------------------------------------------


def test_secrets_by_name(tmp_path):
    path = tmp_path / "secrets.yaml"
    path.write_text("oxford:\n  pay-api-key: abc\n")
    files = FilesSecrets(path)
    assert files("oxford", "pay-api-key") == "abc"
    assert files("oxford", "notify-api-key") is None and files("cardiff", "pay-api-key") is None
    env = EnvSecrets({"TOWNHALL_SECRET_OXFORD_PAY_API_KEY": "xyz"})
    assert env("oxford", "pay-api-key") == "xyz" and env("oxford", "other") is None
    assert secret_id("oxford", "pay-api-key") == "townhall-oxford-pay-api-key"
    up = Upstream("oxford", secrets=lambda name: files("oxford", name))
    assert up.secret("pay-api-key") == "abc"
    with pytest.raises(UpstreamError) as e:
        up.secret("notify-api-key")
    assert e.value.kind == "unconfigured" and "notify-api-key" in str(e.value)


def test_secrets_backend_configuration_errors_name_the_fix():
    with pytest.raises(ValueError, match="TOWNHALL_SECRETS_PROJECT"):
        secrets_from_env({"TOWNHALL_SECRETS_BACKEND": "secretmanager"})
    with pytest.raises(
        ValueError, match=r"'files', 'env', 'secretmanager' \(Google Cloud\) or 'secretsmanager' \(AWS\)"
    ):
        secrets_from_env({"TOWNHALL_SECRETS_BACKEND": "vault"})


# -- side effects ------------------------------------------------------------------------------


def _exercise(store):
    calls = []

    def action():
        calls.append(1)
        time.sleep(0.2)
        return {"reference": f"R{len(calls)}"}

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(store("oxford:k1", action, Deadline.after(3)))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert results == [{"reference": "R1"}] * 4 and len(calls) == 1
    assert store("oxford:k1", action, Deadline.after(1)) == {"reference": "R1"} and len(calls) == 1
    assert store("cardiff:k1", action, Deadline.after(1)) == {"reference": "R2"}

    def failing():
        calls.append(1)
        raise UpstreamError("timeout", "upstream slow")

    with pytest.raises(UpstreamError):
        store("oxford:k2", failing, Deadline.after(1))
    assert store("oxford:k2", action, Deadline.after(1))["reference"].startswith("R")  # nothing stored


def test_side_effects_happen_once_in_files(tmp_path):
    _exercise(FilesSideEffects(tmp_path))


def test_side_effects_happen_once_in_firestore(firestore_env):
    from google.cloud import firestore

    client = firestore.Client(project=firestore_env["GOOGLE_CLOUD_PROJECT"])
    _exercise(FirestoreSideEffects(lambda: client))


def test_upstream_once_scopes_keys_by_tenant(tmp_path):
    store = FilesSideEffects(tmp_path)
    a, b = Upstream("oxford", side_effects=store), Upstream("cardiff", side_effects=store)
    assert a.once("k", lambda: 1, Deadline.after(1)) == 1
    assert a.once("k", lambda: 2, Deadline.after(1)) == 1
    assert b.once("k", lambda: 3, Deadline.after(1)) == 3


def test_secret_manager_reads_the_tenants_secret_caches_it_and_keeps_the_last_good_value():
    from townhall.secrets import SecretManagerSecrets

    class Client:
        """Stands in for SecretManagerServiceClient: records the names asked for."""

        def __init__(self):
            self.asked, self.failing = [], False

        def access_secret_version(self, name, timeout):
            self.asked.append(name)
            if self.failing:
                raise RuntimeError("unavailable")
            if "missing" in name:
                raise KeyError(name)
            return SimpleNamespace(payload=SimpleNamespace(data=b"s3cret"))

    client = Client()
    secrets = SecretManagerSecrets("platform", ttl=0.2, client=client)
    assert secrets("oxford", "pay-api-key") == "s3cret"
    assert secrets("oxford", "pay-api-key") == "s3cret"
    assert client.asked == ["projects/platform/secrets/townhall-oxford-pay-api-key/versions/latest"]
    assert secrets("oxford", "missing-key") is None
    time.sleep(0.25)
    client.failing = True
    assert secrets("oxford", "pay-api-key") == "s3cret"  # the last good value, logged as an error
    assert len(client.asked) == 3


def test_a_request_in_flight_elsewhere_is_busy_not_done_twice(firestore_env):
    """A pending record younger than PENDING_FOR: the repeat waits, then says busy."""
    from google.cloud import firestore

    from townhall import sideeffects

    client = firestore.Client(project=firestore_env["GOOGLE_CLOUD_PROJECT"])
    store = FirestoreSideEffects(lambda: client)
    now = datetime.now(UTC)
    client.collection(sideeffects.COLLECTION).document(sideeffects._digest("oxford:busy")).set(
        {"state": "pending", "since": now, "expire_at": now + sideeffects.KEEP_FOR}
    )
    calls = []
    with pytest.raises(UpstreamError) as raised:
        store("oxford:busy", lambda: calls.append(1), Deadline.after(0.6))
    assert raised.value.kind == "busy" and calls == []


def test_a_record_left_pending_past_its_deadline_is_unknown_never_redone(firestore_env):
    """An attempt that never finished (a crash, a lost instance) may have sent its request: a
    repeat does not run the action again; a check may find what it made."""
    from google.cloud import firestore

    from townhall import sideeffects

    client = firestore.Client(project=firestore_env["GOOGLE_CLOUD_PROJECT"])
    store = FirestoreSideEffects(lambda: client)
    long_ago = datetime.now(UTC) - timedelta(seconds=60)
    client.collection(sideeffects.COLLECTION).document(sideeffects._digest("oxford:crashed")).set(
        {
            "state": "pending",
            "since": long_ago,
            "until": long_ago + timedelta(seconds=6),
            "expire_at": long_ago + sideeffects.KEEP_FOR,
        }
    )
    calls = []
    with pytest.raises(UpstreamError) as raised:
        store("oxford:crashed", lambda: calls.append(1), Deadline.after(2))
    assert raised.value.kind == "unknown" and not raised.value.retryable and calls == []
    with pytest.raises(UpstreamError):
        store("oxford:crashed", lambda: calls.append(1), Deadline.after(2), check=lambda spec: None)
    found = store("oxford:crashed", lambda: calls.append(1), Deadline.after(2), check=lambda spec: {"reference": "R9"})
    assert found == {"reference": "R9"} and calls == []
    assert store("oxford:crashed", lambda: calls.append(1), Deadline.after(2)) == {"reference": "R9"}


def test_firestore_refusing_the_record_is_an_upstream_error_and_nothing_is_done():
    from google.api_core.exceptions import PermissionDenied

    class Refusing:
        def collection(self, name):
            return self

        def document(self, name):
            return self

        def create(self, data, timeout):
            raise PermissionDenied("no write access")

    calls = []
    with pytest.raises(UpstreamError) as raised:
        FirestoreSideEffects(lambda: Refusing())("oxford:k", lambda: calls.append(1), Deadline.after(1))
    assert raised.value.kind == "connection" and calls == []


# -- bounded calls, circuit breakers, failures the operators see -------------------------------------


@pytest.fixture
def faults():
    from townhall_tools.fakes._faults import FaultServer

    with FaultServer() as server:
        yield server


@pytest.mark.parametrize("path", ["/hang", "/drip", "/drip-headers"])
def test_a_hanging_or_dripping_upstream_is_cut_off_at_the_deadline(faults, path):
    """The deadline is the whole call's (connect, headers, body), not each receive's: a server
    sending a byte every 0.3 s would otherwise keep the turn for ever."""
    http = Http()
    assert http.get(faults.url + "/ok", deadline=Deadline.after(2)).json() == {"ok": True}
    deadline = Deadline.after(1.0)
    with pytest.raises(UpstreamError) as e:
        http.get(faults.url + path, deadline=deadline, retry=False)
    assert e.value.kind == "timeout" and e.value.retryable and e.value.sent
    assert deadline.remaining() < 0.3  # it ended at the deadline, not when the server finished
    assert faults.hits[path] == 1
    # The cut-off connection is never handed to the next call.
    assert http.get(faults.url + "/ok", deadline=Deadline.after(2)).json() == {"ok": True}


def test_a_body_over_the_limit_is_refused(faults):
    with pytest.raises(UpstreamError) as e:
        Http().get(faults.url + "/big", deadline=Deadline.after(3), retry=False)
    assert e.value.kind == "malformed"
    with pytest.raises(UpstreamError) as e:
        Http().get(faults.url + "/ok", deadline=Deadline.after(3), max_body=4)
    assert e.value.kind == "malformed"


def test_the_circuit_breaker_opens_rests_probes_and_closes(faults):
    from townhall.upstream import Breakers

    http = Http(breakers=Breakers(failures=3, cool_down=0.5)).for_tenant("oxford")
    for _ in range(3):
        with pytest.raises(UpstreamError) as e:
            http.get(faults.url + "/switch", deadline=Deadline.after(2), retry=False)
        assert e.value.status == 500
    assert faults.hits["/switch"] == 3
    with pytest.raises(UpstreamError) as e:
        http.get(faults.url + "/switch", deadline=Deadline.after(2))
    assert e.value.kind == "open" and e.value.retryable and not e.value.sent
    assert faults.hits["/switch"] == 3  # answered at once: nothing sent
    # Another tenant's breaker for the same host is its own.
    other = http.for_tenant("cardiff")
    with pytest.raises(UpstreamError) as e:
        other.get(faults.url + "/switch", deadline=Deadline.after(2), retry=False)
    assert e.value.kind == "status" and faults.hits["/switch"] == 4
    faults.failing = False
    time.sleep(0.6)  # the cool-down passes: one probe goes through, and closes the breaker
    assert http.get(faults.url + "/switch", deadline=Deadline.after(2)).json() == {"ok": True}
    assert http.get(faults.url + "/switch", deadline=Deadline.after(2)).json() == {"ok": True}
    assert not http.breakers.is_open(("oxford", f"{faults.url.split('//')[1]}/switch"))


def test_a_failed_probe_opens_the_breaker_again(faults):
    from townhall.upstream import Breakers

    http = Http(breakers=Breakers(failures=2, cool_down=0.3)).for_tenant("oxford")
    for _ in range(2):
        with pytest.raises(UpstreamError):
            http.get(faults.url + "/fail", deadline=Deadline.after(2), retry=False)
    time.sleep(0.35)
    with pytest.raises(UpstreamError) as e:
        http.get(faults.url + "/fail", deadline=Deadline.after(2), retry=False)
    assert e.value.status == 500  # the probe
    with pytest.raises(UpstreamError) as e:
        http.get(faults.url + "/fail", deadline=Deadline.after(2), retry=False)
    assert e.value.kind == "open" and faults.hits["/fail"] == 3


def test_breakers_hold_bounded_memory():
    from townhall.upstream import Breakers

    breakers = Breakers(failures=1, size=10)
    for n in range(50):
        breakers.failure((f"tenant{n}", "example.org"))
    assert len(breakers) == 10 and breakers.is_open(("tenant49", "example.org"))


@pytest.mark.parametrize(
    ("status", "retryable", "permanent"),
    [
        (400, False, True),
        (401, False, True),
        (403, False, True),
        (404, False, True),
        (409, False, True),
        (422, False, True),
        (408, True, False),
        (429, True, False),
        (500, True, False),
        (503, True, False),
    ],
)
def test_permanent_refusals_and_transient_failures_are_told_apart(status, retryable, permanent):
    error = UpstreamError("status", "x", status)
    assert (error.retryable, error.permanent, error.status_class) == (retryable, permanent, f"{status // 100}xx")


def test_every_failure_is_logged_and_recorded_for_the_turn(faults, upstream_server, captured_logs):
    from townhall.upstream import TurnFailures, watching

    with watching(TurnFailures("oxford", "report_problem")) as failures, pytest.raises(UpstreamError):
        Http().get(faults.url + "/fail", deadline=Deadline.after(2), retry=False)
    assert failures.worst == "failed"
    with watching(TurnFailures("oxford", "report_problem")) as failures:
        with pytest.raises(UpstreamError):
            Http().get(upstream_server.url + "/missing", deadline=Deadline.after(2))
        with pytest.raises(UpstreamError):
            Http().get(faults.url + "/fail", deadline=Deadline.after(2), retry=False)
    assert failures.worst == "refused"
    with watching(TurnFailures("oxford", "council_tax")) as failures, pytest.raises(UpstreamError) as e:
        Upstream("oxford").secret("pay-api-key")
    assert failures.worst == "secret_missing" and e.value.permanent
    lines = [line for line in captured_logs() if line["message"].startswith("upstream ")]
    failed = [line for line in lines if line["message"].startswith("upstream failed")]
    refused = [line for line in lines if line["message"].startswith("upstream refused")]
    missing = [line for line in lines if line["message"] == "upstream secret missing"]
    assert failed[0]["severity"] == "WARNING" and failed[0]["status_class"] == "5xx"
    assert failed[0]["host"] == "127.0.0.1"  # an IP literal, not taken for a phone number
    assert (failed[0]["tenant"], failed[0]["process"], failed[0]["retryable"]) == ("oxford", "report_problem", True)
    assert refused[0]["severity"] == "ERROR" and refused[0]["status_class"] == "4xx"
    assert refused[0]["permanent"] is True and refused[0]["retryable"] is False
    assert missing[0]["severity"] == "ERROR" and missing[0]["secret"] == "pay-api-key"
    assert missing[0]["process"] == "council_tax"
    assert "/fail" not in captured_logs.text() and "/missing" not in captured_logs.text()


def test_no_failure_no_record(upstream_server):
    from townhall.upstream import TurnFailures, watching

    with watching(TurnFailures("oxford", "x")) as failures:
        Http().get(upstream_server.url + "/ok", deadline=Deadline.after(2))
    assert failures.worst is None and failures.items == []


# -- once-only, even when the upstream answers late --------------------------------------------------


def _late_post(faults, up):
    def send():
        return up.http.post_json(faults.url + "/late", {"a": 1}, deadline=Deadline.after(0.8), ok=(201,)).json()

    return send


@pytest.mark.parametrize("backend", ["files", "firestore"])
def test_a_late_answer_leaves_the_side_effect_unknown_and_it_is_never_resent(backend, faults, tmp_path, request):
    if backend == "files":
        store = FilesSideEffects(tmp_path)
    else:
        from google.cloud import firestore

        env = request.getfixturevalue("firestore_env")
        client = firestore.Client(project=env["GOOGLE_CLOUD_PROJECT"])
        store = FirestoreSideEffects(lambda: client)
    faults.late = 1.5
    up = Upstream("oxford", side_effects=store)
    for _ in range(3):  # the resident says yes three times
        with pytest.raises(UpstreamError) as e:
            up.once("report:c1", _late_post(faults, up), Deadline.after(1.0))
        assert e.value.kind == "unknown" and not e.value.retryable and not e.value.permanent
    assert faults.acted == 1  # one request reached the upstream, however often the resident asked
    time.sleep(0.8)
    # A check that finds what the first attempt made settles it for good.
    found = up.once("report:c1", _late_post(faults, up), Deadline.after(1.0), check=lambda: {"id": "late-1"})
    assert found == {"id": "late-1"}
    assert up.once("report:c1", _late_post(faults, up), Deadline.after(1.0)) == {"id": "late-1"}
    assert faults.acted == 1


def test_a_clear_refusal_leaves_nothing_and_may_be_tried_again(faults, upstream_server, tmp_path):
    up = Upstream("oxford", side_effects=FilesSideEffects(tmp_path))
    for _ in range(2):
        with pytest.raises(UpstreamError) as e:
            up.once(
                "k",
                lambda: up.http.post_json(upstream_server.url + "/missing", {}, deadline=Deadline.after(1)),
                Deadline.after(1),
            )
        assert e.value.kind == "status" and e.value.status == 404
    with pytest.raises(UpstreamError) as e:  # never connected: nothing was sent
        up.once(
            "k2", lambda: up.http.post_json("http://127.0.0.1:9/", {}, deadline=Deadline.after(1)), Deadline.after(1)
        )
    assert e.value.kind in ("connection", "timeout")
    assert up.once("k2", lambda: {"done": True}, Deadline.after(1)) == {"done": True}


def test_a_side_effect_knows_its_id_and_a_check_spec_survives(tmp_path, faults):
    from townhall.upstream import current_effect, register_check

    seen = []

    def send():
        current_effect().check = {"kind": "test-late", "marker": current_effect().id}
        seen.append(current_effect().id)
        return up.http.post_json(faults.url + "/late", {}, deadline=Deadline.after(0.5), ok=(201,)).json()

    register_check("test-late", lambda upstream, spec, deadline: {"found": spec["marker"]})
    faults.late = 1.0
    up = Upstream("oxford", side_effects=FilesSideEffects(tmp_path))
    with pytest.raises(UpstreamError):
        up.once("k", send, Deadline.after(0.7))
    assert up.once("k", send, Deadline.after(0.7)) == {"found": seen[0]}
    assert len(seen) == 1 and len(seen[0]) == 20


# -- logs: hosts, tracebacks and the turn's values on pool threads ---------------------------------


def test_ip_literal_hosts_are_logged_as_they_are_and_odd_hosts_are_not(captured_logs):
    from townhall import logs

    logs.event("WARNING", "upstream failed", host="127.0.0.1", upstream="[2001:db8::1]")
    logs.event("WARNING", "upstream failed", host="call 07700 900123 now")
    first, second = captured_logs()
    assert (first["host"], first["upstream"]) == ("127.0.0.1", "[2001:db8::1]")
    assert "07700" not in second["host"]


def test_tracebacks_keep_their_own_words_and_lose_the_residents(captured_logs):
    import traceback

    from townhall import logs

    def call(text):
        raise ValueError(f"could not read {text}")

    with logs.sensitive("please call me most days", {"name": "Jane Recent"}):
        try:
            call("Jane Recent")
        except ValueError:
            logs.event("ERROR", "handler failed\n" + traceback.format_exc())
        logs.event("ERROR", "Jane said most days are fine")
    first, second = captured_logs()
    assert "Traceback (most recent call last):" in first["message"]
    assert ", in call" in first["message"] and "Jane" not in first["message"]
    assert "ValueError: could not read [redacted]" in first["message"]
    assert "Jane" not in second["message"] and "most" not in second["message"]
    assert "are fine" in second["message"]  # words, never parts of words


def test_a_handler_on_a_pool_thread_keeps_the_turns_redactions(captured_logs):
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    from townhall import logs

    def handler():
        logs.event("ERROR", "could not find Priya Okonkwo at 12 Acacia Avenue")

    with ThreadPoolExecutor(1) as pool, logs.sensitive({"name": "Priya Okonkwo", "street": "Acacia Avenue"}):
        pool.submit(contextvars.copy_context().run, handler).result(timeout=5)
    (line,) = captured_logs()
    assert "Priya" not in line["message"] and "Acacia" not in line["message"]


def test_a_missing_secret_is_an_error_at_the_first_turn_that_needs_it(make_app, captured_logs, tmp_path):
    """No Democracy Club key for Oxford: the resident gets the polite answer (200), the turn's
    outcome says secret_missing and an ERROR line names the secret (never its value)."""
    from support import PROJECTS

    from townhall import wire

    empty = tmp_path / "secrets.yaml"
    empty.write_text("oxford: {}\n")
    app = make_app(TOWNHALL_SECRETS_BACKEND="files", TOWNHALL_SECRETS_FILE=str(empty))
    body = wire.build_request(PROJECTS["oxford"], "polling_station.find", parameters={"postcode": "OX1 1BX"})
    answer = app.post(body, "oxford")
    assert answer.status == 200 and answer.json["fulfillmentText"]
    lines = captured_logs()
    (turn,) = [line for line in lines if line["message"] == "turn"]
    assert (turn["outcome"], turn["severity"]) == ("secret_missing", "ERROR")
    (missing,) = [line for line in lines if line["message"] == "upstream secret missing"]
    assert missing["severity"] == "ERROR" and missing["secret"] == "democracy-club-api-key"
    assert (missing["tenant"], missing["process"]) == ("oxford", "polling_station")


def test_an_open_breaker_is_logged_with_its_host(faults, captured_logs):
    from townhall.upstream import Breakers

    http = Http(breakers=Breakers(failures=1, cool_down=5)).for_tenant("cardiff")
    with pytest.raises(UpstreamError):
        http.get(faults.url + "/fail", deadline=Deadline.after(2), retry=False)
    (line,) = [line for line in captured_logs() if line["message"] == "upstream circuit breaker open"]
    assert (line["severity"], line["host"], line["tenant"]) == ("ERROR", "127.0.0.1", "cardiff")
    # Another API on the same host has its own breaker.
    assert http.get(faults.url + "/ok", deadline=Deadline.after(2)).json() == {"ok": True}
