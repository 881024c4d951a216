"""Opening hours: weekly ranges, bank holidays (``townhall.bankholidays``) and council closure dates.

Pure functions of the settings and a given local time; nothing here reads the clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from townhall.bankholidays import bank_holidays
from townhall.kit import localised

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


ONE_DAY = timedelta(days=1)


class Hours:
    """A weekly timetable with its closures. Built once per settings load; each turn only looks
    things up (a resident's question runs ``status`` and ``next_open`` once each)."""

    def __init__(self, weekly: Mapping[str, str], division: str | None, closures: Mapping[date, str]):
        self.weekly = {day: parse_spans(weekly.get(day)) for day in WEEKDAYS}
        self._by_weekday = tuple(self.weekly[day] for day in WEEKDAYS)  # Monday = 0, as date.weekday()
        self.division = division
        # Bank holidays and the council's own closures in one map; the council's reasons win.
        self.closures = {**(bank_holidays(division) if division else {}), **closures}
        self._days = sorted(self.closures)

    @classmethod
    def from_settings(
        cls, weekly: Mapping[str, str], division: str | None, closures: list | None = None, language: str = "en"
    ) -> Hours:
        own = {}
        for item in closures or []:
            own[date.fromisoformat(item["date"])] = localised(item.get("reason"), language) or ""
        return cls(weekly, division, own)

    def closure(self, day: date) -> Closure | None:
        reason = self.closures.get(day)
        return None if reason is None else Closure(day, reason)

    def status(self, now: datetime) -> Status:
        today = now.date()
        if today not in self.closures:
            at = now.time()
            for span in self._by_weekday[today.weekday()]:
                if span.opens <= at < span.closes:
                    return Status(True, span.closes, None, None)
        return Status(False, None, self.next_open(now), self.closure(today))

    def next_open(self, now: datetime) -> datetime | None:
        day, at = now.date(), now.time()
        if day not in self.closures:
            for span in self._by_weekday[day.weekday()]:
                if span.opens > at:
                    return datetime.combine(day, span.opens, tzinfo=now.tzinfo)
        for _ in range(LOOKAHEAD_DAYS):
            day += ONE_DAY
            if day not in self.closures:
                spans = self._by_weekday[day.weekday()]
                if spans:
                    return datetime.combine(day, spans[0].opens, tzinfo=now.tzinfo)
        return None

    def upcoming_closures(self, now: datetime, days: int = LOOKAHEAD_DAYS) -> list[Closure]:
        """Closures on days the council would otherwise open, within the next ``days`` days."""
        first = now.date()
        found = self._days[bisect_left(self._days, first) : bisect_right(self._days, first + timedelta(days=days))]
        return [Closure(day, self.closures[day]) for day in found if self._by_weekday[day.weekday()]]
