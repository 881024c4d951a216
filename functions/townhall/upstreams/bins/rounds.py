"""Fixed collection rounds: no upstream, only the council's settings and the bank holidays.

Each round collects each of its bins on the weekday of that bin's ``first`` date, every
``every_weeks`` weeks. A collection the council has moved (``exceptions``) happens on its
``moved_to`` date; otherwise bank holidays move it (``bank_holidays.shift``):

- ``rest_of_week``: from a bank holiday to the end of its week, collections are a day later per
  bank holiday so far that week (Monday's on Tuesday ... Friday's on Saturday); one landing on a
  bank holiday moves on to the next day that is not one;
- ``next_day``: only a collection on a bank holiday moves, to the next day that is not one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from townhall.bankholidays import bank_holidays

from . import Collection, Property

WEEK = timedelta(days=7)
DAY = timedelta(days=1)


def round_for(source: Mapping[str, Any], prop: Property) -> str | None:
    """The property's round: the address service's, else by street, else by postcode."""
    known = {r["id"] for r in source["rounds"]}
    if prop.round in known:
        return prop.round
    assign = source.get("assign") or {}
    address = prop.address.casefold()
    for street in sorted(assign.get("streets") or {}, key=len, reverse=True):
        if re.search(rf"(?<!\w){re.escape(street.casefold())}(?!\w)", address):
            return assign["streets"][street]
    return by_postcode(assign.get("postcodes") or {}, prop.postcode)


def by_postcode(table: Mapping[str, str], postcode: str) -> str | None:
    """The longest of the full postcode, its sector, district and area that the table names."""
    outward, _, inward = postcode.partition(" ")
    area = re.match(r"[A-Z]+", outward)
    for key in (postcode, f"{outward} {inward[:1]}", outward, area.group(0) if area else ""):
        if key and key in table:
            return table[key]
    return None


class Calendar:
    """Moves a round's nominal dates to the days collections really happen."""

    def __init__(self, source: Mapping[str, Any]):
        rule = source.get("bank_holidays")
        self.holidays = bank_holidays(rule["division"]) if rule else {}
        self.shift = rule["shift"] if rule else None
        self.exceptions: dict[date, list[Mapping[str, Any]]] = {}
        for item in source.get("exceptions") or []:
            self.exceptions.setdefault(date.fromisoformat(item["date"]), []).append(item)

    def actual(self, nominal: date, round_id: str, bin_type: str) -> date:
        for item in self.exceptions.get(nominal, ()):
            if item.get("round", round_id) == round_id and item.get("bin", bin_type) == bin_type:
                return date.fromisoformat(item["moved_to"])
        day = nominal
        if self.shift == "rest_of_week":
            monday = nominal - timedelta(days=nominal.weekday())
            day += DAY * sum(1 for h in self.holidays if monday <= h <= nominal)
        if self.shift is not None:
            while day in self.holidays:
                day += DAY
        return day


def nominal_dates(first: date, every_weeks: int, start: date, end: date) -> Iterator[date]:
    """``first`` + k x ``every_weeks`` weeks, for every whole k, between ``start`` and ``end``."""
    step = WEEK * every_weeks
    k = -((first - start) // step)  # the first whole k whose date is on or after start
    day = first + k * step
    while day <= end:
        yield day
        day += step


def collections(source: Mapping[str, Any], prop: Property, first: date, last: date) -> list[Collection]:
    """The property's collections from ``first`` to ``last``; none when it has no round."""
    round_id = round_for(source, prop)
    found_round = next((r for r in source["rounds"] if r["id"] == round_id), None)
    if found_round is None:
        return []
    calendar = Calendar(source)
    found = []
    for item in found_round["collections"]:
        # A week either side: moved collections may cross into or out of the window.
        for nominal in nominal_dates(date.fromisoformat(item["first"]), item["every_weeks"], first - WEEK, last + WEEK):
            day = calendar.actual(nominal, found_round["id"], item["bin"])
            if first <= day <= last:
                found.append(Collection(day, item["bin"]))
    return found
