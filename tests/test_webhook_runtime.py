"""The runtime's guarantees, through functions-framework's real loading path (create_app):
failures inside handlers, deadlines, invalid or unreadable settings, and personal data in logs."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import yaml
from support import PROJECTS, REPO, auth_for, basic

from townhall import wire

SLOW = """
import time
from townhall.contract import Reply

def handle(turn, settings):
    time.sleep(float(turn.param("sleep", 0)))
    return Reply("finally done")
"""

BOOM = """
from townhall.contract import Reply

def handle(turn, settings):
    if turn.action == "wrong_type":
        return {"text": "not a Reply"}
    if turn.action == "huge":
        return Reply(["x" * 70000])
    if turn.action == "bad_context":
        from townhall.contract import OutputContext
        return Reply("hi", contexts=[OutputContext("ok", 1, {"when": object()})])
    raise RuntimeError("could not find " + turn.param("postcode", "") + " for " + turn.query_text)
"""


def _process(root: Path, pid: str, intents: list[str], code: str, upstream: bool = False) -> None:
    folder = root / pid
    (folder / "messages").mkdir(parents=True)
    (folder / "manifest.yaml").write_text(
        yaml.safe_dump(
            {
                "id": pid,
                "version": "0.0.1",
                "title": {"en": pid},
                "owner": "tests",
                "upstream": upstream,
                "intents": [{"name": f"{pid}.{name}"} for name in intents],
            }
        )
    )
    (folder / "schema.json").write_text('{"type": "object"}')
    (folder / "messages" / "en.yaml").write_text("unused: x\n")
    (folder / "handler.py").write_text(code)


@pytest.fixture
def lab(tmp_path, make_app):
    """The real library plus two test processes, and tenants that switch them on."""
    library = tmp_path / "library"
    shutil.copytree(REPO / "library", library)
    _process(library, "slow", ["wait"], SLOW, upstream=True)  # waits as on an upstream service
    _process(library, "boom", ["fail", "wrong_type", "huge", "bad_context"], BOOM)
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    for tenant in ("oxford", "cardiff"):
        doc = yaml.safe_load((REPO / "infra" / "tenants" / f"{tenant}.yaml").read_text())
        doc["processes"].update({"slow": {}, "boom": {}})
        (tenants / f"{tenant}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))

    def build(**env):
        env.setdefault("TOWNHALL_LIBRARY_DIR", str(library))
        env.setdefault("TOWNHALL_TENANTS_DIR", str(tenants))
        return make_app(**env)

    build.tenants = tenants
    return build


def post(caller, tenant, intent, **kw):
    body = wire.build_request(PROJECTS[tenant], intent, **kw)
    return caller.post(body, tenant)


def test_a_handler_exception_becomes_a_polite_reply_and_an_error_log(lab, captured_logs):
    app = lab()
    answer = post(
        app,
        "oxford",
        "boom.fail",
        parameters={"postcode": "OX1 1BX"},
        text="my name is Jane Doe, jane.doe@example.com, 07700 900123",
    )
    assert answer.status == 200
    text = answer.json["fulfillmentText"]
    assert text.startswith("Sorry, something went wrong on our side")
    assert "01632 960001" in text  # the council's contact details
    assert "Traceback" not in text and "RuntimeError" not in text
    errors = [line for line in captured_logs() if line["severity"] == "ERROR"]
    assert len(errors) == 1
    assert "Traceback" in errors[0]["message"] and "RuntimeError" in errors[0]["message"]
    turn = [line for line in captured_logs() if line["message"] == "turn"][0]
    assert turn["outcome"] == "handler_error" and turn["status"] == 200


@pytest.mark.parametrize("intent", ["boom.wrong_type", "boom.huge", "boom.bad_context"])
def test_a_handler_returning_something_unrenderable_gets_the_polite_reply(lab, captured_logs, intent):
    answer = post(lab(), "oxford", intent)
    assert answer.status == 200
    assert answer.json["fulfillmentText"].startswith("Sorry, something went wrong on our side")
    assert any(line["severity"] == "ERROR" for line in captured_logs())


@pytest.mark.parametrize("intent", ["boom.fail", "boom.wrong_type"])
def test_a_failed_handler_error_line_carries_the_turn_trace(lab, captured_logs, intent):
    """However a handler fails the turn, its ERROR line names the tenant, the process and the
    turn's trace, so the operator finds it beside the turn's own line."""
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    body = wire.build_request(PROJECTS["oxford"], intent)
    answer = lab().post(body, "oxford", headers={"X-Cloud-Trace-Context": f"{trace}/1;o=1"})
    assert answer.status == 200
    errors = [line for line in captured_logs() if line["severity"] == "ERROR"]
    assert errors and all(line["process"] == "boom" and line["tenant"] == "oxford" for line in errors)
    assert all(line.get("logging.googleapis.com/trace", "").endswith(trace) for line in errors), errors


def test_an_overrunning_handler_is_answered_within_the_budget(lab, captured_logs):
    app = lab(TOWNHALL_TURN_BUDGET="1.0")
    started = time.monotonic()
    answer = post(app, "oxford", "slow.wait", parameters={"sleep": 3})
    elapsed = time.monotonic() - started
    assert answer.status == 200
    assert elapsed < 1.5, elapsed
    assert answer.json["fulfillmentText"].startswith("Sorry, that is taking longer")
    assert [line["outcome"] for line in captured_logs() if line["message"] == "turn"] == ["timeout"]
    # A handler that finishes in time is answered normally.
    assert post(app, "oxford", "slow.wait", parameters={"sleep": 0.1}).json["fulfillmentText"] == "finally done"


def _turn_outcomes(captured_logs) -> list[str]:
    return [line["outcome"] for line in captured_logs() if line["message"] == "turn"]


def test_a_council_holds_only_its_share_of_the_handler_pool(lab, captured_logs):
    """Handlers still waiting after their turn timed out keep their slots; when a council's share
    is full its next turns are answered at once, and other councils are still served."""
    app = lab(
        TOWNHALL_TURN_BUDGET="1.0",
        TOWNHALL_HANDLER_THREADS="4",
        TOWNHALL_TENANT_SHARE="2",
        TOWNHALL_PROCESS_SHARE="3",
    )
    for tenant in ("oxford", "cardiff"):  # settings read and compiled before the clock matters
        assert post(app, tenant, "contact.opening_hours").status == 200
    for _ in range(2):  # two of Oxford's handlers overrun their turns and go on for 6 s
        assert (
            post(app, "oxford", "slow.wait", parameters={"sleep": 6})
            .json["fulfillmentText"]
            .startswith("Sorry, that is taking longer")
        )
    shed = post(app, "oxford", "slow.wait", parameters={"sleep": 0})
    text = shed.json["fulfillmentText"]
    assert text.startswith("Sorry, that is taking longer") and "01632 960001" in text  # with the contact details
    assert post(app, "cardiff", "slow.wait", parameters={"sleep": 0}).json["fulfillmentText"] == "finally done"
    assert post(app, "oxford", "contact.opening_hours").status == 200  # no upstream: never held back
    assert _turn_outcomes(captured_logs) == ["ok", "ok", "timeout", "timeout", "busy", "ok", "ok"]
    warnings = [line for line in captured_logs() if line["message"].startswith("turn not started")]
    assert [(w["message"], w["tenant"], w["process"]) for w in warnings] == [
        ("turn not started: tenant share full", "oxford", "slow")
    ]
    # The process's share: Oxford's two plus one of Cardiff's fill three of three.
    post(app, "cardiff", "slow.wait", parameters={"sleep": 6})
    assert post(app, "cardiff", "slow.wait", parameters={"sleep": 0}).json["fulfillmentText"].startswith("Sorry")
    assert [w["message"] for w in captured_logs() if w["message"].startswith("turn not started")][-1] == (
        "turn not started: process share full"
    )
    # When the handlers end, their slots are given back (bounded wait: they sleep 6 s).
    for _ in range(150):
        if post(app, "oxford", "slow.wait", parameters={"sleep": 0}).json["fulfillmentText"] == "finally done":
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the slots of handlers that ended were never given back")


def test_a_turn_without_time_to_start_its_process_is_answered_at_once(lab, captured_logs):
    app = lab(TOWNHALL_TURN_BUDGET="0.2")  # less than the least time to start a process that waits
    assert post(app, "cardiff", "contact.opening_hours").status == 200
    answer = post(app, "cardiff", "slow.wait", parameters={"sleep": 0})
    assert answer.json["fulfillmentText"].startswith("Sorry, that is taking longer")
    assert _turn_outcomes(captured_logs) == ["ok", "late"]


def test_the_handler_pool_and_its_shares_are_bounded():
    from townhall.webhook import Bulkheads

    heads = Bulkheads(threads=3, tenant_share=2, process_share=5)
    assert heads.take("a", "p") is None and heads.take("a", "q") is None
    assert heads.take("a", "r") == "tenant"
    assert heads.take("b", "p") is None
    assert heads.take("c", "p") == "pool"
    assert heads.in_use() == 3
    heads.give_back("a", "p")
    assert heads.take("c", "p") is None
    assert heads.pool._max_workers == 3


def test_a_tenant_with_invalid_settings_gets_a_safe_fallback_others_unaffected(lab, captured_logs):
    doc = yaml.safe_load((lab.tenants / "oxford.yaml").read_text())
    doc["processes"]["contact"]["opening_hours"]["monday"] = "9 till 5"
    doc["contact"]["phone"] = "call us"
    (lab.tenants / "oxford.yaml").write_text(yaml.safe_dump(doc))
    app = lab()
    broken = post(app, "oxford", "contact.details")
    assert broken.status == 200
    assert broken.json["fulfillmentText"].startswith("Sorry, I can't help with that right now")
    assert "Oxford" not in broken.json["fulfillmentText"]
    problems = [line for line in captured_logs() if line["message"].startswith("tenant settings are invalid")]
    assert problems and any("processes.contact.opening_hours.monday" in p for p in problems[0]["problems"])
    assert any(p.startswith("contact.phone") for p in problems[0]["problems"])
    # The credential is still checked against the stored hash.
    body = wire.build_request(PROJECTS["oxford"], "contact.details")
    assert app.post(body, tenant=None, headers={"Authorization": basic("oxford", "wrong")}).status == 401
    fine = post(app, "cardiff", "contact.details")
    assert "Cardiff Council" in fine.json["fulfillmentText"]


def test_unreadable_settings_never_indexed_cannot_sign_in(lab):
    # A tenant whose file never parsed was never in the tenant index: its credential cannot be
    # verified, so it is refused (401), never served a reply.
    (lab.tenants / "oxford.yaml").write_text("id: oxford\nname: [unclosed\n")
    app = lab()
    answer = post(app, "oxford", "welcome.hello")
    assert answer.status == 401
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json == {"error": "wrong credentials"}
    assert post(app, "cardiff", "welcome.hello").status == 200  # the other councils are untouched


def test_disabled_process_gets_the_menu(lab):
    doc = yaml.safe_load((lab.tenants / "oxford.yaml").read_text())
    doc["processes"]["faq"]["enabled"] = False
    (lab.tenants / "oxford.yaml").write_text(yaml.safe_dump(doc))
    answer = post(lab(), "oxford", "faq.list")
    text = answer.json["fulfillmentText"]
    assert text.startswith("Sorry, I can't help with that here.")
    assert "Common questions" not in text and "Contact the council" in text


PII = {
    "postcode": "OX1 1BX",
    "email": "jane.doe@example.com",
    "phone": "07700 900123",
    "name": "Jane Doe",
    "address": "14 Cherwell Street",
}


def test_personal_data_never_reaches_the_logs(lab, captured_logs):
    app = lab()
    said = f"I'm {PII['name']} at {PII['address']} {PII['postcode']}, call {PII['phone']} or {PII['email']}"
    contexts = {"report": {"address": PII["address"], "email": PII["email"]}}
    for intent in ["boom.fail", "contact.details", "fallback.unknown", "nosuch.intent", "slow.wait"]:
        post(
            app,
            "oxford",
            intent,
            text=said,
            parameters={"postcode": PII["postcode"], "person": {"name": PII["name"]}, "phone": PII["phone"]},
            contexts=contexts,
        )
    # Also a 400 whose body carries personal data.
    body = wire.build_request(PROJECTS["oxford"], "contact.details", text=said)
    body["queryResult"]["languageCode"] = 7
    app.post(body)
    text = captured_logs.text()
    assert captured_logs(), "no log lines were written"
    for kind, value in PII.items():
        assert value not in text, f"{kind} leaked into the logs"
        assert value.replace(" ", "") not in text, f"{kind} leaked into the logs"
    assert "Jane" not in text and "Cherwell" not in text


@pytest.mark.parametrize(
    "text,leaked",
    [
        ("postcode cf10 4uw", "cf10 4uw"),
        ("SW1A1AA", "SW1A1AA"),
        ("+44 20 7946 0958", "7946 0958"),
        ("mail bob@council.gov.uk", "bob@council.gov.uk"),
    ],
)
def test_redaction_patterns(text, leaked):
    from townhall import logs

    assert leaked not in logs.redact(text)


def test_no_dialogflow_types_in_the_webhook_and_firestore_only_when_chosen(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "sys.path.insert(0, 'functions')\n"
        "import main\n"
        "from functions_framework import create_app\n"
        "from townhall import wire\n"
        "client = create_app('webhook', 'functions/main.py').test_client()\n"
        "body = wire.build_request('townhall-demo-oxford', 'contact.details')\n"
        "r = client.post('/', json=body, headers={'Authorization': %r})\n"
        "assert r.status_code == 200, r.data\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('google.cloud'))))\n"
    ) % auth_for("oxford")["Authorization"]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "TOWNHALL_TENANTS_DIR": "infra/tenants"},
    )
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.strip().splitlines()[-1]
    assert "google.cloud.dialogflow" not in loaded
    assert "google.cloud.firestore" not in loaded


PREPARED = """
from townhall.contract import Reply

CALLS = []

def prepare(settings):
    CALLS.append(settings.texts.language)
    return {"greeting": settings.texts("hello", council=settings.council.name)}

def handle(turn, settings):
    return Reply(settings.prepared["greeting"] + f" ({len(CALLS)} prepared)")
"""


def test_prepare_runs_once_per_settings_load_in_each_language(tmp_path, make_app):
    library = tmp_path / "library"
    shutil.copytree(REPO / "library", library)
    _process(library, "prep", ["hi"], PREPARED)
    (library / "prep" / "messages" / "en.yaml").write_text('hello: "Hello from {council}"\n')
    (library / "prep" / "messages" / "cy.yaml").write_text('hello: "Helo gan {council}"\n')
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    doc = yaml.safe_load((REPO / "infra" / "tenants" / "cardiff.yaml").read_text())
    doc["processes"]["prep"] = {}
    (tenants / "cardiff.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))
    app = make_app(TOWNHALL_LIBRARY_DIR=str(library), TOWNHALL_TENANTS_DIR=str(tenants), TOWNHALL_SETTINGS_TTL="0.5")
    # Loading the settings compiles the tenant: prepared once in each of its languages, en and cy.
    texts = [post(app, "cardiff", "prep.hi").json["fulfillmentText"] for _ in range(3)]
    assert texts == ["Hello from Cardiff Council (2 prepared)"] * 3
    assert (
        post(app, "cardiff", "prep.hi", language_code="cy").json["fulfillmentText"]
        == "Helo gan Cyngor Caerdydd (2 prepared)"
    )
    time.sleep(0.6)  # the cache period ends: the next read compiles and prepares again
    assert post(app, "cardiff", "prep.hi").json["fulfillmentText"] == "Hello from Cardiff Council (4 prepared)"


def test_proven_credentials_are_remembered_only_for_their_stored_hash():
    from townhall import auth

    old = auth.password_hash("first-secret")
    assert auth.check_password("first-secret", old)
    assert auth.check_password("first-secret", old)  # remembered
    assert not auth.check_password("first-secret", auth.password_hash("rotated-secret"))
    assert not auth.check_password("guess", old)
    assert not auth.check_password("first-secret", None)
    assert not auth.check_password("first-secret", 12345)


def test_the_clock_header_is_honoured_only_with_the_dev_clock(make_app):
    """X-Townhall-Now sets a turn's clock for scripted conversations, never in production."""
    christmas = {"X-Townhall-Now": "2026-12-25T11:00:00"}
    dev = make_app(TOWNHALL_DEV_CLOCK="1").turn_with_headers("oxford", "contact.open_now", christmas)
    assert "Christmas" in dev["fulfillmentText"], dev["fulfillmentText"]
    production = make_app()
    ignored = production.turn_with_headers("oxford", "contact.open_now", christmas)
    plain = production.turn_with_headers("oxford", "contact.open_now", {})
    assert ignored["fulfillmentText"] == plain["fulfillmentText"]


# -- outcomes ----------------------------------------------------------------------------------------


def test_every_turn_line_carries_its_outcomes_status_and_severity(lab, captured_logs):
    """Refusals and replies alike: the line's status and severity are the Outcome's own."""
    from townhall.outcomes import Outcome

    app = lab(TOWNHALL_TURN_BUDGET="1.0")
    app.raw(b"", method="GET")
    app.raw(b"x", headers={"Content-Type": "text/plain"})
    app.raw(b"{}", headers={"Content-Type": "application/json"})
    app.post(
        wire.build_request(PROJECTS["oxford"], "contact.details"),
        tenant=None,
        headers={"Authorization": basic("oxford", "wrong")},
    )
    app.post({"session": 7}, "oxford")
    app.post(wire.build_request(PROJECTS["cardiff"], "contact.details"), "oxford")
    for intent in ("contact.details", "nosuch.intent", "boom.fail", "boom.huge"):
        post(app, "oxford", intent)
    post(app, "oxford", "slow.wait", parameters={"sleep": 2})
    turns = [line for line in captured_logs() if line["message"] == "turn"]
    seen = {line["outcome"] for line in turns}
    assert seen == {
        "method_not_allowed",
        "unsupported_media_type",
        "unauthenticated",
        "bad_request",
        "forbidden",
        "ok",
        "unknown_intent",
        "handler_error",
        "render_error",
        "timeout",
    }
    for line in turns:
        outcome = Outcome(line["outcome"])
        assert (line["status"], line["severity"]) == (outcome.status, outcome.severity), line


def test_a_refusal_is_answered_from_its_outcome():
    from townhall import outcomes

    status, body, headers = outcomes.refusal_response(outcomes.Unauthenticated("wrong credentials"))
    assert status == outcomes.Outcome.UNAUTHENTICATED.status == 401
    assert body == b'{"error": "wrong credentials"}'
    assert headers["WWW-Authenticate"].startswith("Basic") and headers["Content-Type"] == "application/json"
    refused = [
        cls
        for cls in vars(outcomes).values()
        if isinstance(cls, type) and issubclass(cls, outcomes.Refusal) and cls is not outcomes.Refusal
    ]
    assert {cls.outcome.status for cls in refused} == {400, 401, 403, 405, 413, 415, 503}


# -- the reply cache ---------------------------------------------------------------------------------

KEPT = """
from townhall.contract import OutputContext, Reply

CALLS = []

def handle(turn, settings):
    CALLS.append(turn.action)
    if turn.action == "remember":
        return Reply(f"call {len(CALLS)}", contexts=[OutputContext("noted", 1, {"n": len(CALLS)})])
    if turn.action == "fail":
        raise RuntimeError("no")
    return Reply(f"{turn.now:%H:%M} in {turn.language}, {settings.council.name}: call {len(CALLS)}")
"""


@pytest.fixture
def kept(tmp_path, make_app):
    """A process whose manifest says cache: {by: minute}, and cardiff switching it on."""
    library = tmp_path / "library"
    shutil.copytree(REPO / "library", library)
    _process(library, "kept", ["tell", "remember", "fail"], KEPT)
    manifest = library / "kept" / "manifest.yaml"
    manifest.write_text(manifest.read_text() + "cache:\n  by: minute\n")
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    doc = yaml.safe_load((REPO / "infra" / "tenants" / "cardiff.yaml").read_text())
    doc["processes"]["kept"] = {}
    (tenants / "cardiff.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))

    def build(**env):
        return make_app(
            TOWNHALL_LIBRARY_DIR=str(library), TOWNHALL_TENANTS_DIR=str(tenants), TOWNHALL_DEV_CLOCK="1", **env
        )

    build.manifest = manifest
    return build


def at(app, intent, clock, **kw):
    return app.turn_with_headers("cardiff", intent, {"X-Townhall-Now": clock}, **kw)["fulfillmentText"]


def test_a_declared_reply_is_kept_for_its_minute_and_language(kept):
    app = kept()
    first = at(app, "kept.tell", "2026-12-01T10:00:05")
    assert first.startswith("10:00 in en, Cardiff Council: call ")
    assert at(app, "kept.tell", "2026-12-01T10:00:59") == first  # kept: the handler is not called
    later = at(app, "kept.tell", "2026-12-01T10:01:00")
    assert later.startswith("10:01 in en") and later != first
    welsh = at(app, "kept.tell", "2026-12-01T10:00:30", language_code="cy")
    assert welsh.startswith("10:00 in cy, Cyngor Caerdydd: call ")
    assert at(app, "kept.tell", "2026-12-01T10:00:40", language_code="cy-GB") == welsh  # one reply language
    # The same wall-clock minute in another time zone is another minute.
    elsewhere = at(app, "kept.tell", "2026-12-01T10:00:10+01:00")
    assert elsewhere.startswith("10:00 in en") and elsewhere != first


def test_replies_with_contexts_and_failures_are_never_kept(kept, captured_logs):
    app = kept()
    assert at(app, "kept.remember", "2026-12-01T10:00:05") != at(app, "kept.remember", "2026-12-01T10:00:06")
    for _ in range(2):
        assert at(app, "kept.fail", "2026-12-01T10:00:07").startswith("Sorry, something went wrong")
    outcomes = [line["outcome"] for line in captured_logs() if line["message"] == "turn"]
    assert outcomes == ["ok", "ok", "handler_error", "handler_error"]


def test_a_settings_refresh_is_never_answered_from_the_old_settings(kept):
    app = kept(TOWNHALL_SETTINGS_TTL="0.5")
    first = at(app, "kept.tell", "2026-12-01T10:00:05")
    assert at(app, "kept.tell", "2026-12-01T10:00:06") == first
    time.sleep(0.6)  # the next turn reads and compiles the settings again
    assert at(app, "kept.tell", "2026-12-01T10:00:07") != first


def test_a_manifest_cache_the_runtime_cannot_honour_fails_only_that_process(kept, captured_logs):
    kept.manifest.write_text(kept.manifest.read_text().replace("by: minute", "by: hour"))
    app = kept()
    assert at(app, "kept.tell", "2026-12-01T10:00:05").startswith("Sorry, something went wrong")
    error = next(line for line in captured_logs() if line["severity"] == "ERROR")
    assert "kept/manifest.yaml: cache must be {by: settings | date | minute}" in error["message"]
    assert "Cardiff Council" in at(app, "contact.details", "2026-12-01T10:00:05")


def test_the_reply_cache_is_bounded_and_rules_are_checked():
    from townhall import replycache

    cache = replycache.ReplyCache(entries=2, largest=10)
    cache.put("a", b"1")
    cache.put("b", b"2")
    cache.put("c", b"3")
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (None, b"2", b"3", 2)
    cache.put("d", b"x" * 11)
    assert cache.get("d") is None
    assert replycache.rule({}, "m") is None
    assert replycache.rule({"cache": {"by": "date"}}, "m") == "date"
    for wrong in (
        {"cache": "minute"},
        {"cache": {"by": "minute", "for": 5}},
        {"cache": {"by": "week"}},
        {"cache": {"by": "minute"}, "upstream": True},
    ):
        with pytest.raises(replycache.CacheRuleError, match="^m: "):
            replycache.rule(wrong, "m")


def test_every_library_manifest_cache_is_one_the_runtime_honours():
    from townhall import replycache
    from townhall.library import default_library

    declared = {pid: replycache.rule(p.manifest, pid) for pid, p in default_library().processes.items()}
    assert declared["contact"] == "minute"


@pytest.mark.parametrize("name", ["", "x" * 101, "Report Problem", "a/b", "caf\u00e9"])
def test_contexts_no_process_could_have_named_are_not_handed_to_handlers(lab, name):
    # Dialogflow lower-cases context ids; a context whose name no process could have set is not
    # ours: it is left out of the turn, and the turn is served as if it were not there.
    body = wire.build_request(PROJECTS["cardiff"], "smalltalk.thanks", text="thanks, bye")
    session = body["session"]
    body["queryResult"]["outputContexts"] = [
        {"name": f"{session}/contexts/{name}", "lifespanCount": 2, "parameters": {}},
        {"name": f"{session}/contexts/report_problem-report", "lifespanCount": 2, "parameters": {}},
    ]
    parsed = wire.parse_request(json.dumps(body).encode())
    assert list(parsed.contexts) == ["report_problem-report"]
    answer = lab().post(body, "cardiff")
    assert answer.status == 200
    assert "Sorry, I can't help with that right now" not in answer.json["fulfillmentText"]
