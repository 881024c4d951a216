"""missed_bin's due/late decision, a pure function of the collections and the time.

Calendar: a bin collected on Tuesdays, every week, from Tue 3 Nov 2026; crews finish at 5pm;
reports within 2 working days. Fri 25 and Mon 28 Dec 2026 are bank holidays."""

from __future__ import annotations

import importlib
from datetime import date, datetime, time, timedelta

import pytest

from townhall.bankholidays import bank_holidays
from townhall.library import default_library
from townhall.upstreams.bins import Collection

default_library().processes["missed_bin"].handler  # makes townhall_processes.missed_bin a package
due = importlib.import_module("townhall_processes.missed_bin.due")
Verdict, last_day_to_report, verdict = due.Verdict, due.last_day_to_report, due.verdict

FINISH = time(17)
TUESDAYS = [Collection(date(2026, 11, 3) + timedelta(weeks=k), "rubbish") for k in range(10)]
FORTNIGHTLY = TUESDAYS[::2]  # 3, 17 Nov, 1, 15, 29 Dec


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def test_due_today_and_the_crews_are_still_out():
    assert verdict(TUESDAYS, "rubbish", at("2026-12-01T16:59"), FINISH, 2) == Verdict("not_yet", date(2026, 12, 1))


def test_due_today_and_the_crews_have_finished():
    assert verdict(TUESDAYS, "rubbish", at("2026-12-01T17:00"), FINISH, 2) == Verdict(
        "report", date(2026, 12, 1), date(2026, 12, 8)
    )


@pytest.mark.parametrize(
    ("moment", "kind"),
    [
        ("2026-12-02T09:00", "report"),  # Wednesday: 1 working day after
        ("2026-12-03T23:59", "report"),  # Thursday: the 2nd working day
        ("2026-12-04T00:01", "too_late"),  # Friday
    ],
)
def test_the_report_window_in_working_days(moment, kind):
    found = verdict(FORTNIGHTLY, "rubbish", at(moment), FINISH, 2)
    assert found.kind == kind and found.day == date(2026, 12, 1)


def test_too_late_says_when_the_next_one_is():
    assert verdict(FORTNIGHTLY, "rubbish", at("2026-12-07T10:00"), FINISH, 2) == Verdict(
        "too_late", date(2026, 12, 1), date(2026, 12, 15)
    )


def test_early_for_the_next_collection_is_not_due():
    # Monday 30 Nov: the last collection (17 Nov) is long gone, the next is tomorrow.
    assert verdict(FORTNIGHTLY, "rubbish", at("2026-11-30T10:00"), FINISH, 2) == Verdict("not_due", date(2026, 12, 1))


def test_no_collection_in_the_past_weeks_but_one_coming():
    assert verdict(TUESDAYS[5:], "rubbish", at("2026-11-30T10:00"), FINISH, 2) == Verdict("not_due", date(2026, 12, 8))


def test_another_bin_or_nothing_at_all_is_unknown():
    assert verdict(TUESDAYS, "garden", at("2026-12-01T18:00"), FINISH, 2) == Verdict("unknown")
    assert verdict([], "rubbish", at("2026-12-01T18:00"), FINISH, 2) == Verdict("unknown")


def test_bank_holidays_and_weekends_are_not_working_days():
    holidays = bank_holidays("england-and-wales")
    assert last_day_to_report(date(2026, 12, 24), 2, holidays) == date(2026, 12, 30)  # skips 25, 26, 27, 28
    assert last_day_to_report(date(2026, 12, 4), 1, ()) == date(2026, 12, 7)
    assert last_day_to_report(date(2026, 12, 4), 0, ()) == date(2026, 12, 4)
    thursday = [Collection(date(2026, 12, 24), "food")]
    assert verdict(thursday, "food", at("2026-12-29T12:00"), FINISH, 2, holidays).kind == "report"
    assert verdict(thursday, "food", at("2026-12-29T12:00"), FINISH, 2).kind == "too_late"
