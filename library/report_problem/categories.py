"""The problems a resident can report: the council's Open311 services lists, routed by tier.

A unitary council has one endpoint (``district`` in the settings: the council's own). In a
two-tier area the county owns some categories (highways, street lights in most): the settings
name them by group or service code under ``categories``, and those are offered from the county's
endpoint and dropped from the district's, so each report goes to the council that deals with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from townhall.contract import Deadline
from townhall.upstream import Upstream, UpstreamError
from townhall.upstreams import open311

TIERS = ("district", "county")
MENU_SIZE = 8  # more categories than this are offered by group first
MAX_CHOICES = 12


@dataclass(frozen=True)
class Category:
    tier: str  # which endpoint takes the report: "district" (the council's own) or "county"
    code: str
    name: str  # as the endpoint names it (English)
    group: str = ""
    type: str = "realtime"
    keywords: tuple[str, ...] = ()
    metadata: bool = False

    def to_json(self) -> dict:
        return {
            "tier": self.tier,
            "code": self.code,
            "name": self.name,
            "group": self.group,
            "type": self.type,
            "metadata": self.metadata,
        }

    @classmethod
    def from_json(cls, data: Any) -> Category | None:
        """A category kept in a context, checked (contexts come back from outside)."""
        if not isinstance(data, Mapping):
            return None
        fields = {k: data.get(k) for k in ("tier", "code", "name", "group", "type")}
        if fields["tier"] not in TIERS or not all(isinstance(fields[k], str) and fields[k] for k in ("code", "name")):
            return None
        if not isinstance(fields["group"], str) or not isinstance(fields["type"], str):
            return None
        return cls(
            fields["tier"],
            fields["code"][:100],
            fields["name"][:200],
            fields["group"][:200],
            fields["type"][:20],
            (),
            bool(data.get("metadata")),
        )


@dataclass(frozen=True)
class Offer:
    categories: tuple[Category, ...]
    unavailable: tuple[str, ...] = ()  # tiers whose list could not be read this turn
    hidden: tuple[Category, ...] = ()  # listed by the endpoints but not offered here (hide_service_codes)


def welsh(settings: Mapping[str, Any], text: str, language: str) -> str | None:
    """The council's Welsh for an English name or question from its endpoint, in a Welsh turn."""
    if language != "cy":
        return None
    return (settings.get("welsh_names") or {}).get(text)


def shown(settings: Mapping[str, Any], text: str, language: str) -> str:
    """How an endpoint's English text is shown in the turn's language (Welsh where the council gave it)."""
    return welsh(settings, text, language) or text


def _routing(settings: Mapping[str, Any]) -> tuple[set[str], set[str], set[str]]:
    routing = settings.get("categories") or {}
    groups = {g.casefold() for g in routing.get("county_groups", [])}
    codes = set(routing.get("county_service_codes", []))
    hidden = set(routing.get("hide_service_codes", []))
    return groups, codes, hidden


def owned_by_county(settings: Mapping[str, Any], service: open311.Service) -> bool:
    if "county" not in settings["endpoints"]:
        return False
    groups, codes, _ = _routing(settings)
    return service.code in codes or service.group.casefold() in groups


def offer(settings: Mapping[str, Any], upstream: Upstream, deadline: Deadline) -> Offer:
    """The categories offered now, from each endpoint's (cached) services list.

    A list that cannot be read leaves its tier out (``Offer.unavailable``); when no list can be
    read, the first ``UpstreamError`` is raised.
    """
    _, _, hidden = _routing(settings)
    found: list[Category] = []
    hidden_found: list[Category] = []
    unavailable: list[str] = []
    first_error: UpstreamError | None = None
    for tier in TIERS:
        endpoint = settings["endpoints"].get(tier)
        if endpoint is None:
            continue
        try:
            services = open311.Client(upstream, endpoint).services(deadline)
        except UpstreamError as e:
            unavailable.append(tier)
            first_error = first_error or e
            continue
        for service in services:
            if (tier == "county") != owned_by_county(settings, service):
                continue
            category = Category(
                tier, service.code, service.name, service.group, service.type, service.keywords, service.metadata
            )
            (hidden_found if service.code in hidden else found).append(category)
    if not found and first_error is not None:
        raise first_error
    return Offer(tuple(found), tuple(unavailable), tuple(hidden_found))


def labels(settings: Mapping[str, Any], category: Category) -> tuple[str, ...]:
    """Every name a resident may use for a category: the endpoint's and the council's Welsh one."""
    cy = (settings.get("welsh_names") or {}).get(category.name)
    return (category.name, cy) if cy else (category.name,)


def menu(settings: Mapping[str, Any], categories: tuple[Category, ...], language: str) -> list[str]:
    """Quick replies: every category when there are few, else the groups (and ungrouped ones)."""
    if len(categories) <= MENU_SIZE:
        return [shown(settings, c.name, language) for c in categories][:MAX_CHOICES]
    choices: list[str] = []
    for category in categories:
        label = shown(settings, category.group or category.name, language)
        if label not in choices:
            choices.append(label)
    return choices[:MAX_CHOICES]


def groups(settings: Mapping[str, Any], categories: tuple[Category, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """(group, its names in English and Welsh) for each group of the categories."""
    seen: dict[str, tuple[str, ...]] = {}
    for category in categories:
        if category.group and category.group not in seen:
            cy = (settings.get("welsh_names") or {}).get(category.group)
            seen[category.group] = (category.group, cy) if cy else (category.group,)
    return list(seen.items())
