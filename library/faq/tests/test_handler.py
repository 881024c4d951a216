"""faq.ask and faq.list: the council's own questions and answers, from settings."""

from __future__ import annotations

import copy
import re

import pytest

from townhall.contract import Link, Reply
from townhall.library import default_library
from townhall_tools.testing import settings_for, tenant_doc, turn

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
OXFORD_QUESTIONS = (
    "How do I sign up for garden waste collections?",
    "How do I get rid of a sofa or fridge?",
    "How do I apply for a residents' parking permit?",
)
CARDIFF_QUESTIONS_CY = (
    "Ble galla i gael rhagor o fagiau ailgylchu gwyrdd?",
    "Sut ydw i'n dod o hyd i fy mand treth gyngor?",
)
NOT_FOUND = "Sorry, I don't have an answer to that question."
LIST_INTRO = "Here are some questions I can answer. Choose one, or ask me in your own words."


def ask(text="", topic=None, tenant="oxford", language="en", override=None, action="ask") -> Reply:
    handle = default_library().processes["faq"].handler
    settings = settings_for("faq", tenant, language=language, override=override)
    reply = handle(turn(f"faq.{action}", {"topic": topic}, text=text, language=language), settings)
    assert isinstance(reply, Reply)
    for line in (*reply.text, *reply.quick_replies, *(link.title for link in reply.links)):
        assert not PLACEHOLDER.search(line), f"unfilled placeholder in {line!r}"
    return reply


def entries(tenant: str) -> list[dict]:
    return tenant_doc(tenant)["processes"]["faq"]["entries"]


# -- picking the entry ----------------------------------------------------------------------------


def test_topic_parameter_picks_the_entry():
    reply = ask("something else entirely", topic="bulky-waste")
    assert reply.text == (
        "We collect large household items such as furniture and fridges for a fee. Book a bulky "
        "waste collection online and leave the items outside on the day.",
        "Find out more below.",
    )
    assert reply.links == (Link("Book a bulky waste collection", "https://example.org/demo/oxford/bulky-waste"),)
    assert reply.quick_replies == ("Ask another question",)


def test_unknown_topic_falls_back_to_the_words():
    reply = ask("I need a parking permit", topic="no-such-topic")
    assert reply.text[0].startswith("If you live in a controlled parking zone")


def test_non_string_topic_falls_back_to_the_words():
    reply = ask("my brown bin", topic=["bulky-waste"])
    assert reply.text[0].startswith("Garden waste collection is a paid service")


@pytest.mark.parametrize("question", OXFORD_QUESTIONS)
def test_question_typed_exactly_matches(question):
    reply = ask(question)
    expected = next(e for e in entries("oxford") if e["question"]["en"] == question)
    assert reply.text[0] == expected["answer"]["en"]


def test_question_typed_in_another_case_without_punctuation_matches():
    assert ask("HOW DO I GET RID OF A SOFA OR FRIDGE").text[0].startswith("We collect large household items")


def test_keyword_in_a_sentence_matches():
    reply = ask("Can I get my brown bin emptied?")
    assert reply.text[0].startswith("Garden waste collection is a paid service")
    assert reply.links == (Link("Subscribe to garden waste", "https://example.org/demo/oxford/garden-waste"),)


def test_keyword_my_brown_bin():
    assert ask("my brown bin").text[0].startswith("Garden waste collection is a paid service")


def test_keywords_match_in_any_case():
    assert ask("MATTRESS collection please").text[0].startswith("We collect large household items")


def test_most_of_the_question_words_match_without_a_keyword():
    # no keyword of any entry appears, but the words cover the question
    reply = ask("sign up for collections of garden refuse")
    assert reply.text[0].startswith("Garden waste collection")


def test_unrelated_text_is_not_found_and_offers_the_questions():
    reply = ask("What time is the football on?")
    assert reply.text == (NOT_FOUND, LIST_INTRO)
    assert reply.quick_replies == OXFORD_QUESTIONS
    assert reply.links == ()


def test_empty_text_without_a_topic_is_not_found():
    reply = ask("")
    assert reply.text == (NOT_FOUND, LIST_INTRO)


def test_only_stopwords_is_not_found():
    assert ask("how do I do it?").text[0] == NOT_FOUND


def test_keyword_inside_another_word_does_not_match():
    reply = ask("Is there broadband in the library?", tenant="cardiff")
    assert reply.text == (NOT_FOUND, LIST_INTRO)


# -- answers ----------------------------------------------------------------------------------------


def test_answer_without_links_has_no_find_out_more():
    reply = ask(topic="council-tax-band", tenant="cardiff")
    assert reply.text == (
        "Council tax bands are set by the Valuation Office Agency. You can look up your home's band online.",
    )
    assert reply.links == ()
    assert reply.quick_replies == ("Ask another question",)


def test_links_are_rendered_as_link_title_and_url():
    override = copy.deepcopy(tenant_doc("oxford")["processes"]["faq"])
    override["entries"][0]["links"].append(
        {"title": {"en": "Garden waste calendar"}, "url": "https://example.org/demo/oxford/calendar"}
    )
    reply = ask(topic="garden-waste", override=override)
    assert reply.links == (
        Link("Subscribe to garden waste", "https://example.org/demo/oxford/garden-waste"),
        Link("Garden waste calendar", "https://example.org/demo/oxford/calendar"),
    )
    assert all(isinstance(link, Link) for link in reply.links)
    assert reply.text[-1] == "Find out more below."


def test_answers_set_no_contexts():
    reply = ask(topic="garden-waste")
    assert reply.contexts == () and reply.event is None


# -- faq.list -------------------------------------------------------------------------------------


def test_list_offers_the_questions():
    reply = ask(action="list")
    assert reply.text == (LIST_INTRO,)
    assert reply.quick_replies == OXFORD_QUESTIONS


def test_list_offers_at_most_ten_questions():
    many = [
        {"id": f"topic-{i:02d}", "question": {"en": f"Question number {i}?"}, "answer": {"en": f"Answer {i}."}}
        for i in range(12)
    ]
    reply = ask(action="list", override={"entries": many})
    assert reply.quick_replies == tuple(f"Question number {i}?" for i in range(10))


def test_not_found_also_offers_at_most_ten_questions():
    many = [
        {"id": f"topic-{i:02d}", "question": {"en": f"Question number {i}?"}, "answer": {"en": f"Answer {i}."}}
        for i in range(15)
    ]
    reply = ask("football", override={"entries": many})
    assert reply.text[0] == NOT_FOUND
    assert len(reply.quick_replies) == 10


@pytest.mark.parametrize(("tenant", "language"), [("oxford", "en"), ("cardiff", "en"), ("cardiff", "cy")])
def test_every_listed_question_when_chosen_gives_its_answer(tenant, language):
    listed = ask(action="list", tenant=tenant, language=language).quick_replies
    for entry, question in zip(entries(tenant), listed):
        reply = ask(question, tenant=tenant, language=language)
        assert reply.text[0] == entry["answer"].get(language, entry["answer"]["en"])


# -- Welsh --------------------------------------------------------------------------------------------


def test_welsh_answer_and_link_title():
    reply = ask(topic="recycling-bags", tenant="cardiff", language="cy")
    assert reply.text == (
        "Gallwch gasglu bagiau ailgylchu gwyrdd am ddim o unrhyw lyfrgell neu hyb, neu eu harchebu ar-lein i'w danfon.",
        "Mae rhagor o wybodaeth isod.",
    )
    assert reply.links == (Link("Archebu bagiau ailgylchu", "https://example.org/demo/cardiff/recycling-bags"),)
    assert reply.quick_replies == ("Gofyn cwestiwn arall",)


def test_english_turn_for_cardiff_answers_in_english():
    reply = ask(topic="recycling-bags", tenant="cardiff", language="en")
    assert reply.text[0].startswith("You can pick up green recycling bags free of charge")
    assert reply.links[0].title == "Order recycling bags"


def test_welsh_keyword_matches():
    reply = ask("Oes modd cael band treth gyngor?", tenant="cardiff", language="cy")
    assert reply.text[0].startswith("Asiantaeth y Swyddfa Brisio")


def test_english_keyword_matches_in_a_welsh_conversation():
    reply = ask("recycling bags", tenant="cardiff", language="cy")
    assert reply.text[0].startswith("Gallwch gasglu bagiau ailgylchu")


def test_welsh_question_typed_exactly_matches():
    reply = ask(CARDIFF_QUESTIONS_CY[1], tenant="cardiff", language="cy")
    assert reply.text[0].startswith("Asiantaeth y Swyddfa Brisio")


def test_welsh_list_and_not_found():
    listed = ask(action="list", tenant="cardiff", language="cy")
    assert listed.text == (
        "Dyma rai cwestiynau y gallaf eu hateb. Dewiswch un, neu gofynnwch yn eich geiriau eich hun.",
    )
    assert listed.quick_replies == CARDIFF_QUESTIONS_CY
    missing = ask("pêl-droed", tenant="cardiff", language="cy")
    assert missing.text[0] == "Mae'n ddrwg gen i, does gen i ddim ateb i'r cwestiwn hwnnw."
    assert missing.quick_replies == CARDIFF_QUESTIONS_CY


def test_a_single_word_from_a_question_finds_it():
    reply = ask("parking")
    assert reply.text[0].startswith("If you live in a controlled parking zone")
