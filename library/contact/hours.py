"""Opening hours: weekly ranges, bank holidays (``townhall.bankholidays``) and council closure dates.

Pure functions of the settings and a given local time; nothing here reads the clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Mapping

from townhall.bankholidays import bank_holidays

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LOOKAHEAD_DAYS = 14


@dataclass(frozen=True)
class Span:
    opens: time
    closes: time


@dataclass(frozen=True)
class Closure:
    day: date
    reason: str  # a bank holiday's title, or the council's own reason (may be empty)


@dataclass(frozen=True)
class Status:
    open_now: bool
    closes: time | None  # when open now: closing time of the current span
    next_open: datetime | None  # when closed now: the next opening within the look-ahead
    closed_today: Closure | None  # today is a bank holiday or closure day


def parse_spans(value: str | None) -> tuple[Span, ...]:
    """``"09:00-12:30, 13:30-17:00"`` -> spans; ``"closed"`` or missing -> none."""
    if not value or value.strip().lower() == "closed":
        return ()
    spans = []
    for part in value.split(","):
        start, _, end = part.strip().partition("-")
        spans.append(Span(time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
    return tuple(spans)


class Hours:
    """A weekly timetable with its closures."""

    def __init__(self, weekly: Mapping[str, str], division: str | None, closures: Mapping[date, str]):
        self.weekly = {day: parse_spans(weekly.get(day)) for day in WEEKDAYS}
        self.division = division
        # Bank holidays and the council's own closures in one map; the council's reasons win.
        self.closures = {**(bank_holidays(division) if division else {}), **closures}
        self._days = sorted(self.closures)

    @classmethod
    def from_settings(cls, weekly: Mapping[str, str], division: str | None, closures: list | None = None,
                      language: str = "en") -> "Hours":
        own = {}
        for item in closures or []:
            reason = item.get("reason") or {}
            own[date.fromisoformat(item["date"])] = reason.get(language) or reason.get("en") or ""
        return cls(weekly, division, own)

    def closure(self, day: date) -> Closure | None:
        reason = self.closures.get(day)
        return None if reason is None else Closure(day, reason)

    def spans(self, day: date) -> tuple[Span, ...]:
        return () if self.closure(day) else self.weekly[WEEKDAYS[day.weekday()]]

    def status(self, now: datetime) -> Status:
        today = now.date()
        for span in self.spans(today):
            if span.opens <= now.time() < span.closes:
                return Status(True, span.closes, None, None)
        return Status(False, None, self.next_open(now), self.closure(today))

    def next_open(self, now: datetime) -> datetime | None:
        for offset in range(LOOKAHEAD_DAYS + 1):
            day = now.date() + timedelta(days=offset)
            for span in self.spans(day):
                start = datetime.combine(day, span.opens, tzinfo=now.tzinfo)
                if start > now:
                    return start
        return None

    def upcoming_closures(self, now: datetime, days: int = LOOKAHEAD_DAYS) -> list[Closure]:
        """Closures on days the council would otherwise open, within the next ``days`` days."""
        first, last = now.date(), now.date() + timedelta(days=days)
        return [
            Closure(day, self.closures[day])
            for day in self._days[bisect_left(self._days, first):bisect_right(self._days, last)]
            if self.weekly[WEEKDAYS[day.weekday()]]
        ]
