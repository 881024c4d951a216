"""callback: the journey against the GOV.UK Notify fake (served over loopback HTTP)."""

from __future__ import annotations

import time

import pytest
import requests

from townhall.contract import Link, Reply
from townhall.library import default_library
from townhall_tools.testing import sandbox_upstream, settings_for, tenant_doc, turn

PROCESS = default_library().processes["callback"]
handle = PROCESS.handler
module = __import__(handle.__module__, fromlist=["phone_in"])
DETAILS = {
    "given_name": "Sam Patel",
    "given_phone": "07700 900123",
    "given_time": "mornings",
    "given_topic": "my council tax",
}


@pytest.fixture
def ask(served_fakes, tmp_path):
    upstreams = {}

    def ask(
        intent, parameters=None, *, text="", tenant="oxford", language="en", context=None, settings=None, chat="c1"
    ):
        doc = tenant_doc(tenant)
        if settings is not None:
            doc["processes"]["callback"] = settings
        up = upstreams.setdefault(tenant, sandbox_upstream(tenant, tmp_path / tenant))
        built = settings_for("callback", doc, language=language, fakes=served_fakes.url, upstream=up)
        t = turn(
            f"callback.{intent}",
            parameters,
            text=text or intent,
            language=language,
            contexts={"callback": context} if context is not None else None,
        )
        return handle(t._replace(conversation=chat), built)

    return ask


def kept(reply: Reply) -> dict:
    return next((dict(c.parameters) for c in reply.contexts if c.name == "callback" and c.lifespan > 0), {})


def sent_to(served_fakes, address: str) -> list[dict]:
    found = requests.get(f"{served_fakes.url}/notify/_received", timeout=5).json()["notifications"]
    return [n for n in found if n.get("to") == address]


def test_a_form_url_is_linked_and_nothing_is_collected(ask):
    reply = ask("request", text="can someone call me back", settings={"form_url": "https://example.org/demo/callback"})
    assert reply.links == (Link("Ask for a call back", "https://example.org/demo/callback"),)
    assert kept(reply) == {}


def test_the_details_are_asked_one_at_a_time_and_a_number_given_first_is_kept(ask):
    reply = ask("request", text="can you ring me back on 01632 960 123")
    assert reply.text[-1] == "What's your name?"
    assert kept(reply) == {"given_phone": "01632 960123", "step": "name"}
    reply = ask("answer", text="my name is Jane Smith", context=kept(reply))
    assert kept(reply)["given_name"] == "Jane Smith"
    assert reply.text[-1].startswith("When's a good time")


def test_a_number_that_is_not_one_is_asked_again_with_the_format(ask):
    reply = ask("answer", text="0770", context={"given_name": "Jo", "step": "phone"})
    assert "doesn't look like a UK phone number" in reply.text[0]
    assert kept(reply)["step"] == "phone"


@pytest.mark.parametrize(
    ("text", "parameter", "expected"),
    [
        ("07700 900123", None, "07700 900123"),
        ("ring me on +44 7700 900123", None, "07700 900123"),
        ("fy rhif i yw 01632960123", None, "01632 960123"),
        ("its (01632) 960-123", None, "01632 960123"),
        ("call me", "07700900456", "07700 900456"),
        ("12345", None, None),
    ],
)
def test_phone_numbers_are_read_from_the_words_too(text, parameter, expected):
    given = turn("callback.answer", {"phone": parameter} if parameter else None, text=text)
    assert module.phone_in(given) == expected


def test_a_number_dialogflow_puts_in_the_context_does_not_replace_the_one_given(ask):
    """Dialogflow adds a matched intent's parameters (``phone``) to the active contexts."""
    context = {"given_name": "Jo", "given_phone": "07700 900123", "phone": "01632 960999", "step": "time"}
    reply = ask("answer", {"phone": "01632 960999"}, text="after 3, or ring 01632 960999", context=context)
    assert kept(reply)["given_phone"] == "07700 900123"
    assert kept(reply)["given_time"] == "after 3, or ring 01632 960999"


def test_the_summary_offers_yes_and_no_in_the_turn_s_language(ask):
    reply = ask(
        "answer", text="fy nhreth gyngor", language="cy", tenant="cardiff", context={**DETAILS, "step": "topic"}
    )
    assert reply.quick_replies == ("Ydw, anfonwch e", "Na, peidiwch â'i anfon")
    assert kept(reply)["step"] == "confirm"


def test_yes_sends_once_to_the_team(ask, served_fakes):
    before = len(sent_to(served_fakes, "demo-oxford-callbacks@example.org"))
    first = ask("confirm", text="Yes, send it", context={**DETAILS, "step": "confirm"})
    again = ask("confirm", text="yes", context={**DETAILS, "step": "confirm"})
    assert "Your reference is CB-" in first.text[0]
    assert first.text == again.text
    [notification] = sent_to(served_fakes, "demo-oxford-callbacks@example.org")[before:]
    assert "Name: Sam Patel" in notification["personalisation"]["summary"]
    assert notification["reference"].startswith("CB-")


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        ("decline", "No, don't send it"),
        ("decline", "actually forget it"),
        ("confirm", "yes but change the time"),
        ("confirm", "hmm no, don't send it after all"),
        ("answer", "maybe"),
        ("decline", "yes send it"),  # the words and the intent disagree: asked again, not sent
    ],
)
def test_nothing_is_sent_without_an_unambiguous_yes(ask, served_fakes, intent, text):
    before = len(sent_to(served_fakes, "demo-oxford-callbacks@example.org"))
    reply = ask(intent, text=text, context={**DETAILS, "step": "confirm"}, chat=f"no-{text}")
    assert "reference" not in " ".join(reply.text)
    assert len(sent_to(served_fakes, "demo-oxford-callbacks@example.org")) == before


def test_a_decline_while_a_detail_is_asked_ends_the_journey(ask):
    reply = ask("decline", text="never mind", context={"given_name": "Jo", "step": "phone"})
    assert reply.text[0] == "OK, I haven't sent anything."
    assert kept(reply) == {}


def test_notify_failing_says_so_and_keeps_the_request(ask):
    settings = {**tenant_doc("oxford")["processes"]["callback"], "team_email": "fail-500@example.org"}
    reply = ask("confirm", text="yes", context={**DETAILS, "step": "confirm"}, settings=settings)
    assert reply.text[0].startswith("Sorry, I couldn't send your request")
    assert "01632 960001" in reply.text[1]
    assert kept(reply)["step"] == "confirm"


def test_a_request_sent_but_unanswered_may_have_arrived_and_is_never_sent_twice(ask, served_fakes):
    # The Notify fake sends to slow@example.org, then answers after the turn's deadline.
    settings = {**tenant_doc("oxford")["processes"]["callback"], "team_email": "slow@example.org"}
    before = len(sent_to(served_fakes, "slow@example.org"))
    reply = ask("confirm", text="yes", context={**DETAILS, "step": "confirm"}, settings=settings, chat="late")
    assert reply.text[0].startswith("Sorry, I didn't hear back in time, so your request may already have reached")
    assert kept(reply)["step"] == "confirm"
    soon = ask("confirm", text="Yes, send it", context={**DETAILS, "step": "confirm"}, settings=settings, chat="late")
    assert soon.text[0] == reply.text[0]  # not found yet: still unknown, and not sent again
    for _ in range(40):  # Notify has it once the fake has answered (4.5 s): 8 s at most
        if len(sent_to(served_fakes, "slow@example.org")) > before:
            break
        time.sleep(0.2)
    again = ask("confirm", text="Yes, send it", context={**DETAILS, "step": "confirm"}, settings=settings, chat="late")
    assert "Your reference is CB-" in again.text[0]  # found by its reference, not sent again
    assert len(sent_to(served_fakes, "slow@example.org")) == before + 1
