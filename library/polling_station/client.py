"""Democracy Club developer API v1 (WhereDoIVote): polling stations and elections by postcode.

    api = DemocracyClub(settings.upstream.http, base_url, key)
    result = api.postcode("OX1 1BX", deadline)       # GET {base}/postcode/OX11BX/?auth_token=...
    if result.address_picker:                         # the postcode is split between polling districts
        result = api.address(result.addresses[0].slug, deadline)   # GET {base}/address/{slug}/

``base_url`` is ``https://developers.democracyclub.org.uk/api/v1`` (or ``.../api/v1/sandbox``).
Errors: ``NotFound`` (unknown postcode: 404 with an empty body; unknown address: 404
``{"detail": "Address not found"}``), ``BadPostcode`` (400 ``{"detail": "Could not geocode from any
source"}``, or ``{"error": ...}`` as the current aggregator wraps it), and ``UpstreamError`` for
everything else (401 ``{"message": "Unauthorized"}`` for a bad key, 5xx, timeouts, bodies that are
not the contract's). The auth token travels in the query string, which the upstream log never
records.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from townhall.contract import Deadline
from townhall.postcodes import compact
from townhall.upstream import Http, UpstreamError

SLUG = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class NotFound(Exception):
    """Democracy Club knows no such postcode or address."""


class BadPostcode(Exception):
    """Democracy Club could not place the postcode (its 400); ``detail`` is its words."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Contact:
    """An electoral services or registration office (any field may be empty)."""

    name: str
    nation: str
    address: str
    postcode: str
    phone: str
    email: str
    website: str

    def reaches(self) -> tuple[str, str, str, str]:
        return (self.phone, self.email, self.website, self.address)


@dataclass(frozen=True)
class Address:
    address: str
    postcode: str
    slug: str


@dataclass(frozen=True)
class Station:
    address: tuple[str, ...]  # lines
    postcode: str


@dataclass(frozen=True)
class Notification:
    type: str  # voter_id, cancelled_election, pre_eco, ...
    title: str
    detail: str
    url: str


@dataclass(frozen=True)
class Ballot:
    id: str
    title: str
    cancelled: bool
    cancellation_reason: str  # NO_CANDIDATES, EQUAL_CANDIDATES, UNDER_CONTESTED, CANDIDATE_DEATH or ""
    requires_voter_id: str  # EA-2022, EFA-2002, pilot-2018, pilot-2019 or ""
    replaced_by: str


@dataclass(frozen=True)
class ElectionDate:
    day: date
    station_known: bool
    station: Station | None
    custom_finder: str  # deprecated by Democracy Club, still sent in Northern Ireland
    notifications: tuple[Notification, ...]
    ballots: tuple[Ballot, ...]


@dataclass(frozen=True)
class Result:
    address_picker: bool
    addresses: tuple[Address, ...]
    dates: tuple[ElectionDate, ...]
    electoral_services: Contact | None
    registration: Contact | None  # None: use electoral_services (the API's rule)

    @property
    def registration_contact(self) -> Contact | None:
        return self.registration or self.electoral_services


def _malformed(why: str, status: int = 200) -> UpstreamError:
    return UpstreamError("malformed", f"Democracy Club answer: {why}", status)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _list(data: Mapping, key: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(f"{key} is not a list")
    return value


def _object(value: Any, what: str) -> Mapping:
    if not isinstance(value, dict):
        raise _malformed(f"{what} is not an object")
    return value


def _contact(value: Any) -> Contact | None:
    if value is None:
        return None
    data = _object(value, "a contact")
    fields = ("name", "nation", "address", "postcode", "phone", "email", "website")
    return Contact(*(_text(data.get(k)) for k in fields))


def _station(value: Any) -> Station | None:
    if value is None:
        return None
    properties = _object(_object(value, "station").get("properties"), "station properties")
    lines = tuple(line.strip() for line in _text(properties.get("address")).splitlines() if line.strip())
    if not lines:
        return None
    return Station(lines, _text(properties.get("postcode")))


def _ballot(value: Any) -> Ballot:
    data = _object(value, "a ballot")
    title = _text(data.get("ballot_title")) or _text(data.get("election_name"))
    if not title:
        raise _malformed("a ballot has no title")
    return Ballot(
        _text(data.get("ballot_paper_id")),
        title,
        data.get("cancelled") is True,
        _text(data.get("cancellation_reason")),
        _text(data.get("requires_voter_id")),
        _text(data.get("replaced_by")),
    )


def _date(value: Any) -> ElectionDate:
    data = _object(value, "a date")
    try:
        day = date.fromisoformat(_text(data.get("date")))
    except ValueError:
        raise _malformed("a date is not YYYY-MM-DD") from None
    station = data.get("polling_station")
    station = {} if station is None else _object(station, "polling_station")
    notifications = tuple(
        Notification(_text(n.get("type")), _text(n.get("title")), _text(n.get("detail")), _text(n.get("url")))
        for n in (_object(x, "a notification") for x in _list(data, "notifications"))
    )
    return ElectionDate(
        day=day,
        station_known=station.get("polling_station_known") is True,
        station=_station(station.get("station")),
        custom_finder=_text(station.get("custom_finder")),
        notifications=notifications,
        ballots=tuple(_ballot(b) for b in _list(data, "ballots")),
    )


def parse(data: Any) -> Result:
    """A ``Result`` from a postcode or address answer; ``malformed`` when it is not one."""
    data = _object(data, "the answer")
    picker = data.get("address_picker")
    if not isinstance(picker, bool) or not isinstance(data.get("dates"), list):
        raise _malformed("address_picker or dates missing")
    addresses = []
    for item in _list(data, "addresses"):
        item = _object(item, "an address")
        slug = _text(item.get("slug"))
        if SLUG.match(slug) and _text(item.get("address")):
            addresses.append(Address(_text(item["address"]), _text(item.get("postcode")), slug))
    if picker and not addresses:
        raise _malformed("an address picker without addresses")
    return Result(
        picker,
        tuple(addresses),
        tuple(sorted((_date(d) for d in data["dates"]), key=lambda d: d.day)),
        _contact(data.get("electoral_services")),
        _contact(data.get("registration")),
    )


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        return _text(body.get("detail")) or _text(body.get("error"))
    return ""


class DemocracyClub:
    """The two calls the polling station process makes, inside the turn's deadline."""

    def __init__(self, http: Http, base_url: str, api_key: str):
        if not base_url:
            raise UpstreamError("unconfigured", "no Democracy Club base URL in the settings")
        self.http = http
        self.base = base_url.rstrip("/")
        self.key = api_key

    def _get(self, path: str, deadline: Deadline) -> tuple[int, Any]:
        response = self.http.get(
            f"{self.base}/{path}", params={"auth_token": self.key}, deadline=deadline, ok=(200, 400, 404)
        )
        if response.status == 200:
            return 200, response.json()
        body = None
        if response.data.strip():
            try:
                body = response.json()
            except UpstreamError:
                body = None
        return response.status, body

    def postcode(self, postcode: str, deadline: Deadline) -> Result:
        status, body = self._get(f"postcode/{quote(compact(postcode), safe='')}/", deadline)
        if status == 400:
            raise BadPostcode(_detail(body) or "Could not geocode from any source")
        if status == 404:
            raise NotFound(postcode)
        return parse(body)

    def address(self, slug: str, deadline: Deadline) -> Result:
        if not SLUG.match(slug or ""):
            raise NotFound(slug)
        status, body = self._get(f"address/{slug}/", deadline)
        if status == 404:
            raise NotFound(slug)
        if status == 400:
            raise _malformed(f"address lookup refused: {_detail(body) or 'no detail'}", 400)
        return parse(body)
