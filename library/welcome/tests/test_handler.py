"""welcome: the greeting, the council's services as quick replies, the optional note; start again
and cancel at any step."""

from __future__ import annotations

import re

import pytest

from townhall.contract import Reply
from townhall.library import default_library
from townhall_tools.testing import settings_for, tenant_doc, turn

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
MENU = ("welcome", "fallback", "contact", "faq")  # the processes whose labels these tests expect


def handle(turn_, settings):
    return default_library().processes["welcome"].handler(turn_, settings)


def hello(tenant="oxford", language="en", override=None) -> Reply:
    handle = default_library().processes["welcome"].handler
    settings = settings_for("welcome", tenant_doc(tenant, only=MENU), language=language, override=override)
    reply = handle(turn("welcome.hello", language=language), settings)
    assert isinstance(reply, Reply)
    for line in (*reply.text, *reply.quick_replies):
        assert not PLACEHOLDER.search(line), f"unfilled placeholder in {line!r}"
    return reply


def tenant_with(processes: dict, base: str = "oxford") -> dict:
    doc = tenant_doc(base)
    doc["processes"] = processes
    return doc


@pytest.mark.parametrize(
    ("tenant", "language", "name"),
    [
        ("oxford", "en", "Oxford City Council"),
        ("cardiff", "en", "Cardiff Council"),
        ("cardiff", "cy", "Cyngor Caerdydd"),
    ],
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
    reply = hello("oxford")
    assert reply.quick_replies == ("Contact the council", "Common questions")
    assert reply.text[-1] == "I can help with: Contact the council, Common questions. What would you like to do?"


def test_quick_replies_are_the_services_in_welsh_for_a_welsh_turn():
    reply = hello("cardiff", "cy")
    assert reply.quick_replies == ("Cysylltu â'r cyngor", "Cwestiynau cyffredin")
    assert reply.text[-1] == (
        "Gallaf helpu gyda: Cysylltu â'r cyngor, Cwestiynau cyffredin. Beth hoffech chi ei wneud?"
    )


def test_switched_off_process_is_not_offered():
    doc = tenant_doc("oxford", only=MENU)
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


def test_start_again_clears_every_flow_context_but_not_dialogflows_own():
    reply = handle(
        turn(
            "welcome.start_again",
            contexts={
                "bin_collection-address": {"postcode": "OX1 1BX"},
                "report_problem-details": {},
                "__system_counters__": {},
                "abc_id_dialog_context": {},
            },
        ),
        settings_for("welcome", "oxford"),
    )
    cleared = {(c.name, c.lifespan) for c in reply.contexts}
    assert cleared == {("bin_collection-address", 0), ("report_problem-details", 0)}
    assert reply.text[0] == "OK, let's start again." and "Contact the council" in reply.quick_replies


def test_cancel_clears_contexts_and_offers_the_menu_in_welsh():
    reply = handle(
        turn("welcome.cancel", language="cy", contexts={"council_tax-payment": {"amount": 100}}),
        settings_for("welcome", "cardiff", language="cy"),
    )
    assert [(c.name, c.lifespan) for c in reply.contexts] == [("council_tax-payment", 0)]
    assert "stopio" in reply.text[0] and reply.quick_replies


def test_start_again_with_nothing_active_sets_no_contexts():
    reply = handle(turn("welcome.start_again"), settings_for("welcome", "oxford"))
    assert reply.contexts == ()
