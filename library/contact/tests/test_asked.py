"""contact.on_date: the day a resident asks about, from @sys.date or their words (English and Welsh),
and the reply for it. Calendar: Fri 4 Dec 2026 is "today" below."""

from __future__ import annotations

import importlib
from datetime import date

import pytest

from townhall.library import default_library
from townhall_tools.testing import settings_for, turn

TODAY = date(2026, 12, 4)


def _asked():
    process = default_library().processes["contact"]
    return importlib.import_module(process.handler.__module__.rsplit(".", 1)[0] + ".asked")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("will you be open on 24 December", date(2026, 12, 24)),
        ("are you open on the 24th of dec?", date(2026, 12, 24)),
        ("open this saturday?", date(2026, 12, 5)),
        ("r u open sat", date(2026, 12, 5)),
        ("what time do you close on friday", date(2026, 12, 4)),
        ("open next friday", date(2026, 12, 11)),
        ("are you open tomorrow", date(2026, 12, 5)),
        ("are you open christmas eve", date(2026, 12, 24)),
        ("are you open boxing day", date(2026, 12, 26)),
        ("ydych chi ar agor ar Ŵyl San Steffan", date(2026, 12, 26)),
        ("open on new years day?", date(2027, 1, 1)),
        ("open 29/12?", date(2026, 12, 29)),
        ("open on 3 march", date(2027, 3, 3)),
        ("ydych chi ar agor ddydd Sadwrn?", date(2026, 12, 5)),
        ("fyddwch chi ar agor ar 24 Rhagfyr?", date(2026, 12, 24)),
        ("ar agor nos Wener?", date(2026, 12, 4)),
        ("ydych chi ar agor ar Noswyl Nadolig", date(2026, 12, 24)),
        ("ar agor yfory?", date(2026, 12, 5)),
        ("ydych chi ar agor ym mis Mawrth", None),  # March without a day is no day
        ("when are you open", None),
        ("I sat on hold for ages", None),
    ],
)
def test_the_day_is_read_from_the_words(text, expected):
    assert _asked().asked_day(text, TODAY) == expected


def test_dialogflow_s_date_wins_over_the_words():
    found = _asked().asked_day("open on saturday", TODAY, "2026-12-24T12:00:00+00:00")
    assert found == date(2026, 12, 24)


def test_a_bank_holiday_is_found_by_its_name_in_either_language():
    holidays = [(date(2027, 3, 29), "Easter Monday"), (date(2027, 3, 29), "Dydd Llun y Pasg")]
    assert _asked().asked_day("are you open easter monday", TODAY, None, holidays) == date(2027, 3, 29)
    assert _asked().asked_day("ar agor ddydd llun y pasg?", TODAY, None, holidays) == date(2027, 3, 29)


def _ask(text, tenant="oxford", language="en", parameters=None):
    handle = default_library().processes["contact"].handler
    settings = settings_for("contact", tenant, language=language)
    return handle(turn("contact.on_date", parameters, text=text, language=language, now="2026-12-04T10:00"), settings)


def test_a_closure_day_says_why_and_when_we_next_open():
    reply = _ask("will you be open on 24 December")
    assert reply.text == (
        "We're closed on Thursday 24 December (Christmas Eve).",
        "We next open on Monday 4 January at 9am.",
    )


def test_a_holiday_whose_bank_holiday_moved_says_both_days():
    reply = _ask("are you open Boxing Day", "cardiff")
    assert reply.text == (
        "We're open on Saturday 26 December, 9am to 12pm.",
        "The Boxing Day bank holiday is on Monday 28 December this year, and we're closed then.",
    )


def test_a_weekend_day_is_closed_in_oxford_and_open_in_the_morning_in_cardiff():
    assert _ask("open this saturday?").text[0] == "We're closed on Saturday 5 December."
    reply = _ask("ydych chi ar agor ddydd Sadwrn?", "cardiff", "cy")
    assert reply.text == ("Byddwn ni ar agor ar ddydd Sadwrn 5 Rhagfyr, 9yb tan 12yh.",)


def test_today_adds_whether_we_are_open_now():
    reply = _ask("what time do you close on friday")
    assert reply.text == ("We're open on Friday 4 December, 9am to 4:30pm.", "We're open now, until 4:30pm.")


def test_no_day_asks_which_and_gives_the_week():
    reply = _ask("when are you open")
    assert reply.text[0].startswith("Which day")
    assert "Friday: 9am to 4:30pm" in reply.text[1]


@pytest.mark.parametrize("far", ["9999-12-31T12:00:00+00:00", "0001-01-01T12:00:00+00:00"])
def test_a_day_years_away_gets_the_week(far):
    assert _ask("open then?", parameters={"date": far}).text[0].startswith("Which day")


def test_a_passed_day_says_so():
    reply = _ask("were you open", parameters={"date": "2026-11-30T12:00:00+00:00"})
    assert reply.text[0] == "Monday 30 November has already passed."


@pytest.mark.parametrize("text", ["open on 24 December", "open saturday", "when are you open", ""])
def test_every_reply_for_a_day_sets_its_context_so_the_runtime_never_keeps_it(text):
    """The reply cache keys on the intent alone; it never keeps a reply with output contexts."""
    assert [c.name for c in _ask(text).contexts] == ["contact-date"]
