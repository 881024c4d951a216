"""council_tax/checks.py through townhall.tenants.validate: problems the settings schema cannot express."""

from __future__ import annotations

import pytest

from townhall.library import default_library
from townhall.tenants import Problem, validate
from townhall.yamlio import load_yaml
from townhall_tools.testing import tenant_doc

P = "processes.council_tax."

WELSH = "give the Welsh too (cy), as this council offers en and cy"  # + the expected form, an example


def welsh_missing(found: list[Problem]) -> list[str]:
    """The paths of the problems, each of which must be a missing Welsh text."""
    assert all(p.reason.startswith(WELSH) for p in found), found
    return [p.path for p in found]


def validated(doc: dict) -> list[Problem]:
    return validate(doc, default_library(), expected_id=doc["id"])


def example() -> dict:
    return load_yaml(default_library().processes["council_tax"].folder / "example.yaml")


@pytest.mark.parametrize("tenant", ["oxford", "cardiff"])
def test_example_tenants_are_valid(tenant):
    assert validated(tenant_doc(tenant)) == []


def test_the_example_settings_are_valid_for_a_welsh_speaking_english_council():
    doc = tenant_doc("cardiff")
    doc["processes"]["council_tax"] = example()  # nation: england, so bands A to H
    assert validated(doc) == []


def test_a_welsh_council_needs_band_i():
    doc = tenant_doc("cardiff")
    del doc["processes"]["council_tax"]["bands"]["I"]
    assert validated(doc) == [Problem(P + "bands", "missing band I: councils in Wales charge bands A to I")]


def test_an_english_council_has_no_band_i():
    doc = tenant_doc("oxford")
    doc["processes"]["council_tax"]["bands"]["I"] = "5000.00"
    assert validated(doc) == [Problem(P + "bands.I", "England has no band I (bands A to H); remove it or set nation")]


def test_nation_overrides_the_languages():
    doc = tenant_doc("oxford")
    doc["processes"]["council_tax"]["nation"] = "wales"
    assert validated(doc) == [Problem(P + "bands", "missing band I: councils in Wales charge bands A to I")]


def test_each_band_costs_more_than_the_one_before():
    doc = tenant_doc("oxford")
    doc["processes"]["council_tax"]["bands"]["C"] = "1905.56"
    doc["processes"]["council_tax"]["bands"]["F"] = 100
    assert validated(doc) == [
        Problem(P + "bands.C", "must be more than band B: each band costs more than the one before"),
        Problem(P + "bands.F", "must be more than band E: each band costs more than the one before"),
    ]


def test_a_charge_with_more_than_pence():
    doc = tenant_doc("oxford")
    doc["processes"]["council_tax"]["bands"]["H"] = 4900.005
    [problem] = validated(doc)
    assert problem.path == P + "bands.H" and "more than two decimal places" in problem.reason


def test_welsh_texts_for_a_welsh_council():
    doc = tenant_doc("cardiff")
    s = doc["processes"]["council_tax"]
    del s["discounts"][1]["who"]["cy"]
    del s["precepts"]["note"]["cy"]
    del s["moving_home"]["note"]["cy"]
    del s["payments"]["description"]["cy"]
    assert welsh_missing(validated(doc)) == [
        P + "discounts[1].who",
        P + "moving_home.note",
        P + "payments.description",
        P + "precepts.note",
    ]


def test_discount_ids_are_unique_and_titles_short():
    doc = tenant_doc("oxford")
    s = doc["processes"]["council_tax"]
    s["discounts"][2]["id"] = "students"
    s["discounts"][0]["title"]["en"] = "A very long title that would never fit on a button in a chat window"
    assert validated(doc) == [
        Problem(P + "discounts[0].title.en", "at most 60 characters: it is shown as a button"),
        Problem(P + "discounts[2].id", "'students' is used by another discount"),
    ]


@pytest.mark.parametrize(
    ("pattern", "example", "path", "reason"),
    [
        ("^([0-9]{8}$", "12345678", "pattern", "not a regular expression"),
        ("^[0-9]*$", "12345678", "pattern", "matches an empty account number"),
        ("^[0-9]{8}$", "1234567", "example", "'1234567' does not match the pattern"),
        ("^.{3,}$", "a|b", "example", "an account number GOV.UK Pay would refuse as a reference"),
    ],
)
def test_the_account_number_format(pattern, example, path, reason):
    doc = tenant_doc("oxford")
    doc["processes"]["council_tax"]["payments"]["account_reference"] = {"pattern": pattern, "example": example}
    [problem] = validated(doc)
    assert problem.path == P + "payments.account_reference." + path and reason in problem.reason


def test_a_description_gov_uk_pay_would_refuse():
    doc = tenant_doc("oxford")
    doc["processes"]["council_tax"]["payments"]["description"]["en"] = "Council tax <demo>"
    assert validated(doc) == [Problem(P + "payments.description.en", 'GOV.UK Pay refuses < > " \\ and |; remove them')]


def test_gov_uk_pay_needs_all_its_settings_and_is_optional():
    doc = tenant_doc("oxford")
    del doc["processes"]["council_tax"]["payments"]["return_url"]
    [problem] = validated(doc)
    assert problem.path == P + "payments" and "return_url" in problem.reason
    doc["processes"]["council_tax"]["payments"] = {"page": "https://example.org/demo/pay"}
    assert validated(doc) == []


def test_links_must_be_https():
    doc = tenant_doc("oxford")
    doc["processes"]["council_tax"]["moving_home"]["link"] = "http://example.org/demo/moving"
    [problem] = validated(doc)
    assert problem.path == P + "moving_home.link"
