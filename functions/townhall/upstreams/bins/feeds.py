"""Collection sources with an upstream: iCal feeds, a council's JSON API, UKBinCollectionData output.

Each reader fetches the property's URL (``{uprn}``/``{postcode}`` filled in) and turns every entry
into ``Collection``s through the settings' ``types`` rules; an entry no rule names is left out.
An answer that breaks its format raises ``UpstreamError("malformed")``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from townhall.contract import Deadline
from townhall.upstream import Upstream, UpstreamError

from . import Collection, Property, bins_named, dig, fill, window

LONDON = ZoneInfo("Europe/London")
UKBCD_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


def local_date(value: date | datetime) -> date:
    """A date as residents in the UK count it: times with a zone are read in London time."""
    if isinstance(value, datetime):
        return (value.astimezone(LONDON) if value.tzinfo else value).date()
    return value


def _malformed(what: str) -> UpstreamError:
    return UpstreamError("malformed", f"bin collections: {what}")


# -- iCal --------------------------------------------------------------------------------------------


def parse_ical(data: bytes, types: list, first: date, last: date) -> Iterator[Collection]:
    """Collections between ``first`` and ``last`` (inclusive) in an iCalendar feed."""
    import icalendar  # imported when a feed is read: no cost to other turns
    import recurring_ical_events

    try:
        calendar = icalendar.Calendar.from_ical(data)
        if calendar.name != "VCALENDAR":
            raise ValueError(f"a {calendar.name}, not a VCALENDAR")
        events = recurring_ical_events.of(calendar).between(first, last + timedelta(days=1))
        found = [(str(e.get("SUMMARY", "")), local_date(e.decoded("DTSTART"))) for e in events]
    except Exception as e:  # noqa: BLE001 - the parsers raise many kinds; all mean a broken feed
        raise _malformed(f"not a usable iCalendar feed ({type(e).__name__})") from None
    for summary, day in found:
        for bin_type in bins_named(summary, types):
            yield Collection(day, bin_type)


def read_ical(
    source: Mapping[str, Any], prop: Property, upstream: Upstream, deadline: Deadline, today: date
) -> list[Collection]:
    response = upstream.http.get(fill(source["url"], prop), deadline=deadline)
    return list(parse_ical(response.data, source["types"], *window(today)))


# -- the council's JSON API ----------------------------------------------------------------------------


def parse_date(value: str, date_format: str) -> date:
    value = value.strip()
    if date_format == "iso":
        return local_date(datetime.fromisoformat(value))
    return local_date(datetime.strptime(value, date_format))


def parse_json(data: Any, source: Mapping[str, Any]) -> Iterator[Collection]:
    items = dig(data, source["list"])
    if not isinstance(items, list):
        raise _malformed(f"no list at {source['list'] or 'the top level'!r}")
    for item in items:
        name = dig(item, source["type_field"]) if isinstance(item, Mapping) else None
        if not isinstance(name, str):
            raise _malformed(f"an item without a text {source['type_field']!r}")
        when = dig(item, source["date_field"])
        if when in (None, "", []):
            continue  # nothing scheduled for this one
        for value in when if isinstance(when, list) else [when]:
            if not isinstance(value, str):
                raise _malformed(f"{source['date_field']!r} is not a date written as text")
            try:
                day = parse_date(value, source["date_format"])
            except ValueError:
                raise _malformed(f"{source['date_field']!r} is not written as {source['date_format']!r}") from None
            for bin_type in bins_named(name, source["types"]):
                yield Collection(day, bin_type)


def read_json(
    source: Mapping[str, Any], prop: Property, upstream: Upstream, deadline: Deadline, today: date
) -> list[Collection]:
    response = upstream.http.get(fill(source["url"], prop), deadline=deadline)
    return list(parse_json(response.json(), source))


# -- UKBinCollectionData output ---------------------------------------------------------------------


def parse_ukbcd(data: Any, types: list) -> Iterator[Collection]:
    """``{"bins": [{"type": str, "collectionDate": "dd/mm/yyyy"}]}`` (its tests/output.schema).

    Extra keys are ignored and an empty list means no collections: what matters is that every
    entry has a type and a date in the format.
    """
    bins = data.get("bins") if isinstance(data, Mapping) else None
    if not isinstance(bins, list):
        raise _malformed("no 'bins' list (UKBinCollectionData format)")
    for entry in bins:
        kind = entry.get("type") if isinstance(entry, Mapping) else None
        when = entry.get("collectionDate") if isinstance(entry, Mapping) else None
        if not isinstance(kind, str) or not isinstance(when, str) or not UKBCD_DATE.match(when):
            raise _malformed("an entry without a 'type' and a dd/mm/yyyy 'collectionDate'")
        try:
            day = datetime.strptime(when, "%d/%m/%Y").date()
        except ValueError:
            raise _malformed(f"{when!r} is not a date") from None
        for bin_type in bins_named(kind, types):
            yield Collection(day, bin_type)


def read_ukbcd(
    source: Mapping[str, Any], prop: Property, upstream: Upstream, deadline: Deadline, today: date
) -> list[Collection]:
    response = upstream.http.get(fill(source["url"], prop), deadline=deadline)
    return list(parse_ukbcd(response.json(), source["types"]))


READERS = {"ical": read_ical, "json": read_json, "ukbcd": read_ukbcd}
