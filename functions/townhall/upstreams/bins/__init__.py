"""Bin collection days and the properties of a postcode, from whichever service a council uses.

Shared by the bin processes (``bin_collection``, ``missed_bin``), each of which has the settings
blocks defined once in ``settings.schema.json`` (``addresses``, ``source``, ``bins``; process schemas
``$ref`` them through the schema registry, townhall/library.py):

    props = addresses(settings.get("addresses"), settings["source"], "OX4 1YB", up, turn.deadline)
    found = collections(settings["source"], props[0], up, turn.deadline, today=turn.now.date())
    # -> [Collection(bin_type="recycling", date=date(2026, 12, 2)), ...] sorted by date

Collection sources (``source.type``): ``ical`` (a feed per property, recurring events expanded),
``json`` (the council's API, mapped field by field), ``ukbcd`` (the UKBinCollectionData output
format) and ``rounds`` (fixed rounds from the settings, moved by bank holidays and the council's
exceptions; no upstream). Address sources (``addresses.type``): ``os_places`` (OS Places API),
``json`` (the council's endpoint, mapped) and ``table`` (a list in the settings); without one,
fixed rounds assigned by postcode work from the postcode alone.

Every call goes through ``upstream.http`` inside the deadline; anything unusable raises
``townhall.upstream.UpstreamError`` (``malformed`` for an answer that breaks its contract).
``fake.py`` serves demo versions of every upstream kind (prefix ``bins``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from townhall.contract import Deadline
from townhall.postcodes import normalise
from townhall.upstream import Upstream, UpstreamError

PAST_DAYS = 28  # how far back collections are kept (a missed bin is reported within days)
AHEAD_DAYS = 70  # how far ahead they are looked for (a monthly bin, with a holiday in between)
KINDS = ("rubbish", "recycling", "food", "garden", "glass", "paper", "plastics", "textiles", "electricals", "hygiene")


@dataclass(frozen=True)
class Property:
    """A property residents pick by address. ``uprn`` is None when only the postcode is known
    (fixed rounds assigned by postcode); ``round`` is the collection round when a source gives one."""

    address: str
    postcode: str
    uprn: str | None = None
    round: str | None = None

    def to_context(self) -> dict:
        return {
            k: v
            for k, v in (
                ("address", self.address),
                ("postcode", self.postcode),
                ("uprn", self.uprn),
                ("round", self.round),
            )
            if v
        }

    @classmethod
    def from_context(cls, value: Any) -> Property | None:
        """The property a context carries, or None when it holds nothing usable."""
        if not isinstance(value, Mapping):
            return None
        address, postcode = value.get("address"), normalise(value.get("postcode"))
        if not isinstance(address, str) or not address or postcode is None:
            return None
        uprn, round_ = value.get("uprn"), value.get("round")
        return cls(
            address,
            postcode,
            str(uprn) if isinstance(uprn, (str, int)) and uprn != "" else None,
            round_ if isinstance(round_, str) and round_ else None,
        )


@dataclass(frozen=True, order=True)
class Collection:
    date: date
    bin_type: str  # a kind of bin (KINDS), as the council's settings map the upstream's names


def fill(template: str, prop: Property | None = None, postcode: str | None = None) -> str:
    """A URL template with ``{uprn}`` and ``{postcode}`` filled in, URL-encoded."""
    values = {"uprn": (prop.uprn if prop else None) or "", "postcode": postcode or (prop.postcode if prop else "")}
    if "{uprn}" in template and not values["uprn"]:
        raise UpstreamError("unconfigured", "the collection source needs a UPRN and the property has none")
    return template.replace("{uprn}", quote(values["uprn"], safe="")).replace(
        "{postcode}", quote(values["postcode"], safe="")
    )


def bins_named(name: str, types: list[Mapping[str, str]]) -> list[str]:
    """The bins an upstream's name for a collection stands for: every rule whose text it holds."""
    lowered = name.casefold()
    found: list[str] = []
    for rule in types:
        if rule["match"].casefold() in lowered and rule["bin"] not in found:
            found.append(rule["bin"])
    return found


def dig(value: Any, path: str) -> Any:
    """The value at a dotted path ('data.items', '0.name'); ``''`` is the value itself."""
    for part in path.split(".") if path else ():
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def window(today: date) -> tuple[date, date]:
    return today - timedelta(days=PAST_DAYS), today + timedelta(days=AHEAD_DAYS)


def collections(
    source: Mapping[str, Any], prop: Property, upstream: Upstream, deadline: Deadline, today: date
) -> list[Collection]:
    """The property's collections from ``PAST_DAYS`` before ``today`` to ``AHEAD_DAYS`` after it,
    sorted by date; empty when the source knows none (e.g. no round for the property)."""
    kind = source["type"]
    if kind == "rounds":
        from .rounds import collections as from_rounds

        found = from_rounds(source, prop, *window(today))
    else:
        from . import feeds

        found = feeds.READERS[kind](source, prop, upstream, deadline, today)
    first, last = window(today)
    return sorted({c for c in found if first <= c.date <= last})


def addresses(
    settings: Mapping[str, Any] | None, source: Mapping[str, Any], postcode: str, upstream: Upstream, deadline: Deadline
) -> list[Property]:
    """The properties of a postcode (normalised, 'OX4 1YB'), in the address service's order.

    Without an address service, fixed rounds assigned by postcode give one property: the postcode.
    """
    from . import places

    if settings is None:
        return places.postcode_only(source, postcode)
    return places.READERS[settings["type"]](settings, postcode, upstream, deadline)
