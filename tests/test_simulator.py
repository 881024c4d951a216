"""The offline simulator: contexts as Dialogflow keeps them, real WebhookRequests over HTTP,
follow-up events, slot filling, ``townhall chat``, and every scripted conversation of the library
replayed from its free text for every example tenant and language."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support import PASSWORDS, PROJECTS, REPO, TENANTS, basic

from townhall.library import default_library
from townhall.yamlio import load_yaml
from townhall_tools import conversations
from townhall_tools.agent.build import build_tenant
from townhall_tools.simulator.contexts import Contexts
from townhall_tools.simulator.nlu import NLU
from townhall_tools.simulator.replay import replay
from townhall_tools.simulator.session import Session

LIBRARY = default_library()
TENANT_DOCS = {p.stem: load_yaml(p) for p in sorted(TENANTS.glob("*.yaml"))}
CASES = conversations.cases(LIBRARY, TENANT_DOCS)
TOWNHALL = str(Path(sys.executable).with_name("townhall"))


@cache
def nlu_for(tenant: str, language: str) -> NLU:
    return NLU(build_tenant(tenant, TENANTS, LIBRARY), language)


def council(tenant: str, language: str) -> str:
    doc = TENANT_DOCS[tenant]
    return (doc.get("name_cy") or doc["name"]) if language == "cy" else doc["name"]


# -- the library's conversations, from free text --------------------------------------------------


@pytest.mark.parametrize(("conversation", "tenant"), CASES, ids=[f"{c.name}[{t}]" for c, t in CASES])
def test_conversation_through_the_simulator(conversation, tenant, served, served_fakes):
    session = Session(
        nlu_for(tenant, conversation.language),
        url=served.url,
        project=PROJECTS[tenant],
        username=tenant,
        password=PASSWORDS[tenant],
        now=conversation.now,
    )
    counted = conversations.SentCheck(session, conversation, lambda: conversations.received(served_fakes.url))
    failures = replay(conversation, counted, council(tenant, conversation.language))
    failures = counted.failures + failures  # each turn's side effects (expect: sent), then the rest
    assert not failures, "\n".join(failures)


def test_every_example_tenant_and_language_has_conversations():
    covered = {(t, c.language) for c, t in CASES}
    wanted = {(t, language) for t, doc in TENANT_DOCS.items() for language in doc["languages"]}
    assert wanted <= covered, f"no conversation replays for {sorted(wanted - covered)}"


def test_a_wrong_match_names_the_file_turn_and_both_intents(served, tmp_path):
    path = tmp_path / "wrong.yaml"
    conversation = conversations.Conversation(
        path,
        "contact",
        "checks the checker",
        "en",
        (
            conversations.Step("hello there", "welcome.hello", {}, {"says": ["{council}"]}),
            conversations.Step("when are you open", "contact.human", {}, {}),
        ),
    )
    session = Session(
        nlu_for("oxford", "en"),
        url=served.url,
        project=PROJECTS["oxford"],
        username="oxford",
        password=PASSWORDS["oxford"],
    )
    failures = replay(conversation, session, "Oxford City Council")
    assert len(failures) == 1
    assert f"{path}: turn 2 ('when are you open' -> contact.human)" in failures[0]
    assert "matched contact.opening_hours" in failures[0] and "expected contact.human" in failures[0]


def test_a_wrong_parameter_is_reported(served, tmp_path):
    conversation = conversations.Conversation(
        tmp_path / "p.yaml",
        "faq",
        "parameters",
        "en",
        (conversations.Step("how do I get rid of a sofa", "faq.ask", {"topic": "garden-waste"}, {}),),
    )
    session = Session(
        nlu_for("oxford", "en"),
        url=served.url,
        project=PROJECTS["oxford"],
        username="oxford",
        password=PASSWORDS["oxford"],
    )
    failures = replay(conversation, session, "Oxford City Council")
    assert failures and "parameter 'topic': extracted 'bulky-waste', expected 'garden-waste'" in failures[0]


def test_contexts_carry_between_turns_through_the_webhook(served):
    session = Session(
        nlu_for("oxford", "en"),
        url=served.url,
        project=PROJECTS["oxford"],
        username="oxford",
        password=PASSWORDS["oxford"],
    )
    first = session.say("purple elephants dancing")
    assert first.intent == "fallback.unknown" and first.contexts == {"fallback-misses": 1}
    second = session.say("zzzz qqqq")
    assert "talk to a person" in second.reply  # the webhook saw the count from the first miss
    third = session.say("when are you open")
    assert third.intent == "contact.opening_hours" and "fallback-misses" not in third.contexts


# -- contexts --------------------------------------------------------------------------------------


def test_lifespans_count_down_per_query_and_outputs_replace():
    contexts, session = Contexts(), "projects/p/agent/sessions/s"
    contexts.set("flow", 2, {"step": 1})
    assert contexts.begin_query() == {"flow": {"step": 1}}  # active as an input context
    assert contexts.for_request(session) == [
        {"name": f"{session}/contexts/flow", "lifespanCount": 1, "parameters": {"step": 1}}
    ]
    contexts.end_query()
    assert contexts.begin_query() == {"flow": {"step": 1}}  # its second and last query
    assert contexts.for_request(session)[0]["lifespanCount"] == 0  # listed once more with 0, then gone
    contexts.end_query()
    assert contexts.begin_query() == {}
    contexts.apply_intent([("flow", 5)], {"n": 2}, {"n": "two"}, reset=False)
    assert contexts.active() == {"flow": {"n": 2, "n.original": "two"}}
    contexts.apply_webhook(session, [{"name": f"{session}/contexts/flow", "lifespanCount": 3, "parameters": {"x": 1}}])
    assert contexts.lifespans() == {"flow": 3} and contexts.active()["flow"] == {"x": 1}
    contexts.apply_webhook(session, [{"name": f"{session}/contexts/flow", "lifespanCount": 0}])
    contexts.apply_webhook(session, [{"name": "projects/other/agent/sessions/s/contexts/x", "lifespanCount": 5}])
    assert contexts.active() == {}
    contexts.set("a", 5)
    contexts.apply_intent([("b", 1)], {}, {}, reset=True)
    assert contexts.lifespans() == {"b": 1}


# -- follow-up events and slot filling, against a stub webhook ----------------------------------------


class Stub:
    """A tiny webhook on loopback that records real WebhookRequests and answers by intent."""

    def __init__(self, answers: dict):
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                from google.cloud.dialogflow_v2.types import WebhookRequest

                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                WebhookRequest.from_json(body)  # strict: the simulator sends only real fields
                request = json.loads(body)
                request["_auth"] = self.headers.get("Authorization")
                stub.requests.append(request)
                answer = json.dumps(answers[request["queryResult"]["intent"]["displayName"]]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stubbed():
    export = build_tenant("oxford", TENANTS, LIBRARY)
    export.files["intents/contact.human.json"]["responses"][0]["parameters"] = [
        {
            "name": "day",
            "dataType": "@sys.date",
            "value": "$day",
            "required": True,
            "isList": False,
            "prompts": [{"lang": "en", "value": "Which day?"}],
        }
    ]
    export.files["intents/contact.details.json"]["events"] = [{"name": "SHOW_DETAILS"}]
    nlu = NLU(export, "en")
    session = "projects/townhall-demo-oxford/agent/sessions/stub"
    stub = Stub(
        {
            "contact.opening_hours": {"followupEventInput": {"name": "SHOW_DETAILS", "parameters": {"why": "x"}}},
            "contact.details": {
                "fulfillmentText": "Phone us.",
                "outputContexts": [{"name": f"{session}/contexts/details-shown", "lifespanCount": 2}],
            },
            "contact.human": {"fulfillmentText": "Booked."},
        }
    )
    try:
        yield (
            stub,
            Session(
                nlu,
                url=stub.url,
                project="townhall-demo-oxford",
                username="oxford",
                password="pw",
                session_id="stub",
                now="2026-12-01T10:00:00",
            ),
        )
    finally:
        stub.close()


def test_a_followup_event_is_matched_and_sent_in_the_same_query(stubbed):
    stub, session = stubbed
    result = session.say("when are you open")
    assert result.matched == "contact.opening_hours" and result.events == ["SHOW_DETAILS"]
    assert result.intent == "contact.details" and result.reply == "Phone us."
    assert result.contexts == {"details-shown": 2}
    assert [r["queryResult"]["intent"]["displayName"] for r in stub.requests] == [
        "contact.opening_hours",
        "contact.details",
    ]
    assert stub.requests[1]["queryResult"]["parameters"] == {"why": "x"}
    assert stub.requests[0]["session"] == "projects/townhall-demo-oxford/agent/sessions/stub"
    assert stub.requests[0]["_auth"] == basic("oxford", "pw")


def test_slot_filling_prompts_then_fills_the_parameter(stubbed):
    stub, session = stubbed
    asked = session.say("can i talk to a real person")
    assert asked.slot_filling and asked.reply == "Which day?" and stub.requests == []
    nonsense = session.say("hmm")
    assert nonsense.slot_filling and nonsense.reply == "Which day?"
    done = session.say("tomorrow please")
    assert done.intent == "contact.human" and done.reply == "Booked."
    sent = stub.requests[-1]["queryResult"]
    assert sent["parameters"] == {"day": "2026-12-02T12:00:00+00:00"} and sent["allRequiredParamsPresent"] is True


# -- townhall chat ---------------------------------------------------------------------------------


def test_chat_starts_its_own_webhook_and_talks_welsh():
    done = subprocess.run(
        [TOWNHALL, "chat", "cardiff", "--lang", "cy", "--now", "2026-12-01T10:00"],
        cwd=REPO,
        input="beth yw eich oriau agor\n1\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "development and testing tool" in out and "not a replacement" in out
    assert "Cyngor Caerdydd" in out  # the WELCOME event's greeting, in Welsh
    assert "~ contact.opening_hours" in out
    assert "(1) " in out


def test_chat_without_a_password_says_how_to_give_one(tmp_path):
    doc = dict(TENANT_DOCS["oxford"], demo=False)
    (tmp_path / "oxford.yaml").write_text(json.dumps(doc))
    done = subprocess.run(
        [TOWNHALL, "--tenants-dir", str(tmp_path), "chat", "oxford"],
        cwd=REPO,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "--password-from-env" in done.stderr


def _polling_chat(*flags: str) -> subprocess.CompletedProcess:
    """Chat with oxford through an upstream journey (the fakes are called), with the given flags."""
    return subprocess.run(
        [TOWNHALL, "chat", "oxford", "--now", "2026-04-20T10:00", "--quiet", *flags],
        cwd=REPO,
        input="where do I vote\nAA1 2AA\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_chat_shows_only_the_conversation_by_default():
    done = _polling_chat()
    assert done.returncode == 0, done.stderr
    assert "Sandbox Community Centre" in done.stdout  # the Democracy Club fake answered
    assert "Thursday 7 May 2026" in done.stdout  # dated from --now's day
    assert done.stderr == ""
    everything = done.stdout + done.stderr
    assert "HTTP/1.1" not in everything and "auth_token" not in everything and "key-not-a-secret" not in everything


def test_chat_logs_show_the_fakes_and_the_webhook_when_asked():
    done = _polling_chat("--logs")
    assert done.returncode == 0, done.stderr
    assert "Sandbox Community Centre" in done.stdout
    assert "HTTP/1.1" not in done.stdout  # logs go to stderr, apart from the conversation
    assert "GET /democracyclub/api/v1/postcode/" in done.stderr  # the fakes' access log
    assert "Starting a local webhook" in done.stderr
    assert '"message":"turn"' in done.stderr  # the webhook's log lines
