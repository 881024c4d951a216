"""Is a bin missed, not yet missed, or too late to report? Pure: the collections and the time.

- collected today and the crews are still out (before ``crews_finish``): ``not_yet``;
- the last collection (today after ``crews_finish``, or an earlier day) was at most ``window``
  working days ago: ``report`` (that collection);
- it was longer ago: ``not_due`` (the next one) when the next collection is nearer than the last
  was (the resident is early for it), else ``too_late`` (with the next collection, if known);
- no collection in the last weeks but one coming: ``not_due`` (the next one);
- nothing known either way: ``unknown``.

Working days are Monday to Friday except the bank holidays given.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from townhall.upstreams.bins import Collection


@dataclass(frozen=True)
class Verdict:
    kind: str  # not_yet | report | too_late | not_due | unknown
    day: date | None = None  # today (not_yet), the missed collection (report, too_late), the next (not_due)
    next: date | None = None  # the next collection after ``day``, when known


def last_day_to_report(collected: date, window: int, holidays: Container[date]) -> date:
    """The last day a collection may be reported: ``window`` working days after it."""
    day, counted = collected, 0
    while counted < window:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            counted += 1
    return day


def verdict(
    found: Iterable[Collection],
    bin_type: str,
    now: datetime,
    crews_finish: time,
    window: int,
    holidays: Container[date] = (),
) -> Verdict:
    today = now.date()
    days = sorted({c.date for c in found if c.bin_type == bin_type})
    crews_out = now.time() < crews_finish
    if today in days and crews_out:
        return Verdict("not_yet", today)
    done = [d for d in days if d < today or (d == today and not crews_out)]
    coming = [d for d in days if d > today]
    upcoming = coming[0] if coming else None
    if done:
        last = done[-1]
        if today <= last_day_to_report(last, window, holidays):
            return Verdict("report", last, upcoming)
        if upcoming is not None and upcoming - today < today - last:
            return Verdict("not_due", upcoming)
        return Verdict("too_late", last, upcoming)
    if upcoming is not None:
        return Verdict("not_due", upcoming)
    return Verdict("unknown")
