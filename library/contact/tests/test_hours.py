"""contact/hours.py: weekly ranges, bank holidays and closures, as pure functions of a local time."""

from __future__ import annotations

import importlib
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from townhall.library import default_library
from townhall_tools.testing import LONDON

FOLDER = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hours():
    default_library().processes["contact"].handler  # makes townhall_processes.contact a package
    return importlib.import_module("townhall_processes.contact.hours")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


# -- parse_spans --------------------------------------------------------------------------------


def test_parse_one_range(hours):
    assert hours.parse_spans("09:00-17:00") == (hours.Span(time(9), time(17)),)


def test_parse_several_ranges_with_or_without_spaces(hours):
    expected = (hours.Span(time(9), time(12, 30)), hours.Span(time(13, 30), time(17)))
    assert hours.parse_spans("09:00-12:30, 13:30-17:00") == expected
    assert hours.parse_spans("09:00-12:30,13:30-17:00") == expected
    assert hours.parse_spans("09:00-12:30,   13:30-17:00") == expected


@pytest.mark.parametrize("value", ["closed", "Closed", " closed ", "", None])
def test_parse_closed_or_missing_is_no_ranges(hours, value):
    assert hours.parse_spans(value) == ()


def test_a_missing_weekday_is_closed(hours):
    timetable = hours.Hours({"monday": "09:00-17:00"}, None, {})
    assert timetable.weekly["monday"] == (hours.Span(time(9), time(17)),)
    assert all(timetable.weekly[day] == () for day in hours.WEEKDAYS[1:])


# -- status and next_open --------------------------------------------------------------------------

LUNCH = {"monday": "09:00-12:30, 13:30-17:00"}


@pytest.mark.parametrize(
    ("now", "open_now", "closes"),
    [
        ("2026-12-07T08:59", False, None),
        ("2026-12-07T09:00", True, time(12, 30)),
        ("2026-12-07T12:29", True, time(12, 30)),
        ("2026-12-07T12:30", False, None),
        ("2026-12-07T13:00", False, None),
        ("2026-12-07T13:30", True, time(17)),
        ("2026-12-07T16:59", True, time(17)),
        ("2026-12-07T17:00", False, None),
    ],
)
def test_lunch_closure_status(hours, now, open_now, closes):
    status = hours.Hours(LUNCH, None, {}).status(at(now))
    assert status.open_now is open_now
    assert status.closes == closes
    assert status.closed_today is None


def test_lunch_closure_next_open_is_after_lunch(hours):
    status = hours.Hours(LUNCH, None, {}).status(at("2026-12-07T13:00"))
    assert status.next_open == at("2026-12-07T13:30")


def test_after_hours_next_open_is_a_week_later_for_a_one_day_week(hours):
    assert hours.Hours(LUNCH, None, {}).next_open(at("2026-12-07T17:00")) == at("2026-12-14T09:00")


def test_open_now_has_no_next_open(hours):
    status = hours.Hours(LUNCH, None, {}).status(at("2026-12-07T10:00"))
    assert status.next_open is None


def test_next_open_is_none_when_always_closed(hours):
    assert hours.Hours({}, None, {}).next_open(at("2026-12-07T10:00")) is None
    assert hours.Hours({day: "closed" for day in hours.WEEKDAYS}, None, {}).status(
        at("2026-12-07T10:00")
    ) == hours.Status(False, None, None, None)


def test_next_open_is_none_beyond_the_look_ahead(hours):
    closures = {date(2026, 12, 7) + timedelta(days=i): "refurbishment" for i in range(30)}
    timetable = hours.Hours({"monday": "09:00-17:00"}, None, closures)
    assert timetable.next_open(at("2026-12-07T10:00")) is None


def test_bank_holiday_closes_the_day_and_is_named(hours):
    timetable = hours.Hours({"friday": "09:00-17:00", "monday": "09:00-17:00"}, "england-and-wales", {})
    status = timetable.status(at("2026-12-25T10:00"))
    assert status.open_now is False
    assert status.closed_today == hours.Closure(date(2026, 12, 25), "Christmas Day")
    assert status.next_open == at("2027-01-04T09:00")  # Mon 28 Dec is the Boxing Day substitute


def test_no_division_means_open_on_bank_holidays(hours):
    timetable = hours.Hours({"friday": "09:00-17:00"}, None, {})
    assert timetable.status(at("2026-12-25T10:00")).open_now is True
    assert timetable.closure(date(2026, 12, 25)) is None


def test_council_closure_wins_over_a_bank_holiday_title(hours):
    timetable = hours.Hours({"friday": "09:00-17:00"}, "england-and-wales", {date(2026, 12, 25): "our own reason"})
    assert timetable.closure(date(2026, 12, 25)).reason == "our own reason"


def test_closure_reasons_from_settings_in_the_language_else_english(hours):
    closures = [
        {"date": "2026-12-24", "reason": {"en": "Christmas Eve", "cy": "Noswyl Nadolig"}},
        {"date": "2026-12-29", "reason": {"en": "the Christmas break"}},
        {"date": "2026-12-30"},
    ]
    welsh = hours.Hours.from_settings({}, None, closures, "cy")
    assert welsh.closures == {
        date(2026, 12, 24): "Noswyl Nadolig",
        date(2026, 12, 29): "the Christmas break",
        date(2026, 12, 30): "",
    }
    assert hours.Hours.from_settings({}, None, closures, "en").closures[date(2026, 12, 24)] == "Christmas Eve"


# -- upcoming closures -----------------------------------------------------------------------------


def test_upcoming_closures_cover_today_and_the_next_fourteen_days(hours):
    weekdays = {day: "09:00-17:00" for day in hours.WEEKDAYS[:5]}
    timetable = hours.Hours(weekdays, "england-and-wales", {date(2026, 12, 14): "training day"})
    found = timetable.upcoming_closures(at("2026-12-14T10:00"))
    assert [(c.day, c.reason) for c in found] == [
        (date(2026, 12, 14), "training day"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day"),  # day 14; New Year's Day (day 18) is beyond
    ]
    assert hours.LOOKAHEAD_DAYS == 14


def test_upcoming_closures_skip_days_already_closed(hours):
    timetable = hours.Hours({"monday": "09:00-17:00"}, "england-and-wales", {date(2026, 12, 26): "x"})
    assert [c.day for c in timetable.upcoming_closures(at("2026-12-20T10:00"))] == [date(2026, 12, 28)]


# -- bank holidays snapshot ------------------------------------------------------------------------


def test_scotland_includes_st_andrews_day(hours):
    scotland = hours.bank_holidays("scotland")
    assert scotland[date(2026, 11, 30)] == "St Andrew’s Day"
    assert date(2026, 11, 30) not in hours.bank_holidays("england-and-wales")


def test_england_and_wales_christmas_2026(hours):
    holidays = hours.bank_holidays("england-and-wales")
    assert holidays[date(2026, 12, 25)] == "Christmas Day"
    assert holidays[date(2026, 12, 28)] == "Boxing Day"
    assert date(2026, 12, 26) not in holidays


def test_northern_ireland_has_its_own_days(hours):
    ni = hours.bank_holidays("northern-ireland")
    assert ni[date(2026, 3, 17)] == "St Patrick’s Day"
    assert ni[date(2026, 7, 13)] == "Battle of the Boyne (Orangemen’s Day)"


def test_snapshot_has_every_division_the_schema_allows(hours):
    schema = json.loads((FOLDER / "schema.json").read_text(encoding="utf-8"))
    divisions = [d for d in schema["properties"]["bank_holidays"]["enum"] if d != "none"]
    assert sorted(divisions) == ["england-and-wales", "northern-ireland", "scotland"]
    for division in divisions:
        assert len(hours.bank_holidays(division)) >= 8, division


def test_every_bank_holiday_title_has_a_welsh_name(hours):
    process = default_library().processes["contact"]
    handler = importlib.import_module("townhall_processes.contact.handler")
    welsh = process.texts("cy")
    for division in ("england-and-wales", "scotland", "northern-ireland"):
        for day, title in hours.bank_holidays(division).items():
            named = handler.reason(welsh, hours.Closure(day, title))
            assert named != title, f"{division} {day}: no Welsh name for {title!r} in messages/cy.yaml"
