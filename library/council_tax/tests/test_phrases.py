"""Every quick reply council_tax offers is a training phrase of the intent it should reach, so
tapping it lands where the reply promised; and the entity values the handler relies on exist."""

from __future__ import annotations

import json

import pytest

from townhall.library import default_library

PROCESS = default_library().processes["council_tax"]
QUICK_REPLIES = {
    "menu_charges": "council_tax.charges",
    "menu_discounts": "council_tax.discounts",
    "menu_moving": "council_tax.moving",
    "menu_pay": "council_tax.pay",
    "other_discounts": "council_tax.discounts",
    "move_into_chip": "council_tax.moving",
    "move_out_chip": "council_tax.moving",
    "move_within_chip": "council_tax.moving",
    "confirm_yes": "council_tax.pay_confirm",
    "confirm_no": "council_tax.pay_decline",
    "confirm_change": "council_tax.pay_details",
    "retry_chip": "council_tax.pay_confirm",
}


def trained(intent: str, language: str) -> set[str]:
    rows = json.loads((PROCESS.folder / "intents" / f"{intent}_usersays_{language}.json").read_text(encoding="utf-8"))
    return {" ".join("".join(p["text"] for p in row["data"]).casefold().split()) for row in rows}


def entries(entity: str, language: str) -> dict[str, list[str]]:
    path = PROCESS.folder / "entities" / f"{entity}_entries_{language}.json"
    return {e["value"]: e["synonyms"] for e in json.loads(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize(("key", "intent"), sorted(QUICK_REPLIES.items()))
def test_quick_replies_train_their_intent(key, intent, language):
    label = PROCESS.texts(language)(key)
    assert label.casefold() in trained(intent, language), (
        f"messages/{language}.yaml {key}={label!r} is not a training phrase of {intent}"
    )


@pytest.mark.parametrize("language", ["en", "cy"])
def test_band_chips_train_the_charges_intent(language):
    phrases = trained("council_tax.charges", language)
    for band in "ABCDEFGHI":
        assert PROCESS.texts(language)("band_chip", band=band).casefold() in phrases


@pytest.mark.parametrize("language", ["en", "cy"])
def test_entity_values_are_what_the_handler_expects(language):
    assert sorted(entries("council-tax-band", language)) == [f"Band {band}" for band in "ABCDEFGHI"]
    assert sorted(entries("council-tax-move", language)) == ["into", "out", "within"]
    assert sorted(entries("council-tax-discount", language)) == sorted(
        [
            "single-person",
            "students",
            "disabled-band-reduction",
            "council-tax-reduction",
            "empty-homes",
            "carers",
            "severe-mental-impairment",
        ]
    )


def test_band_synonyms_in_both_languages():
    assert {"band d", "d band", "Band D"} <= set(entries("council-tax-band", "en")["Band D"])
    assert {"band d", "mand D", "fand D"} <= set(entries("council-tax-band", "cy")["Band D"])
    for language in ("en", "cy"):  # a letter alone is never a band: "will I pay", "arna i", "a band"
        for synonyms in entries("council-tax-band", language).values():
            assert all(len(s) > 1 and ("band" in s.casefold() or s[1:4] == "and") for s in synonyms), synonyms
    assert "a band" not in entries("council-tax-band", "en")["Band A"]
    assert "i band" not in entries("council-tax-band", "en")["Band I"]
