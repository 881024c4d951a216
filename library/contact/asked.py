"""Which day a resident asks about: "will you be open on 24 December", "are you open Boxing Day",
"open this saturday?", "ydych chi ar agor ddydd Sadwrn?", "fyddwch chi ar agor ar 24 Rhagfyr?".

Dialogflow's ``@sys.date`` (the ``date`` parameter) is used when it came; otherwise the day is read
from the words, in English and Welsh whatever the turn's language (Dialogflow often extracts no
date from Welsh). Month and weekday names are the runtime's own (``townhall.replies.runtime_texts``,
``month_<n>`` and ``day_<weekday>``), bank holidays' names are GOV.UK's titles and this process's
Welsh ``holiday_*`` messages. Pure: ``today`` is given.

    asked_day("are you open on boxing day", date(2026, 12, 1)) == date(2026, 12, 26)  # its bank holiday: the 28th
    asked_day("fyddwch chi ar agor ar 24 Rhagfyr", date(2026, 12, 1)) == date(2026, 12, 24)
    asked_day("open this saturday?", date(2026, 12, 1)) == date(2026, 12, 5)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from townhall.kit import fold
from townhall.replies import runtime_texts

WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Short forms residents type (full names and the Welsh ones come from the runtime's messages).
SHORT_WEEKDAYS = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "weds": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4}
# Welsh weekday words that are also other words (Mawrth is March, Iau is "younger"): only after "dydd"/"nos".
NEEDS_DYDD = frozenset({"mawrth", "iau", "llun", "sul"})
PRONOUNS = frozenset({"i", "you", "u", "we", "they", "he", "she", "it", "the"})
DYDD = frozenset({"dydd", "ddydd", "nos", "nhw", "fore", "bore", "prynhawn"})
# Days named by the calendar rather than a number (English and Welsh, folded), as (month, day).
FIXED = {
    "christmas eve": (12, 24),
    "xmas eve": (12, 24),
    "noswyl nadolig": (12, 24),
    "noswyl y nadolig": (12, 24),
    "christmas day": (12, 25),
    "xmas day": (12, 25),
    "christmas": (12, 25),
    "xmas": (12, 25),
    "dydd nadolig": (12, 25),
    "nadolig": (12, 25),
    "boxing day": (12, 26),
    "gwyl san steffan": (12, 26),
    "dydd san steffan": (12, 26),
    "san steffan": (12, 26),
    "new years eve": (12, 31),
    "nye": (12, 31),
    "nos galan": (12, 31),
    "new years day": (1, 1),
    "new year": (1, 1),
    "dydd calan": (1, 1),
    "calan": (1, 1),
}
RELATIVE = {
    "today": 0,
    "2day": 0,
    "tday": 0,
    "heddiw": 0,
    "tonight": 0,
    "tomorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    "2moro": 1,
    "2morrow": 1,
    "tomoz": 1,
    "tommorow": 1,
    "tomorow": 1,
    "yfory": 1,
    "fory": 1,
    "day after tomorrow": 2,
    "drennydd": 2,
}
_PLAIN = {"ddydd": "dydd", "wyl": "gwyl"}  # Welsh soft mutations in holidays' names
_NUMERIC = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?\b")


@lru_cache(maxsize=1)
def _names() -> tuple[dict[str, int], dict[str, int]]:
    """(month word -> number, weekday word -> Monday=0), folded, from the runtime's messages."""
    months: dict[str, int] = {}
    weekdays: dict[str, int] = dict(SHORT_WEEKDAYS)
    for language in ("en", "cy"):
        t = runtime_texts(language)
        for number in range(1, 13):
            name = fold(t(f"month_{number}"))
            months[name] = number
            if language == "en":
                months[name[:3]] = number
                months.setdefault("sept", 9)
        for number, key in enumerate(WEEKDAY_KEYS):
            weekdays[fold(t(f"day_{key}")).split()[-1]] = number  # "Dydd Sadwrn" -> "sadwrn"
    return months, weekdays


def _from_parameter(value: Any) -> date | None:
    """``@sys.date`` as Dialogflow gives it: "2026-12-24T12:00:00+00:00" (or a list of them)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Mapping):  # a date period: its start
        value = value.get("startDate") or value.get("date")
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _next(month: int, day: int, today: date) -> date | None:
    """The coming ``day``/``month`` (this year's unless it has passed), None if no such day."""
    for year in (today.year, today.year + 1):
        try:
            found = date(year, month, day)
        except ValueError:
            return None
        if found >= today:
            return found
    return None


def _phrase(text: str, phrase: str) -> bool:
    return f" {phrase} " in f" {text} "


def _day_and_month(words: list[str], today: date) -> date | None:
    months, _ = _names()
    for i, word in enumerate(words):
        month = months.get(word)
        if month is None:
            continue
        for j in (i - 1, i - 2, i + 1):  # "24 december", "24th of dec", "dec 24th", "24 o ragfyr"
            if 0 <= j < len(words):
                number = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th|ain|af|ed|fed|ydd)?", words[j])
                if number:
                    return _next(month, int(number.group(1)), today)
    return None


def _mutated_month(words: list[str]) -> list[str]:
    """Welsh soft mutation: "o Ragfyr" -> "rhagfyr", "nos Wener" -> "gwener"."""
    unmutate = {
        "ragfyr": "rhagfyr",
        "fedi": "medi",
        "orffennaf": "gorffennaf",
        "fai": "mai",
        "wener": "gwener",  # "nos Wener", and the weekdays after "nos"
        "lun": "llun",
        "fawrth": "mawrth",
        "fercher": "mercher",
    }
    return [unmutate.get(w, w) for w in words]


def _weekday(words: list[str], today: date) -> date | None:
    _, weekdays = _names()
    for i, word in enumerate(words):
        number = weekdays.get(word) if word not in ("sat", "sun") else None
        if word in ("sat", "sun") and not (i and words[i - 1] in PRONOUNS):  # "open sat", not "I sat"
            number = 5 if word == "sat" else 6
        if word.endswith("s") and word[:-1] in weekdays and word[:-1] not in NEEDS_DYDD:  # "saturdays"
            number = weekdays[word[:-1]]
        if number is None:
            continue
        if word in NEEDS_DYDD and not (i and words[i - 1] in DYDD):
            continue
        ahead = (number - today.weekday()) % 7
        if i and words[i - 1] == "next" and ahead == 0:
            ahead = 7
        return today + timedelta(days=ahead)
    return None


def asked_day(text: str, today: date, parameter: Any = None, holidays: Iterable[tuple[date, str]] = ()) -> date | None:
    """The day asked about: the ``@sys.date`` parameter, else read from ``text``; None if none.
    ``holidays``: (day, name) pairs whose names residents may use ("Easter Monday", "Dydd Llun y
    Pasg"); only those on or after ``today`` count, the soonest first."""
    found = _from_parameter(parameter)
    if found is not None:
        return found
    folded = fold(text)
    if not folded:
        return None
    numeric = _NUMERIC.search(text)
    if numeric:
        day, month, year = int(numeric.group(1)), int(numeric.group(2)), numeric.group(3)
        try:
            if year:
                return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
            return _next(month, day, today)
        except ValueError:
            pass
    words = _mutated_month(folded.split())
    found = _day_and_month(words, today)
    if found is not None:
        return found
    plain = " ".join(_PLAIN.get(w, w) for w in words)  # "ar ddydd Llun y Pasg", "ar Ŵyl San Steffan"
    for phrase in sorted(FIXED, key=len, reverse=True):  # the calendar's day, even when its bank holiday moved
        if _phrase(plain, phrase):
            return _next(*FIXED[phrase], today)
    named = sorted((day, fold(name)) for day, name in holidays if day >= today and name)
    for day, name in named:
        if _phrase(plain, name):
            return day
    for phrase in sorted(RELATIVE, key=len, reverse=True):
        if _phrase(folded, phrase):
            return today + timedelta(days=RELATIVE[phrase])
    return _weekday(words, today)


def moved_holidays(text: str, day: date, holidays: Iterable[tuple[date, str]]) -> list[date]:
    """Bank holidays named in ``text`` that fall near ``day`` but not on it: "Boxing Day" is
    Saturday 26 December 2026 and its bank holiday Monday 28 December."""
    plain = " ".join(_PLAIN.get(w, w) for w in fold(text).split())
    found = {d for d, name in holidays if d != day and abs((d - day).days) <= 3 and name and _phrase(plain, fold(name))}
    return sorted(found)
