"""bin_collection: "when is my bin day?", answered per bin in plain words.

Postcode, then the address when the postcode has several properties (``AddressFlow``), then the
next collection of each of the council's bins from its source (an iCal feed, its JSON API,
UKBinCollectionData output or fixed rounds: ``townhall.upstreams.bins``). The property is kept in
``bin_collection-property``, so "and my garden waste?" is answered without asking again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from townhall import dates
from townhall.contract import Link, Reply, Settings, Texts, Turn
from townhall.kit import localised
from townhall.replies import how_to_reach
from townhall.upstream import UpstreamError
from townhall.upstreams.bins import Collection, Property, collections
from townhall.upstreams.bins.flow import AddressFlow, bin_asked, bin_name

PROCESS = "bin_collection"


def when(t: Texts, settings: Settings, kind: str, day: date, today: date) -> str:
    """ "Your blue recycling bin goes out tomorrow, Wednesday 2 December." and the like."""
    key = "today" if day == today else "tomorrow" if day == today + timedelta(days=1) else "on"
    if settings.process["bins"][kind].get("plural"):
        key += "_plural"
    return t(f"next_{key}", bin=bin_name(settings, kind, t.language), date=dates.long_date(day, t.language))


def next_per_bin(found: list[Collection], bins: Mapping[str, Any], today: date) -> list[Collection]:
    """The next collection of each of the council's bins, soonest first (ties in the settings' order)."""
    order = list(bins)
    first: dict[str, Collection] = {}
    for collection in found:
        if collection.date >= today and collection.bin_type in bins and collection.bin_type not in first:
            first[collection.bin_type] = collection
    return sorted(first.values(), key=lambda c: (c.date, order.index(c.bin_type)))


def answer(turn: Turn, settings: Settings, prop: Property, carry: Mapping[str, Any]) -> Reply:
    t, s = settings.texts, settings.process
    today = turn.now.date()
    reach, links = how_to_reach(settings.council, turn.language)
    if s.get("link"):
        links = (Link(localised(s["link"]["title"], turn.language), s["link"]["url"]), *links)
    try:
        found = collections(s["source"], prop, settings.upstream, turn.deadline, today)
    except UpstreamError:
        return Reply([t("collections_failed"), reach], links=links)
    upcoming = next_per_bin(found, s["bins"], today)
    wanted = carry.get("bin")
    lead = t("for_address", address=prop.address)
    if wanted and wanted not in s["bins"]:
        text = [t("no_such_bin", kind=t(f"kind_{wanted}"))]
        text += [when(t, settings, c.bin_type, c.date, today) for c in upcoming]
        return Reply([lead, *text], links=links, quick_replies=_others(settings, turn))
    if wanted:
        upcoming = [c for c in upcoming if c.bin_type == wanted]
        if not upcoming:
            note = s["bins"][wanted].get("note")
            text = [t("none_coming", bin=bin_name(settings, wanted, turn.language))]
            text += [localised(note, turn.language)] if note else [reach]
            return Reply([lead, *text], links=links, quick_replies=_others(settings, turn))
    if not upcoming:
        return Reply([lead, t("no_collections"), reach], links=links)
    lines = [when(t, settings, c.bin_type, c.date, today) for c in upcoming]
    return Reply([lead, *lines], links=links, quick_replies=_others(settings, turn))


def _others(settings: Settings, turn: Turn) -> tuple[str, ...]:
    """Where residents often go next: reporting a missed bin, when the council offers it."""
    return (settings.texts("report_missed"),) if settings.council.offers("missed_bin") else ()


def handle(turn: Turn, settings: Settings) -> Reply:
    flow = AddressFlow(PROCESS, turn, settings, lambda prop, carry: answer(turn, settings, prop, carry))
    if turn.action == "postcode":
        return flow.postcode()
    if turn.action == "address":
        return flow.address()
    wanted = bin_asked(turn, settings.process["bins"])
    return flow.start({"bin": wanted} if wanted else {})
