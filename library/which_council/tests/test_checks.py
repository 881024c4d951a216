"""which_council's settings through townhall.tenants.validate: a Welsh council needs Welsh texts (the
schema's bilingual rule)."""

from __future__ import annotations

from townhall.library import default_library
from townhall.tenants import Problem, validate
from townhall.yamlio import load_yaml
from townhall_tools.testing import tenant_doc

WELSH = "give the Welsh too (cy), as this council offers en and cy"  # + the expected form, an example


def welsh_missing(found: list[Problem]) -> list[str]:
    """The paths of the problems, each of which must be a missing Welsh text."""
    assert all(p.reason.startswith(WELSH) for p in found), found
    return [p.path for p in found]


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
    assert welsh_missing(validated(doc)) == [
        "processes.which_council.councils.W06000014.name",
        "processes.which_council.tiers.county",
    ]


def test_an_english_council_needs_only_english_and_bad_codes_are_refused():
    doc = tenant_doc("oxford")
    assert validated(doc) == []
    doc["processes"]["which_council"]["councils"]["X123"] = {"name": {"en": "Nowhere"}}
    assert [p.path for p in validated(doc)] == ["processes.which_council.councils"]
