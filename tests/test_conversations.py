"""Every scripted conversation in the library, replayed through the served webhook over HTTP.

Each conversation runs for every example tenant that enables its process (or the tenants it
names), with the upstream fakes behind the webhook, contexts carried between turns as Dialogflow
carries them, and every response checked strictly as a WebhookResponse.
"""

from __future__ import annotations

import json

import pytest
import requests
from support import PROJECTS, TENANTS, auth_for, check_response

from townhall.library import default_library
from townhall.yamlio import load_yaml
from townhall_tools import conversations

LIBRARY = default_library()
TENANT_DOCS = {p.stem: load_yaml(p) for p in sorted(TENANTS.glob("*.yaml"))}
CASES = conversations.cases(LIBRARY, TENANT_DOCS)


def council_name(tenant: str, language: str) -> str:
    doc = TENANT_DOCS[tenant]
    return doc.get("name_cy") or doc["name"] if language == "cy" else doc["name"]


def webhook(url: str, tenant: str = "oxford"):
    """A ``send`` for ``conversations.replay``: each turn posted to the webhook as the tenant's agent."""
    session = requests.Session()

    def send(body: dict, now: str | None) -> dict:
        headers = {"Content-Type": "application/json", **auth_for(tenant)}
        return session.post(url, data=json.dumps(body), timeout=10, headers=headers).json()

    return send


@pytest.mark.parametrize(("conversation", "tenant"), CASES, ids=[f"{c.name}[{t}]" for c, t in CASES])
def test_conversation(conversation, tenant, served, served_fakes):
    session = requests.Session()

    def send(body: dict, now: str | None) -> dict:
        headers = {"Content-Type": "application/json", **auth_for(tenant)}
        if now:
            headers["X-Townhall-Now"] = now
        r = session.post(served.url, data=json.dumps(body), headers=headers, timeout=10)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        return check_response(r.content, body["session"])

    failures = conversations.replay(
        conversation,
        PROJECTS[tenant],
        council_name(tenant, conversation.language),
        send,
        conversations.event_intents(LIBRARY),
        session_id=f"conv-{abs(hash((conversation.name, tenant))) % 10**8}",
        received=lambda: conversations.received(served_fakes.url),
    )
    assert not failures, "\n".join(failures)


def test_every_process_has_a_conversation():
    """Each process with intents residents can reach ships at least one scripted conversation."""
    have = {c.process for c in conversations.load_all(LIBRARY)}
    missing = sorted(set(LIBRARY.processes) - have)
    assert not missing, f"processes without library/<id>/conversations/*.yaml: {missing}"


def test_the_replay_catches_a_wrong_expectation(served):
    """The replay is not vacuous: an expectation the reply fails is reported, naming the turn."""
    conversation = conversations.Conversation(
        TENANTS / "oxford.yaml",
        "welcome",
        "checks the checker",
        "en",
        (conversations.Step("hi", "welcome.hello", {}, {"says": ["no council says this phrase"]}),),
    )
    send = webhook(served.url)

    failures = conversations.replay(conversation, PROJECTS["oxford"], "Oxford", send, {}, "conv-check")
    assert failures and "turn 1" in failures[0] and "no council says this phrase" in failures[0]


def test_sent_counts_what_the_fakes_received_and_is_checked(served, served_fakes):
    """``expect: sent`` compares what the upstream fakes accepted during the turn: a greeting sends
    nothing, so ``sent: 0`` holds and ``sent: {open311: 1}`` is reported, naming the turn."""
    counts = conversations.received(served_fakes.url)
    assert set(counts) == {"open311", "notify", "pay"} and all(n >= 0 for n in counts.values())
    assert conversations.check_sent(0, counts, counts) == []
    assert conversations.check_sent({"notify": 1}, {**counts}, {**counts, "notify": counts["notify"] + 1}) == []
    assert "expected 0" in conversations.check_sent(0, counts, {**counts, "pay": counts["pay"] + 1})[0]
    send = webhook(served.url)

    def play(sent):
        conversation = conversations.Conversation(
            TENANTS / "oxford.yaml",
            "welcome",
            "checks sent",
            "en",
            (conversations.Step("hi", "welcome.hello", {}, {"sent": sent}),),
        )
        return conversations.replay(
            conversation,
            PROJECTS["oxford"],
            "Oxford",
            send,
            {},
            "conv-sent",
            lambda: conversations.received(served_fakes.url),
        )

    assert play(0) == [] and play({"notify": 0, "pay": 0}) == []
    failures = play({"open311": 1})
    assert failures and "turn 1" in failures[0] and "0 sent to open311 during the turn, expected 1" in failures[0]
    unsupported = conversations.replay(
        conversations.Conversation(
            TENANTS / "oxford.yaml", "welcome", "x", "en", (conversations.Step("hi", "welcome.hello", {}, {"sent": 0}),)
        ),
        PROJECTS["oxford"],
        "Oxford",
        send,
        {},
        "conv-sent-2",
    )
    assert unsupported and "cannot count" in unsupported[0]
