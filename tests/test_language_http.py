"""Changing language over real HTTP: the language process sets townhall-language, and the webhook
answers later turns in the language it names when the council offers it."""

from __future__ import annotations


def _language_context(data: dict) -> tuple[str, int]:
    (found,) = [c for c in data.get("outputContexts", []) if c["name"].endswith("/contexts/townhall-language")]
    return found["parameters"]["language"], found["lifespanCount"]


def test_switching_to_welsh_answers_in_welsh_and_sets_the_context(http):
    data = http.turn("cardiff", "language.switch", text="can we talk in Welsh please", language_code="en")
    assert "Gymraeg" in data["fulfillmentText"]
    assert "Sut galla i helpu" in data["fulfillmentText"]
    assert _language_context(data) == ("cy", 50)


def test_switching_back_to_english_from_a_welsh_turn(http):
    data = http.turn("cardiff", "language.switch", text="siarad Saesneg", language_code="cy")
    assert "carry on in English" in data["fulfillmentText"]
    assert _language_context(data) == ("en", 50)


def test_later_turns_follow_the_context_when_the_council_offers_the_language(http):
    welsh = http.turn(
        "cardiff", "welcome.hello", language_code="en", contexts={"townhall-language": {"language": "cy"}}
    )
    assert "Cyngor Caerdydd" in welsh["fulfillmentText"]
    english = http.turn(
        "cardiff", "welcome.hello", language_code="cy", contexts={"townhall-language": {"language": "en"}}
    )
    assert "Hello" in english["fulfillmentText"]


def test_a_language_the_council_does_not_offer_falls_back_to_the_request_language(http):
    oxford = http.turn(
        "oxford", "welcome.hello", language_code="en", contexts={"townhall-language": {"language": "cy"}}
    )
    assert "Hello" in oxford["fulfillmentText"]
    for odd in ("fr", "", 7, None, ["cy"]):
        data = http.turn(
            "cardiff", "welcome.hello", language_code="cy", contexts={"townhall-language": {"language": odd}}
        )
        assert "Cyngor Caerdydd" in data["fulfillmentText"], odd


def test_an_english_only_council_says_so_in_english_and_welsh(http):
    data = http.turn("oxford", "language.switch", text="Cymraeg plis", language_code="en")
    assert "only talk in English" in data["fulfillmentText"]
    assert "dim ond yn Saesneg" in data["fulfillmentText"]
    assert _language_context(data) == ("en", 50)
    assert "Speak to someone" not in data["fulfillmentText"]
