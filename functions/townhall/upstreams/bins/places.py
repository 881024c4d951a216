"""The properties of a postcode: OS Places, a council's own address endpoint, or a settings table.

Addresses come back as residents would write them ("Flat 2, 10 Demo Street, Cardiff"), without
the postcode, in the service's order. No property for a postcode is an empty list, not an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from townhall.contract import Deadline
from townhall.postcodes import compact
from townhall.upstream import Upstream, UpstreamError

from . import Property, dig, fill

MAX_RESULTS = 100  # OS Places' largest page; a postcode with more is very rare
SMALL_WORDS = frozenset(["a", "an", "and", "at", "by", "for", "in", "of", "on", "the", "upon", "y", "yr", "ar", "o"])


def _malformed(what: str) -> UpstreamError:
    return UpstreamError("malformed", f"addresses: {what}")


def _title(word: str, first: bool) -> str:
    """One word of an address written in capitals: 'HEOL-Y-DELYN' -> 'Heol-y-Delyn', '2A' kept."""
    if any(ch.isdigit() for ch in word):
        return word
    parts = word.split("-")
    return "-".join(
        part.lower() if part.lower() in SMALL_WORDS and not (first and j == 0) else part.capitalize()
        for j, part in enumerate(parts)
    )


def tidy(address: str, postcode: str) -> str:
    """An address without its postcode, numbers joined to their street, capitals only where due
    when the service writes in capitals ('10, DEMO STREET, CARDIFF' -> '10 Demo Street, Cardiff')."""
    text = " ".join(address.split())
    text = re.sub(rf",?\s*{re.escape(postcode)}$|,?\s*{re.escape(compact(postcode))}$", "", text, flags=re.I)
    text = re.sub(r"(^|, )(\d+[A-Za-z]?), ", r"\1\2 ", text)
    if text.isupper():
        words = text.split(" ")
        text = " ".join(_title(w, i == 0 or words[i - 1].endswith(",")) for i, w in enumerate(words))
    return text.strip(" ,")


def read_os_places(
    settings: Mapping[str, Any], postcode: str, upstream: Upstream, deadline: Deadline
) -> list[Property]:
    """OS Places ``GET /postcode``: ``results[].DPA.{UPRN, ADDRESS}``; no hits -> no ``results``.

    A 400 is OS Places saying the postcode is not one it can look up: no properties.
    """
    params = {
        "postcode": postcode,
        "key": upstream.secret(settings["api_key_secret"]),
        "dataset": "DPA",
        "maxresults": MAX_RESULTS,
    }
    # A 400 is an answer here, not a failure: neither logged nor counted against the turn.
    response = upstream.http.get(f"{settings['url']}/postcode", params=params, deadline=deadline, ok=(200, 400))
    if response.status == 400:
        return []
    data = response.json()
    if not isinstance(data, Mapping):
        raise _malformed("OS Places answered with something other than an object")
    results = data.get("results", [])
    if not isinstance(results, list):
        raise _malformed("OS Places 'results' is not a list")
    found = []
    for result in results:
        record = (result.get("DPA") or result.get("LPI")) if isinstance(result, Mapping) else None
        uprn = record.get("UPRN") if isinstance(record, Mapping) else None
        address = record.get("ADDRESS") if isinstance(record, Mapping) else None
        if not isinstance(uprn, (str, int)) or not isinstance(address, str) or not address.strip():
            raise _malformed("an OS Places result without a UPRN and an ADDRESS")
        found.append(Property(tidy(address, postcode), postcode, str(uprn)))
    return found


def read_json(settings: Mapping[str, Any], postcode: str, upstream: Upstream, deadline: Deadline) -> list[Property]:
    """The council's endpoint, mapped by the settings' ``list``, ``uprn_field``, ``address_field``
    and optional ``round_field``."""
    response = upstream.http.get(fill(settings["url"], postcode=postcode), deadline=deadline)
    items = dig(response.json(), settings["list"])
    if not isinstance(items, list):
        raise _malformed(f"no list at {settings['list'] or 'the top level'!r}")
    found = []
    for item in items:
        uprn = dig(item, settings["uprn_field"])
        address = dig(item, settings["address_field"])
        round_ = dig(item, settings["round_field"]) if settings.get("round_field") else None
        if (
            not isinstance(uprn, (str, int))
            or isinstance(uprn, bool)
            or not isinstance(address, str)
            or not address.strip()
        ):
            raise _malformed(f"an item without {settings['uprn_field']!r} and {settings['address_field']!r}")
        found.append(
            Property(
                tidy(address, postcode),
                postcode,
                str(uprn),
                str(round_) if isinstance(round_, (str, int)) and round_ != "" else None,
            )
        )
    return found


def read_table(settings: Mapping[str, Any], postcode: str, upstream: Upstream, deadline: Deadline) -> list[Property]:
    return [
        Property(p["address"], p["postcode"], p.get("uprn"), p.get("round"))
        for p in settings["properties"]
        if p["postcode"] == postcode
    ]


def postcode_only(source: Mapping[str, Any], postcode: str) -> list[Property]:
    """No address service: fixed rounds assigned by postcode make the postcode the property."""
    if source["type"] != "rounds":
        return []
    from .rounds import by_postcode

    round_ = by_postcode((source.get("assign") or {}).get("postcodes") or {}, postcode)
    return [Property(postcode, postcode, None, round_)] if round_ else []


READERS = {"os_places": read_os_places, "json": read_json, "table": read_table}
