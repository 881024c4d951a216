"""contact/checks.py through townhall.tenants.validate: problems the settings schema cannot express."""

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


def problems(tenant: str, **changes) -> list[Problem]:
    doc = tenant_doc(tenant)
    contact = doc["processes"]["contact"]
    for key, value in changes.items():
        contact[key] = value
    return validate(doc, default_library(), expected_id=tenant)


@pytest.mark.parametrize("tenant", ["oxford", "cardiff"])
def test_example_tenants_are_valid(tenant):
    assert problems(tenant) == []


def test_example_settings_are_valid():
    from townhall.yamlio import load_yaml

    process = default_library().processes["contact"]
    doc = tenant_doc("cardiff")
    doc["processes"]["contact"] = load_yaml(process.folder / "example.yaml")
    assert validate(doc, default_library(), expected_id="cardiff") == []


def test_range_closing_before_it_opens():
    found = problems("oxford", opening_hours={"monday": "17:00-09:00", "tuesday": "09:00-17:00"})
    assert found == [Problem("processes.contact.opening_hours.monday", "17:00-09:00 closes before it opens")]


def test_empty_range_is_reported():
    found = problems("oxford", opening_hours={"monday": "09:00-09:00"})
    assert found == [Problem("processes.contact.opening_hours.monday", "09:00-09:00 closes before it opens")]


def test_overlapping_ranges():
    found = problems("oxford", opening_hours={"wednesday": "09:00-13:00, 12:00-17:00"})
    assert found == [Problem("processes.contact.opening_hours.wednesday", "ranges overlap or are out of order")]


def test_ranges_out_of_order():
    found = problems("oxford", opening_hours={"friday": "13:30-17:00, 09:00-12:30"})
    assert found == [Problem("processes.contact.opening_hours.friday", "ranges overlap or are out of order")]


def test_adjacent_ranges_are_fine():
    assert problems("oxford", opening_hours={"monday": "09:00-12:30, 12:30-17:00"}) == []


def test_live_chat_hours_are_checked_too():
    chat = {"url": "https://example.org/chat", "hours": {"tuesday": "16:00-10:00"}}
    found = problems("oxford", live_chat=chat)
    assert found == [Problem("processes.contact.live_chat.hours.tuesday", "16:00-10:00 closes before it opens")]


def test_missing_welsh_closure_reason_for_a_welsh_council():
    closures = [
        {"date": "2026-12-24", "reason": {"en": "Christmas Eve", "cy": "Noswyl Nadolig"}},
        {"date": "2026-12-31", "reason": {"en": "New Year's Eve"}},
    ]
    assert welsh_missing(problems("cardiff", closures=closures)) == ["processes.contact.closures[1].reason"]


def test_english_only_reason_is_fine_for_an_english_council():
    assert problems("oxford", closures=[{"date": "2026-12-31", "reason": {"en": "New Year's Eve"}}]) == []


def test_closure_without_a_reason_is_fine_for_a_welsh_council():
    assert problems("cardiff", closures=[{"date": "2026-12-31"}]) == []


def test_schema_problems_come_first_and_name_the_field():
    found = problems("oxford", opening_hours={"monday": "9am-5pm"})
    assert [p.path for p in found] == ["processes.contact.opening_hours.monday"]
    assert "does not match" in found[0].reason


def test_unknown_bank_holiday_division_is_a_schema_problem():
    found = problems("oxford", bank_holidays="wales")
    assert [p.path for p in found] == ["processes.contact.bank_holidays"]


def test_a_closure_date_listed_twice_is_reported():
    day = {"date": "2026-12-24"}
    found = problems("oxford", closures=[day, {"date": "2026-12-23"}, day])
    assert found == [Problem("processes.contact.closures[2].date", "2026-12-24 is listed twice")]
