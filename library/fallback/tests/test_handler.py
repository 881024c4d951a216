"""fallback.unknown: the menu on a first miss, a person after repeated misses in a row."""

from __future__ import annotations

import re

import pytest

from townhall.contract import Link, OutputContext, Reply
from townhall.library import default_library
from townhall_tools.testing import settings_for, tenant_doc, turn

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
MISSES = "fallback-misses"
MENU = ("welcome", "fallback", "contact", "faq")  # the processes whose labels these tests expect


def miss(tenant="oxford", language="en", count=None, override=None, text="blah blah") -> Reply:
    """One unmatched turn; ``count`` is the fallback-misses context's count from the previous turn."""
    handle = default_library().processes["fallback"].handler
    contexts = None if count is None else {MISSES: {"count": count}}
    settings = settings_for("fallback", tenant_doc(tenant, only=MENU), language=language, override=override)
    reply = handle(turn("fallback.unknown", text=text, language=language, contexts=contexts), settings)
    assert isinstance(reply, Reply)
    for line in (*reply.text, *reply.quick_replies, *(link.title for link in reply.links)):
        assert not PLACEHOLDER.search(line), f"unfilled placeholder in {line!r}"
    return reply


def without_contact(base="oxford") -> dict:
    doc = tenant_doc(base)
    doc["processes"] = {k: v for k, v in doc["processes"].items() if k != "contact"}
    return doc


def counted(reply: Reply) -> int:
    (context,) = reply.contexts
    assert context.name == MISSES
    assert context.lifespan == 1
    return context.parameters["count"]


# -- first miss ------------------------------------------------------------------------------


def test_first_miss_sets_the_misses_context_for_one_turn():
    reply = miss()
    assert reply.contexts == (OutputContext(MISSES, 1, {"count": 1}),)


def test_first_miss_offers_the_menu():
    reply = miss()
    assert reply.text[:2] == (
        "Sorry, I didn't understand that.",
        "Could you say it another way? I can help with: Contact the council, Common questions.",
    )
    assert reply.text[2].startswith("You can contact Oxford City Council by phone on 01632 960001")
    assert reply.quick_replies == ("Contact the council", "Common questions")
    assert reply.links  # the web form and website, so the contact route is there from the first miss


def test_first_miss_without_menu_processes_asks_to_rephrase():
    doc = tenant_doc("oxford")
    doc["processes"] = {"welcome": {}, "fallback": {}}
    reply = miss(doc)
    assert reply.text[:2] == ("Sorry, I didn't understand that.", "Could you say it another way, in a few words?")
    assert "01632 960001" in reply.text[2]
    assert reply.quick_replies == ()
    assert counted(reply) == 1


# -- second miss in a row ----------------------------------------------------------------------


def test_second_miss_in_a_row_offers_a_person_with_contact_details():
    reply = miss(count=1)
    assert reply.text[0] == "I'm sorry I couldn't help. You can talk to a person instead."
    assert "01632 960001" in reply.text[1]
    assert "demo-oxford@example.org" in reply.text[1]
    assert reply.text[1].startswith("You can contact Oxford City Council ")
    assert reply.quick_replies == ("Speak to someone",)
    assert reply.links == (
        Link("Contact form", "https://example.org/demo/oxford/contact"),
        Link("Council website", "https://example.org/demo/oxford"),
    )
    assert counted(reply) == 2


def test_count_from_dialogflow_as_a_float_still_counts():
    # Dialogflow returns context parameters as JSON numbers, which arrive as 1.0.
    reply = miss(count=1.0)
    assert reply.quick_replies == ("Speak to someone",)
    assert counted(reply) == 2


def test_no_speak_to_someone_choice_when_contact_is_not_enabled():
    reply = miss(without_contact(), count=1)
    assert reply.quick_replies == ()
    assert reply.text[0] == "I'm sorry I couldn't help. You can talk to a person instead."
    assert "01632 960001" in reply.text[1]
    assert "demo-oxford@example.org" in reply.text[1]


def test_no_speak_to_someone_choice_when_contact_is_switched_off():
    doc = tenant_doc("oxford")
    doc["processes"]["contact"] = {**doc["processes"]["contact"], "enabled": False}
    reply = miss(doc, count=1)
    assert reply.quick_replies == ()
    assert "01632 960001" in reply.text[1]


def test_later_misses_keep_offering_a_person_and_counting():
    reply = miss(count=4)
    assert reply.quick_replies == ("Speak to someone",)
    assert counted(reply) == 5


# -- offer_human_after -----------------------------------------------------------------------


def test_offer_human_after_one_offers_a_person_on_the_first_miss():
    reply = miss(override={"offer_human_after": 1})
    assert reply.quick_replies == ("Speak to someone",)
    assert "01632 960001" in reply.text[1]
    assert counted(reply) == 1


@pytest.mark.parametrize("count", [1, 2])
def test_offer_human_after_three_waits_for_the_third_miss(count):
    reply = miss(override={"offer_human_after": 3}, count=count)
    if count == 1:
        assert reply.quick_replies == ("Contact the council", "Common questions")
        assert reply.text[0] == "Sorry, I didn't understand that."
    else:
        assert reply.quick_replies == ("Speak to someone",)
        assert reply.text[0] == "I'm sorry I couldn't help. You can talk to a person instead."
    assert counted(reply) == count + 1


def test_default_is_two_misses():
    # cardiff sets no offer_human_after
    assert miss("cardiff").quick_replies == ("Contact the council", "Common questions")
    assert miss("cardiff", count=1).quick_replies == ("Speak to someone",)


# -- garbage in the context ------------------------------------------------------------------


@pytest.mark.parametrize("count", ["1", "lots", -1, -5.5, None, float("nan"), [1], {"n": 1}])
def test_garbage_count_is_treated_as_a_first_miss(count):
    handle = default_library().processes["fallback"].handler
    # build the context directly so that None is kept as a value
    t = turn("fallback.unknown", contexts={MISSES: {"count": count}})
    reply = handle(t, settings_for("fallback", tenant_doc("oxford", only=MENU)))
    assert reply.quick_replies == ("Contact the council", "Common questions")
    assert counted(reply) == 1


def test_context_without_a_count_is_a_first_miss():
    handle = default_library().processes["fallback"].handler
    settings = settings_for("fallback", tenant_doc("oxford", only=MENU))
    reply = handle(turn("fallback.unknown", contexts={MISSES: {}}), settings)
    assert reply.quick_replies == ("Contact the council", "Common questions")
    assert counted(reply) == 1


def test_infinite_count_is_treated_as_a_first_miss():
    reply = miss(count=float("inf"))
    assert counted(reply) == 1


def test_boolean_count_is_treated_as_a_first_miss():
    reply = miss(count=True)
    assert counted(reply) == 1


def test_other_contexts_do_not_count_as_misses():
    handle = default_library().processes["fallback"].handler
    t = turn("fallback.unknown", contexts={"faq-followup": {"count": 3}})
    reply = handle(t, settings_for("fallback", tenant_doc("oxford", only=MENU)))
    assert counted(reply) == 1


# -- Welsh -----------------------------------------------------------------------------------


def test_first_miss_in_welsh():
    reply = miss("cardiff", "cy")
    assert reply.text[2].startswith("Gallwch gysylltu â'r cyngor ")
    assert reply.text[:2] == (
        "Mae'n ddrwg gen i, wnes i ddim deall hynny.",
        "Allwch chi ei ddweud mewn ffordd arall? Gallaf helpu gyda: Cysylltu â'r cyngor, Cwestiynau cyffredin.",
    )
    assert reply.quick_replies == ("Cysylltu â'r cyngor", "Cwestiynau cyffredin")


def test_second_miss_in_welsh_offers_a_person_in_welsh():
    reply = miss("cardiff", "cy", count=1)
    assert reply.text[0] == "Mae'n ddrwg gen i na allwn i helpu. Gallwch siarad â pherson yn lle hynny."
    assert reply.text[1].startswith("Gallwch gysylltu â'r cyngor ")
    assert "dros y ffôn ar 01632 960002" in reply.text[1]
    assert "drwy e-bost yn demo-cardiff@example.org" in reply.text[1]
    assert reply.quick_replies == ("Siarad â rhywun",)
    assert reply.links == (
        Link("Ffurflen gyswllt", "https://example.org/demo/cardiff/contact"),
        Link("Gwefan y cyngor", "https://example.org/demo/cardiff"),
    )


def test_second_miss_in_english_for_cardiff_names_the_council():
    reply = miss("cardiff", "en", count=1)
    assert reply.text[1].startswith("You can contact Cardiff Council ")
    assert reply.quick_replies == ("Speak to someone",)
