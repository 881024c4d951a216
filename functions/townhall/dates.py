"""Dates and times written out for residents, in English and Welsh.

    long_date(date(2026, 12, 1), "cy") == "Dydd Mawrth 1 Rhagfyr"
    on_date(date(2026, 12, 1), "cy") == "ar ddydd Mawrth 1 Rhagfyr"   # "dydd" mutates after "ar"
    clock(time(17, 30), "en") == "5:30pm"                               # "5:30yh" in Welsh

The words live in the runtime's messages (``messages/<language>.yaml``), apart from the code; any
language other than Welsh gets English. Pure functions (nothing here reads the clock), so each
remembers its last thousand answers.
"""

from __future__ import annotations

from datetime import date, time
from functools import lru_cache

from .replies import runtime_texts

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday_key(day: date | int) -> str:
    return WEEKDAYS[day if isinstance(day, int) else day.weekday()]


@lru_cache(maxsize=1024)
def weekday(day: date | int, language: str) -> str:
    """ "Tuesday" ("Dydd Mawrth"): a date's weekday, or the weekday numbered from Monday = 0."""
    return runtime_texts(language)(f"day_{_weekday_key(day)}")


@lru_cache(maxsize=1024)
def long_date(day: date, language: str) -> str:
    """ "Tuesday 1 December" ("Dydd Mawrth 1 Rhagfyr")."""
    t = runtime_texts(language)
    return t("date", weekday=t(f"day_{_weekday_key(day)}"), day=day.day, month=t(f"month_{day.month}"))


@lru_cache(maxsize=1024)
def on_date(day: date, language: str) -> str:
    """ "on Tuesday 1 December" ("ar ddydd Mawrth 1 Rhagfyr")."""
    t = runtime_texts(language)
    return t("date", weekday=t(f"on_{_weekday_key(day)}"), day=day.day, month=t(f"month_{day.month}"))


@lru_cache(maxsize=1024)
def clock(value: time, language: str) -> str:
    """ "9am", "5:30pm" ("9yb", "5:30yh")."""
    t = runtime_texts(language)
    hour = value.hour % 12 or 12
    ampm = t("am") if value.hour < 12 else t("pm")
    if value.minute:
        return t("time_minutes", hour=hour, minute=f"{value.minute:02d}", ampm=ampm)
    return t("time_hour", hour=hour, ampm=ampm)
