"""postcodes.io: where a UK postcode is, and which councils serve it.

    from townhall.upstreams import postcodes
    place = postcodes.lookup(settings.upstream.http, base_url, "OX1 1BX", turn.deadline)
    place.district_code, place.district      # "E07000178", "Oxford"   (the lower tier, or unitary)
    place.county_code, place.county          # "E10000025", "Oxfordshire" in two-tier England
    place.latitude, place.longitude          # for geocoding (None when postcodes.io has no grid ref)
    place.eastings, place.northings          # British National Grid, for Open311's easting/northing

``lookup`` raises ``InvalidPostcode`` (postcodes.io's format check failed), ``PostcodeNotFound``
(not a current postcode; ``.terminated`` says when it was retired, if it was) or
``townhall.upstream.UpstreamError`` (timeout, connection, 5xx, a body that is not the contract's).
``validate`` and ``terminated`` wrap the other two endpoints a process may want.

The contract (``GET /postcodes/{pc}``, ``/postcodes/{pc}/validate``, ``/terminated_postcodes/{pc}``;
errors ``{"status": 404, "error": "Invalid postcode" | "Postcode not found"}``, 500 ``Service not
ready``) is the published one of https://api.postcodes.io; the local fake in ``fake.py`` serves it.
``base_url`` comes from the calling process's settings, never from code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from townhall.contract import Deadline
from townhall.postcodes import compact
from townhall.upstream import Http, UpstreamError

# Codes postcodes.io gives where an area has no such tier (no county outside two-tier England).
PSEUDO_CODES = frozenset({"E99999999", "W99999999", "S99999999", "N99999999", "L99999999", "M99999999"})
NATIONS = ("England", "Wales", "Scotland", "Northern Ireland")  # countries with UK councils
MAX_ANSWER = 256 * 1024  # one postcode's answer is a few KiB


class InvalidPostcode(Exception):
    """postcodes.io says the text is not a postcode at all (its format check)."""


@dataclass(frozen=True)
class Terminated:
    """A postcode Royal Mail no longer uses, and since when."""

    postcode: str
    year: int
    month: int  # 1-12
    latitude: float | None = None
    longitude: float | None = None


class PostcodeNotFound(Exception):
    """Not a current postcode. ``terminated`` is set when it is a retired one."""

    def __init__(self, postcode: str, terminated: Terminated | None = None):
        super().__init__(f"postcode not found{' (terminated)' if terminated else ''}")
        self.postcode = postcode
        self.terminated = terminated


@dataclass(frozen=True)
class Place:
    """The parts of a postcodes.io result the library uses (``raw`` holds the whole result)."""

    postcode: str
    country: str | None
    region: str | None
    district: str | None  # admin_district: the district, borough or unitary area's name
    district_code: str | None  # its ONS GSS code (E06/E07/E08/E09, W06, S12, N09)
    county: str | None  # admin_county: the county in two-tier England, else None
    county_code: str | None  # E10... in two-tier England, else None (raw keeps the pseudo code)
    ward: str | None
    parish: str | None  # the civil parish (England) or community (Wales)
    latitude: float | None
    longitude: float | None
    quality: int | None  # 1 (best) to 9 (no grid reference)
    raw: Mapping[str, Any]
    eastings: int | None = None  # British National Grid (metres), as Open311 endpoints ask
    northings: int | None = None

    @property
    def two_tier(self) -> bool:
        """True where a county council (E10) serves the area alongside the district."""
        return bool(self.county_code) and self.county_code.startswith("E10")


def _url(base_url: str, *parts: str) -> str:
    if not base_url:
        raise UpstreamError("unconfigured", "no postcodes.io base URL in the settings")
    return base_url.rstrip("/") + "".join("/" + quote(p, safe="") for p in parts)


def _body(response) -> Any:
    data = response.json()
    if not isinstance(data, dict):
        raise UpstreamError("malformed", "postcodes.io answered with something that is not an object", response.status)
    return data


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _code(codes: Mapping[str, Any], key: str) -> str | None:
    value = _text(codes.get(key))
    return None if value in PSEUDO_CODES else value


def place(result: Any, status: int = 200) -> Place:
    """A ``Place`` from a postcodes.io ``result`` object; ``malformed`` if it is not one."""
    if not isinstance(result, dict) or not _text(result.get("postcode")):
        raise UpstreamError("malformed", "postcodes.io result has no postcode", status)
    codes = result.get("codes")
    if not isinstance(codes, dict):
        raise UpstreamError("malformed", "postcodes.io result has no codes", status)
    quality = result.get("quality")
    return Place(
        postcode=result["postcode"],
        country=_text(result.get("country")),
        region=_text(result.get("region")),
        district=_text(result.get("admin_district")),
        district_code=_code(codes, "admin_district"),
        county=_text(result.get("admin_county")),
        county_code=_code(codes, "admin_county"),
        ward=_text(result.get("admin_ward")),
        parish=_text(result.get("parish")),
        latitude=_number(result.get("latitude")),
        longitude=_number(result.get("longitude")),
        quality=quality if isinstance(quality, int) and not isinstance(quality, bool) else None,
        raw=result,
        eastings=_grid(result.get("eastings")),
        northings=_grid(result.get("northings")),
    )


def _grid(value: Any) -> int | None:
    number = _number(value)
    return round(number) if number is not None else None


def _terminated(data: Any) -> Terminated | None:
    if not isinstance(data, dict):
        return None
    year, month = data.get("year_terminated"), data.get("month_terminated")
    if not isinstance(year, int) or not isinstance(month, int) or not 1 <= month <= 12:
        return None
    return Terminated(
        str(data.get("postcode") or ""), year, month, _number(data.get("latitude")), _number(data.get("longitude"))
    )


def _error(data: Mapping[str, Any]) -> str:
    return str(data.get("error") or "").strip().lower()


def lookup(http: Http, base_url: str, postcode: str, deadline: Deadline, *, check_terminated: bool = True) -> Place:
    """The current postcode's place, or ``InvalidPostcode`` / ``PostcodeNotFound`` / ``UpstreamError``.

    When postcodes.io says "Postcode not found" without the ``terminated`` block (older
    deployments omit it) and ``check_terminated`` is set, ``/terminated_postcodes`` is asked too,
    if the deadline leaves time for it.
    """
    response = http.get(
        _url(base_url, "postcodes", compact(postcode)), deadline=deadline, ok=(200, 404), max_body=MAX_ANSWER
    )
    data = _body(response)
    if response.status == 200:
        return place(data.get("result"), response.status)
    error = _error(data)
    if error == "invalid postcode":
        raise InvalidPostcode(postcode)
    if "not found" in error:
        found = _terminated(data.get("terminated"))
        if found is None and check_terminated and deadline.remaining() > 0.5:
            try:
                found = terminated(http, base_url, postcode, deadline)
            except UpstreamError:
                found = None  # it is still not a current postcode; say so without the date
        raise PostcodeNotFound(postcode, found)
    raise UpstreamError("malformed", f"postcodes.io answered 404 with {error or 'no error'!r}", 404, data)


def terminated(http: Http, base_url: str, postcode: str, deadline: Deadline) -> Terminated | None:
    """When a retired postcode was terminated; None when postcodes.io has no such retired postcode."""
    response = http.get(_url(base_url, "terminated_postcodes", compact(postcode)), deadline=deadline, ok=(200, 404))
    data = _body(response)
    if response.status == 404:
        return None
    found = _terminated(data.get("result"))
    if found is None:
        raise UpstreamError("malformed", "postcodes.io terminated result lacks year or month", response.status)
    return found


def validate(http: Http, base_url: str, postcode: str, deadline: Deadline) -> bool:
    """True when the postcode is in postcodes.io's current dataset (always a 200 answer)."""
    response = http.get(_url(base_url, "postcodes", compact(postcode), "validate"), deadline=deadline)
    result = _body(response).get("result")
    if not isinstance(result, bool):
        raise UpstreamError("malformed", "postcodes.io validate result is not true or false", response.status)
    return result
