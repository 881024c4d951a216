"""townhall.dates and townhall.bankholidays: the shared date words and the bank holiday snapshot."""

from __future__ import annotations

from datetime import date, time

import pytest

from townhall import dates
from townhall.bankholidays import DIVISIONS, bank_holidays


@pytest.mark.parametrize(
    ("day", "language", "long", "on"),
    [
        (date(2026, 12, 1), "en", "Tuesday 1 December", "on Tuesday 1 December"),
        (date(2026, 12, 1), "cy", "Dydd Mawrth 1 Rhagfyr", "ar ddydd Mawrth 1 Rhagfyr"),
        (date(2027, 1, 4), "cy", "Dydd Llun 4 Ionawr", "ar ddydd Llun 4 Ionawr"),
        (date(2026, 3, 1), "cy", "Dydd Sul 1 Mawrth", "ar ddydd Sul 1 Mawrth"),
        (date(2026, 12, 5), "cy-GB", "Dydd Sadwrn 5 Rhagfyr", "ar ddydd Sadwrn 5 Rhagfyr"),
        (date(2026, 12, 5), "fr", "Saturday 5 December", "on Saturday 5 December"),
    ],
)
def test_dates_in_words(day, language, long, on):
    assert dates.long_date(day, language) == long
    assert dates.on_date(day, language) == on
    assert dates.weekday(day, language) == long.rsplit(" ", 2)[0]
    assert dates.weekday(day.weekday(), language) == long.rsplit(" ", 2)[0]


@pytest.mark.parametrize(
    ("value", "en", "cy"),
    [
        (time(9), "9am", "9yb"),
        (time(12), "12pm", "12yh"),
        (time(0, 30), "12:30am", "12:30yb"),
        (time(17, 5), "5:05pm", "5:05yh"),
    ],
)
def test_clock(value, en, cy):
    assert dates.clock(value, "en") == en
    assert dates.clock(value, "cy") == cy


def test_every_division_has_bank_holidays_for_each_year_of_the_snapshot():
    for division in DIVISIONS:
        years = {day.year for day in bank_holidays(division)}
        assert {2025, 2026, 2027} <= years, division
    assert bank_holidays("england-and-wales")[date(2026, 12, 28)] == "Boxing Day"


def test_an_unknown_division_is_refused_by_name():
    with pytest.raises(ValueError, match="wales"):
        bank_holidays("wales")


def test_the_runtime_messages_have_the_same_keys_in_welsh():
    from townhall.replies import _messages

    assert sorted(_messages("cy")) == sorted(_messages("en"))
