"""faq/checks.py through townhall.tenants.validate: problems the settings schema cannot express."""

from __future__ import annotations

import pytest

from townhall.library import default_library
from townhall.tenants import Problem, validate
from townhall_tools.testing import tenant_doc

WELSH = "give the Welsh too (cy), as this council offers en and cy"  # + the expected form, an example


def welsh_missing(found: list[Problem]) -> list[str]:
    """The paths of the problems, each of which must be a missing Welsh text."""
    assert all(p.reason.startswith(WELSH) for p in found), found
    return [p.path for p in found]


from townhall.yamlio import load_yaml


def validated(doc: dict) -> list[Problem]:
    return validate(doc, default_library(), expected_id=doc["id"])


@pytest.mark.parametrize("tenant", ["oxford", "cardiff"])
def test_example_tenants_are_valid(tenant):
    assert validated(tenant_doc(tenant)) == []


def test_example_settings_are_valid_for_a_welsh_council():
    doc = tenant_doc("cardiff")
    doc["processes"]["faq"] = load_yaml(default_library().processes["faq"].folder / "example.yaml")
    assert validated(doc) == []


def test_duplicate_id_is_reported_on_the_second_entry():
    doc = tenant_doc("oxford")
    doc["processes"]["faq"]["entries"][1]["id"] = "garden-waste"
    assert validated(doc) == [Problem("processes.faq.entries[1].id", "'garden-waste' is used by another entry")]


def test_every_repeat_of_an_id_is_reported():
    doc = tenant_doc("oxford")
    for entry in doc["processes"]["faq"]["entries"]:
        entry["id"] = "same"
    assert [p.path for p in validated(doc)] == ["processes.faq.entries[1].id", "processes.faq.entries[2].id"]


def test_missing_welsh_answer_for_a_welsh_council():
    doc = tenant_doc("cardiff")
    del doc["processes"]["faq"]["entries"][1]["answer"]["cy"]
    assert welsh_missing(validated(doc)) == ["processes.faq.entries[1].answer"]


def test_missing_welsh_question_for_a_welsh_council():
    doc = tenant_doc("cardiff")
    del doc["processes"]["faq"]["entries"][0]["question"]["cy"]
    assert welsh_missing(validated(doc)) == ["processes.faq.entries[0].question"]


def test_missing_welsh_link_title_for_a_welsh_council():
    doc = tenant_doc("cardiff")
    del doc["processes"]["faq"]["entries"][0]["links"][0]["title"]["cy"]
    assert welsh_missing(validated(doc)) == ["processes.faq.entries[0].links[0].title"]


def test_english_only_entries_are_fine_for_an_english_council():
    doc = tenant_doc("oxford")
    assert all("cy" not in e["answer"] for e in doc["processes"]["faq"]["entries"])
    assert validated(doc) == []


def test_welsh_keywords_are_optional():
    doc = tenant_doc("cardiff")
    del doc["processes"]["faq"]["entries"][0]["keywords"]["cy"]
    assert validated(doc) == []


def test_bad_id_is_a_schema_problem_with_its_path():
    doc = tenant_doc("oxford")
    doc["processes"]["faq"]["entries"][2]["id"] = "Parking Permit"
    assert [p.path for p in validated(doc)] == ["processes.faq.entries[2].id"]


def test_no_entries_is_a_schema_problem():
    doc = tenant_doc("oxford")
    doc["processes"]["faq"] = {"entries": []}
    assert [p.path for p in validated(doc)] == ["processes.faq.entries"]
