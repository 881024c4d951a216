"""welcome.hello: the greeting, the council's services as quick replies, the optional note."""

from __future__ import annotations

import re

import pytest

from townhall.contract import Reply
from townhall.library import default_library
from townhall.testing import settings_for, tenant_doc, turn

PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def hello(tenant="oxford", language="en", override=None) -> Reply:
    handle = default_library().processes["welcome"].handler
    settings = settings_for("welcome", tenant, language=language, override=override)
    reply = handle(turn("welcome.hello", language=language), settings)
    assert isinstance(reply, Reply)
    for line in (*reply.text, *reply.quick_replies):
        assert not PLACEHOLDER.search(line), f"unfilled placeholder in {line!r}"
    return reply


def core(base: str) -> dict:
    """An example tenant with only the processes these tests name, so the services they expect
    stay the same when the example tenants switch more processes on."""
    doc = tenant_doc(base)
    doc["processes"] = {k: v for k, v in doc["processes"].items() if k in ("welcome", "fallback", "contact", "faq")}
    return doc


def tenant_with(processes: dict, base: str = "oxford") -> dict:
    doc = tenant_doc(base)
    doc["processes"] = processes
    return doc


@pytest.mark.parametrize(
    ("tenant", "language", "name"),
    [("oxford", "en", "Oxford City Council"), ("cardiff", "en", "Cardiff Council"), ("cardiff", "cy", "Cyngor Caerdydd")],
)
def test_greets_with_the_council_name_in_the_turn_language(tenant, language, name):
    reply = hello(tenant, language)
    assert name in reply.text[0]
    assert reply.text[0].startswith("Hello, I'm the" if language == "en" else "Helo, fi yw")


def test_greeting_says_it_is_a_computer_and_a_person_is_available():
    greeting = hello("oxford").text[0]
    assert "computer program" in greeting
    assert "speak to a person" in greeting


def test_quick_replies_are_the_enabled_services_in_english():
    reply = hello(core("oxford"))
    assert reply.quick_replies == ("Contact the council", "Common questions")
    assert reply.text[-1] == "I can help with: Contact the council, Common questions. What would you like to do?"


def test_quick_replies_are_the_services_in_welsh_for_a_welsh_turn():
    reply = hello(core("cardiff"), "cy")
    assert reply.quick_replies == ("Cysylltu â'r cyngor", "Cwestiynau cyffredin")
    assert reply.text[-1] == (
        "Gallaf helpu gyda: Cysylltu â'r cyngor, Cwestiynau cyffredin. Beth hoffech chi ei wneud?"
    )


def test_switched_off_process_is_not_offered():
    doc = core("oxford")
    doc["processes"]["contact"] = {**doc["processes"]["contact"], "enabled": False}
    reply = hello(doc)
    assert reply.quick_replies == ("Common questions",)
    assert "Contact the council" not in " ".join(reply.text)


def test_note_follows_the_greeting_in_each_language():
    english = hello("cardiff", "en")
    welsh = hello("cardiff", "cy")
    assert english.text[1] == "You can talk to me in English or Welsh."
    assert welsh.text[1] == "Gallwch siarad â mi yn Gymraeg neu yn Saesneg."
    assert len(english.text) == len(welsh.text) == 3


def test_note_without_welsh_falls_back_to_english():
    reply = hello("cardiff", "cy", override={"note": {"en": "Offices are closed on Friday."}})
    assert reply.text[1] == "Offices are closed on Friday."


def test_no_note_means_greeting_then_offer():
    reply = hello("oxford")
    assert len(reply.text) == 2
    assert reply.text[1].startswith("I can help with:")


def test_tenant_without_menu_processes_asks_an_open_question():
    doc = tenant_with({"welcome": {}, "fallback": {}})
    reply = hello(doc)
    assert reply.quick_replies == ()
    assert reply.text == (
        "Hello, I'm the Oxford City Council virtual assistant. I'm a computer program, and you can "
        "ask to speak to a person at any time.",
        "How can I help you today?",
    )


def test_open_question_in_welsh():
    doc = tenant_with({"welcome": {}, "fallback": {}}, base="cardiff")
    reply = hello(doc, "cy")
    assert reply.quick_replies == ()
    assert reply.text[-1] == "Sut gallaf eich helpu heddiw?"


def test_sets_no_contexts_and_no_event():
    reply = hello("cardiff", "cy")
    assert reply.contexts == ()
    assert reply.event is None
    assert reply.links == ()
