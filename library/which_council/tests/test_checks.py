"""which_council/checks.py through townhall.tenants.validate: a Welsh council needs Welsh texts."""

from __future__ import annotations

from townhall.library import default_library
from townhall.tenants import Problem, validate
from townhall_tools.testing import tenant_doc
from townhall.yamlio import load_yaml


def validated(doc: dict) -> list[Problem]:
    return validate(doc, default_library(), expected_id=doc["id"])


def test_example_settings_are_valid_for_a_welsh_council():
    doc = tenant_doc("cardiff")
    doc["processes"]["which_council"] = load_yaml(default_library().processes["which_council"].folder / "example.yaml")
    assert validated(doc) == []


def test_a_welsh_council_needs_welsh_tier_texts_and_council_names():
    doc = tenant_doc("cardiff")
    settings = doc["processes"]["which_council"]
    del settings["tiers"]["county"]["cy"]
    del settings["councils"]["W06000014"]["name"]["cy"]
    assert validated(doc) == [
        Problem("processes.which_council.tiers.county", "missing 'cy': the council offers that language"),
        Problem("processes.which_council.councils.W06000014.name", "missing 'cy': the council offers that language"),
    ]


def test_an_english_council_needs_only_english_and_bad_codes_are_refused():
    doc = tenant_doc("oxford")
    assert validated(doc) == []
    doc["processes"]["which_council"]["councils"]["X123"] = {"name": {"en": "Nowhere"}}
    assert [p.path for p in validated(doc)] == ["processes.which_council.councils"]
