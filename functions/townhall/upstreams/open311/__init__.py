"""Open311 GeoReport v2 client, as FixMyStreet speaks it to council endpoints (XML or JSON).

    from townhall.upstreams import open311

    client = open311.Client(settings.upstream, settings.process["endpoints"]["district"])
    services = client.services(turn.deadline)            # [Service], cached (see "Cache" below)
    questions = client.definition("MISSBIN", turn.deadline).questions   # attributes to ask
    sent = client.submit(open311.Report(
        service_code="MISSBIN", address_string="OX1 1BX",
        description=open311.description("Missed bin collection", "Not emptied on Tuesday"),
        attributes={"bin_type": "refuse"}, email="resident@example.org"), turn.deadline)
    sent.reference        # service_request_id; None for a blackbox service or a batch token not yet
                          # resolved in the time the turn had (sent.token holds it then)

The endpoint settings (a mapping; JSON Schema ``endpoint.schema.json`` beside this file, which
process schemas refer to with ``{"$ref": "https://townhall.example/upstreams/open311/endpoint.schema.json"}``):

    base_url:         https://council.example.org/open311/v2   (no trailing file name)
    api_key_secret:   open311-api-key     (the tenant secret holding the api_key; POSTs only)
    jurisdiction_id:  council.example.org (optional; only multi-jurisdiction endpoints need it)
    format:           xml | json          (default xml, as FixMyStreet uses)

What is spoken (GeoReport v2 and FixMyStreet's use of it):

- ``GET services.{fmt}``: ``service_code, service_name, description, metadata, type
  (realtime|batch|blackbox), keywords, group``.
- ``GET services/{code}.{fmt}``: the definition; attributes with ``variable``, ``code``,
  ``datatype``, ``required``, ``order``, ``description``, ``values[{key, name}]`` and FixMyStreet's
  ``automated`` (``server_set``/``hidden_field``: filled by machines, never asked of residents).
  Booleans may be ``true``/``false`` or the strings ``"true"``/``"false"``.
- ``POST requests.{fmt}``, form-encoded: ``api_key``, ``jurisdiction_id``, ``service_code``,
  ``lat``/``long`` or ``address_string``, ``attribute[code]=v`` (``attribute[code][]=v`` for
  lists), ``email``, ``first_name``, ``last_name``, ``phone``, ``description`` (at most 4,000
  characters; ``description()`` writes FixMyStreet's ``title: …\\n\\ndetail: …`` layout). Any 2xx
  answer is success: ``[{"service_request_id": …}]`` (realtime) or ``[{"token": …}]`` (batch),
  the latter polled at ``GET tokens/{token}.{fmt}`` a few times inside the deadline.
- Errors: JSON ``[{"code": 400, "description": "…"}]`` or XML
  ``<errors><error><code/><description/></error></errors>``; raised as ``Open311Error`` (an
  ``UpstreamError`` of kind ``status``) with ``.errors`` as ``(code, description)`` pairs.

XML is parsed with the standard library's ``xml.etree.ElementTree``; bodies are at most 1 MiB
(``townhall.upstream.MAX_BODY``) and any with a DOCTYPE (entity declarations) are refused.

Cache: services lists and service definitions are kept in this module for ``CACHE_SECONDS``
(5 minutes) per endpoint (base URL, jurisdiction, format), at most ``CACHE_ENTRIES`` of them,
least recently used dropped first. It is the only instance memory the library keeps besides the
settings cache; failures are never cached. ``clear_cache()`` empties it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from townhall.contract import Deadline
from townhall.postcodes import normalise
from townhall.upstream import Upstream, UpstreamError, current_effect, register_check, report_failure

MAX_DESCRIPTION = 4000
CACHE_SECONDS = 300.0
CACHE_ENTRIES = 128
TOKEN_TRIES = 5
TOKEN_WAIT = 0.4  # seconds between token polls (FixMyStreet waits 2 s; a chat turn has 4 in all)
FORMATS = ("xml", "json")
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
MAX_ANSWER = 1024 * 1024  # services lists and definitions can be long; nothing else is
# Attributes filled from what is known, never asked (FixMyStreet's automated ones, by code).
EASTING, NORTHING = frozenset({"easting"}), frozenset({"northing"})
EXTERNAL_IDS = frozenset({"fixmystreet_id", "external_id", "external_reference", "client_reference", "chatbot_id"})
ADDRESSES = frozenset({"closest_address"})
FIND_WINDOW = timedelta(hours=2)  # how far back an earlier attempt's report is looked for


class Unfillable(UpstreamError):
    """A report the endpoint would refuse: the service requires attributes nothing can fill.
    Raised before anything is sent (kind ``unconfigured``: permanent, no retry)."""

    def __init__(self, service_code: str, codes: Sequence[str]):
        super().__init__(
            "unconfigured",
            f"service {service_code} requires {', '.join(codes)}, which cannot be filled",
            sent=False,
        )
        self.codes = tuple(codes)


class Open311Error(UpstreamError):
    """An Open311 error answer: ``status`` the HTTP status, ``errors`` its (code, description) pairs."""

    def __init__(self, message: str, status: int | None, errors: Sequence[tuple[str, str]], body: Any = None):
        super().__init__("status", message, status, body)
        self.errors = tuple(errors)


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str = ""
    metadata: bool = False  # True: the service has attributes (GET services/{code} says which)
    type: str = "realtime"  # realtime | batch | blackbox
    keywords: tuple[str, ...] = ()
    group: str = ""


@dataclass(frozen=True)
class Value:
    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    required: bool = False
    variable: bool = True  # False: information shown to residents, never answered
    description: str = ""
    datatype_description: str = ""
    order: int = 0
    values: tuple[Value, ...] = ()
    automated: str | None = None  # FixMyStreet: server_set | hidden_field (never asked)

    @property
    def asked(self) -> bool:
        """Whether a resident answers it: variable and not filled in by machines."""
        return self.variable and not self.automated


@dataclass(frozen=True)
class Definition:
    service_code: str
    attributes: tuple[Attribute, ...] = ()

    @property
    def questions(self) -> tuple[Attribute, ...]:
        """The attributes a resident answers, in the endpoint's order."""
        return tuple(sorted((a for a in self.attributes if a.asked), key=lambda a: a.order))


@dataclass(frozen=True)
class Report:
    """One new service request. Give ``address_string`` or both ``lat`` and ``long``."""

    service_code: str
    description: str
    address_string: str | None = None
    lat: float | None = None
    long: float | None = None
    attributes: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    easting: float | None = None  # British National Grid, for the endpoint's easting/northing
    northing: float | None = None
    postcode: str | None = None  # placed through postcodes.io when lat/long are not given
    external_id: str | None = None  # else the once-only side effect's id (``current_effect``)

    def placed(self, place: Any) -> Report:
        """This report at a ``townhall.upstreams.postcodes.Place`` (lat/long, easting/northing)."""
        from dataclasses import replace

        return replace(
            self,
            lat=self.lat if self.lat is not None else place.latitude,
            long=self.long if self.long is not None else place.longitude,
            easting=self.easting if self.easting is not None else place.eastings,
            northing=self.northing if self.northing is not None else place.northings,
            postcode=self.postcode or place.postcode,
        )


@dataclass(frozen=True)
class Submitted:
    reference: str | None  # the service_request_id
    token: str | None = None  # a batch service's token (reference None while it is unresolved)
    notice: str | None = None  # service_notice, if the endpoint gave one


def description(title: str, detail: str, footer: str | None = None) -> str:
    """FixMyStreet's layout ``title: …\\n\\ndetail: …`` (+ footer), cut to fit 4,000 characters."""
    head = f"title: {title.strip()}\n\ndetail: "
    tail = f"\n\n{footer.strip()}" if footer else ""
    room = MAX_DESCRIPTION - len(head) - len(tail)
    detail = detail.strip()
    if len(detail) > room:
        detail = detail[: max(0, room - 1)].rstrip() + "…"
    return (head + detail + tail)[:MAX_DESCRIPTION]


# -- cache -----------------------------------------------------------------------------------------


class _Cache:
    """A small LRU of services lists and definitions, each kept for ``ttl`` seconds."""

    def __init__(self, ttl: float = CACHE_SECONDS, size: int = CACHE_ENTRIES):
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any:
        with self._lock:
            held = self._items.get(key)
            if held is None:
                return None
            if time.monotonic() - held[0] >= self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return held[1]

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_cache = _Cache()


def clear_cache() -> None:
    """Forget every cached services list and definition."""
    _cache.clear()


# -- parsing ---------------------------------------------------------------------------------------

# XML elements that hold a list (the Spark convention maps them to JSON arrays).
_LISTS = frozenset({"services", "attributes", "values", "service_requests", "errors"})


def _xml(data: bytes, root: str | None = None) -> Any:
    """An XML answer as the JSON the same endpoint would give (lists, objects and strings);
    ``root``: the element the answer must be (``services``, ``service_requests``...)."""
    from xml.etree import ElementTree

    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise UpstreamError("malformed", "the Open311 answer declares a DOCTYPE or entities; refused")
    try:
        tree = ElementTree.fromstring(data)
    except ElementTree.ParseError as e:
        raise UpstreamError("malformed", f"the Open311 answer is not XML: {e}") from None
    if root is not None and tree.tag != root:
        raise UpstreamError("malformed", f"the Open311 answer is <{tree.tag[:40]}>, not <{root}>")

    def convert(element: Any) -> Any:
        children = list(element)
        if element.tag in _LISTS:
            return [convert(child) for child in children]
        if not children:
            return (element.text or "").strip()
        return {child.tag: convert(child) for child in children}

    return convert(tree)


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _flag(value: Any) -> bool:
    return value is True or _text(value).lower() == "true"


def _int(value: Any) -> int:
    try:
        return int(float(_text(value)))
    except ValueError:
        return 0


def _items(data: Any, wrapper: str) -> list:
    """A list answer, also when a server wraps it (``{"services": [...]}``)."""
    if isinstance(data, dict) and isinstance(data.get(wrapper), list):
        data = data[wrapper]
    if not isinstance(data, list):
        raise UpstreamError("malformed", f"the Open311 answer is not a list of {wrapper}")
    return [item for item in data if isinstance(item, dict)]


def parse_services(data: Any) -> tuple[Service, ...]:
    services = []
    for item in _items(data, "services"):
        code, name = _text(item.get("service_code")), _text(item.get("service_name"))
        if not code or not name:
            continue  # nothing a resident could choose
        kind = _text(item.get("type")).lower() or "realtime"
        keywords = tuple(k.strip() for k in _text(item.get("keywords")).split(",") if k.strip())
        services.append(
            Service(
                code,
                name,
                _text(item.get("description")),
                _flag(item.get("metadata")),
                kind if kind in ("realtime", "batch", "blackbox") else "realtime",
                keywords,
                _text(item.get("group")),
            )
        )
    return tuple(services)


def parse_definition(data: Any, code: str) -> Definition:
    if isinstance(data, dict) and isinstance(data.get("service_definition"), dict):
        data = data["service_definition"]
    if not isinstance(data, dict) or not isinstance(data.get("attributes", []), list):
        raise UpstreamError("malformed", "the Open311 service definition is not an object with attributes")
    attributes = []
    for item in data.get("attributes") or []:
        if not isinstance(item, dict) or not _text(item.get("code")):
            continue
        values = item.get("values") or []
        values = values if isinstance(values, list) else []
        automated = _text(item.get("automated")) or None
        attributes.append(
            Attribute(
                code=_text(item.get("code")),
                datatype=_text(item.get("datatype")).lower() or "string",
                required=_flag(item.get("required")),
                variable=item.get("variable") is None
                or _text(item.get("variable")) == ""
                or _flag(item.get("variable")),
                description=_text(item.get("description")),
                datatype_description=_text(item.get("datatype_description")),
                order=_int(item.get("order")),
                values=tuple(
                    Value(_text(v.get("key")), _text(v.get("name")) or _text(v.get("key")))
                    for v in values
                    if isinstance(v, dict) and _text(v.get("key"))
                ),
                automated=automated,
            )
        )
    return Definition(_text(data.get("service_code")) or code, tuple(attributes))


def parse_requests(data: Any) -> list[dict]:
    return _items(data, "service_requests")


def parse_errors(data: Any) -> list[tuple[str, str]]:
    """(code, description) pairs of an Open311 error answer (JSON or XML, already parsed)."""
    if not isinstance(data, list):
        return []
    return [(_text(e.get("code")), _text(e.get("description"))) for e in data if isinstance(e, dict)]


# -- the client ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key_secret: str | None = None
    jurisdiction_id: str | None = None
    format: str = "xml"
    postcodes_url: str | None = None  # postcodes.io, to place reports given by postcode

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Endpoint:
        fmt = str(settings.get("format") or "xml").lower()
        if fmt not in FORMATS:
            raise UpstreamError("unconfigured", f"Open311 format {fmt!r}: use 'xml' or 'json'")
        base = str(settings.get("base_url") or "").rstrip("/")
        if not base:
            raise UpstreamError("unconfigured", "no Open311 base_url in the settings")
        return cls(
            base,
            settings.get("api_key_secret"),
            settings.get("jurisdiction_id") or None,
            fmt,
            settings.get("postcodes_url") or None,
        )

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}.{self.format}"

    @property
    def cache_key(self) -> tuple:
        return (self.base_url, self.jurisdiction_id, self.format)


class Client:
    """One council Open311 endpoint, through the tenant's ``Upstream`` (deadlines, secrets)."""

    def __init__(self, upstream: Upstream, endpoint: Mapping[str, Any] | Endpoint):
        self.upstream = upstream
        self.endpoint = endpoint if isinstance(endpoint, Endpoint) else Endpoint.from_settings(endpoint)

    # reads

    def services(self, deadline: Deadline) -> tuple[Service, ...]:
        """The endpoint's services list (cached for ``CACHE_SECONDS``)."""
        key = ("services", *self.endpoint.cache_key)
        held = _cache.get(key)
        if held is not None:
            return held
        services = parse_services(self._get("services", deadline, "services"))
        _cache.put(key, services)
        return services

    def definition(self, code: str, deadline: Deadline) -> Definition:
        """A service's definition (its attributes), cached like the services list."""
        key = ("definition", *self.endpoint.cache_key, code)
        held = _cache.get(key)
        if held is not None:
            return held
        definition = parse_definition(
            self._get(f"services/{quote(code, safe='')}", deadline, "service_definition"), code
        )
        _cache.put(key, definition)
        return definition

    def request_id(self, token: str, deadline: Deadline) -> str | None:
        """The service_request_id a batch token has become, or None while it has none yet."""
        # Some endpoints answer 404 until the token is processed: an answer, not a failure.
        response = self._call("GET", f"tokens/{quote(token, safe='')}", deadline, retry=False, ok=(200, 404))
        if response.status == 404:
            return None
        for item in parse_requests(self._decode(response, "service_requests")):
            found = _text(item.get("service_request_id"))
            if found:
                return found
        return None

    # the side effect

    def submit(
        self,
        report: Report,
        deadline: Deadline,
        *,
        token_tries: int = TOKEN_TRIES,
        token_wait: float = TOKEN_WAIT,
        reserve: float = 1.0,
    ) -> Submitted:
        """POST the report once (never retried); resolve a batch token while more than ``reserve``
        seconds of the deadline are left (the caller's own time to answer).

        Before the POST: a report given by postcode is placed (lat/long, easting/northing) when the
        endpoint settings name ``postcodes_url``; the service definition's attributes that no
        resident answers are filled from what is known (easting/northing, an external id from the
        side effect's id, the closest address); a required attribute still empty refuses the
        report (``Unfillable``, logged at ERROR) without sending it. Inside ``Upstream.once`` the
        report leaves how to find it again (service code, a digest of its description, the time),
        so a repeat after an answer that never came looks it up instead of sending it twice."""
        self.upstream.secret(self.endpoint.api_key_secret)  # a missing key: nothing asked of anyone
        report = self.prepare(report, deadline)
        fields = self._fields(report)
        effect = current_effect()
        if effect is not None:
            effect.check = {
                "kind": "open311",
                "endpoint": {
                    "base_url": self.endpoint.base_url,
                    "jurisdiction_id": self.endpoint.jurisdiction_id,
                    "format": self.endpoint.format,
                },
                "service_code": report.service_code,
                "description_sha256": _digest(report.description[:MAX_DESCRIPTION]),
                "since": (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        response = self._call("POST", "requests", deadline, fields=fields)
        requests = parse_requests(self._decode(response, "service_requests"))
        if not requests:
            raise UpstreamError("malformed", "the Open311 answer to POST requests holds no request")
        first = requests[0]
        reference = _text(first.get("service_request_id")) or None
        token = _text(first.get("token")) or None
        notice = _text(first.get("service_notice")) or None
        if reference is None and token is not None:
            reference = self.wait_for(token, deadline, tries=token_tries, wait=token_wait, reserve=reserve)
        return Submitted(reference, token, notice)

    def prepare(self, report: Report, deadline: Deadline) -> Report:
        """The report as it will be sent: placed, its automated attributes filled, checked
        against the service definition (``Unfillable`` if a required one cannot be filled)."""
        if (report.lat is None or report.long is None) and self.endpoint.postcodes_url:
            report = self._placed(report, deadline)
        try:
            definition = self.definition(report.service_code, deadline)
        except UpstreamError as e:
            if e.permanent:
                raise  # an unknown service code: the POST would be refused too
            return report  # the definition cannot be read now: the endpoint checks the report
        attributes = dict(report.attributes)
        external = report.external_id or (current_effect().id if current_effect() is not None else None)
        missing = []
        for attribute in definition.attributes:
            code = attribute.code
            if _given(attributes.get(code)):
                continue
            value = _known(attribute, report, external)
            if value is not None:
                attributes[code] = value
            elif attribute.required and attribute.variable:
                missing.append(code)
        if missing:
            error = Unfillable(report.service_code, missing)
            report_failure(urlsplit(self.endpoint.base_url).hostname or "(open311)", error, method="POST")
            raise error
        from dataclasses import replace

        return replace(report, attributes=attributes)

    def _placed(self, report: Report, deadline: Deadline) -> Report:
        from townhall.upstreams import postcodes

        given = report.postcode or _postcode_in(report.address_string or "")
        if not given:
            return report
        try:
            place = postcodes.lookup(self.upstream.http, self.endpoint.postcodes_url, given, deadline)
        except (UpstreamError, postcodes.InvalidPostcode, postcodes.PostcodeNotFound):
            return report  # placed by its address_string alone
        return report.placed(place)

    def find(self, service_code: str, description_sha256: str, since: str, deadline: Deadline) -> Submitted | None:
        """An earlier report of this service with this description since ``since`` (ISO 8601), by
        ``GET requests`` (GeoReport v2's ``service_code`` and ``start_date`` filters), or None."""
        params = {"service_code": service_code, "start_date": since}
        if self.endpoint.jurisdiction_id:
            params["jurisdiction_id"] = self.endpoint.jurisdiction_id
        try:
            response = self.upstream.http.get(
                self.endpoint.url("requests"), params=params, deadline=deadline, max_body=MAX_ANSWER
            )
        except UpstreamError as e:
            raise self._error(e) from None
        for item in parse_requests(self._decode(response, "service_requests")):
            if _digest(_text(item.get("description"))) == description_sha256:
                if _text(item.get("service_code")) in ("", service_code):
                    return Submitted(_text(item.get("service_request_id")) or None, _text(item.get("token")) or None)
        return None

    def wait_for(
        self,
        token: str,
        deadline: Deadline,
        *,
        tries: int = TOKEN_TRIES,
        wait: float = TOKEN_WAIT,
        reserve: float = 1.0,
    ) -> str | None:
        """Poll ``tokens/{token}`` up to ``tries`` times, ``wait`` apart, keeping ``reserve`` seconds."""
        for attempt in range(max(1, tries)):
            if attempt:
                pause = min(wait, deadline.remaining() - reserve - 0.3)
                if pause < 0:
                    break
                time.sleep(pause)
            if deadline.remaining() < reserve + 0.2:
                break
            try:
                found = self.request_id(token, deadline)
            except UpstreamError as e:
                if e.kind == "status" and e.status == 404:
                    continue  # not known yet: some endpoints answer 404 until the token is processed
                return None  # the report is in; the reference can be looked up later
            if found:
                return found
        return None

    # plumbing

    def _fields(self, report: Report) -> list[tuple[str, str]]:
        if not report.service_code:
            raise ValueError("a report needs a service_code")
        has_point = report.lat is not None and report.long is not None
        if not has_point and not (report.address_string or "").strip():
            raise ValueError("a report needs lat and long, or an address_string")
        fields = [("api_key", self.upstream.secret(self.endpoint.api_key_secret))]
        if self.endpoint.jurisdiction_id:
            fields.append(("jurisdiction_id", self.endpoint.jurisdiction_id))
        fields.append(("service_code", report.service_code))
        if has_point:
            fields += [("lat", f"{report.lat:.6f}"), ("long", f"{report.long:.6f}")]
        if report.address_string:
            fields.append(("address_string", report.address_string.strip()))
        for code, value in report.attributes.items():
            if isinstance(value, (list, tuple)):
                fields += [(f"attribute[{code}][]", str(v)) for v in value]
            elif value is not None and str(value) != "":
                fields.append((f"attribute[{code}]", str(value)))
        for name in ("email", "first_name", "last_name", "phone"):
            value = getattr(report, name)
            if value:
                fields.append((name, value))
        fields.append(("description", report.description[:MAX_DESCRIPTION]))
        return fields

    def _get(self, path: str, deadline: Deadline, root: str, retry: bool = True) -> Any:
        return self._decode(self._call("GET", path, deadline, retry=retry), root)

    def _call(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        *,
        fields: list | None = None,
        retry: bool = True,
        ok: tuple[int, ...] = (200,),
    ):
        http = self.upstream.http
        url = self.endpoint.url(path)
        try:
            if method == "POST":
                return http.post_form(url, fields or [], deadline=deadline, ok=(200, 201, 202), max_body=MAX_ANSWER)
            params = {"jurisdiction_id": self.endpoint.jurisdiction_id} if self.endpoint.jurisdiction_id else None
            return http.get(url, params=params, deadline=deadline, retry=retry, ok=ok, max_body=MAX_ANSWER)
        except UpstreamError as e:
            raise self._error(e) from None

    def _error(self, e: UpstreamError) -> UpstreamError:
        if e.kind != "status":
            return e
        errors = self._errors(e.body)
        summary = "; ".join(f"{c} {d}".strip() for c, d in errors)[:300]
        return Open311Error(f"{e} ({summary})" if summary else str(e), e.status, errors, e.body)

    def _errors(self, body: Any) -> list[tuple[str, str]]:
        if isinstance(body, str) and body.lstrip().startswith("<"):
            try:
                return parse_errors(_xml(body.encode("utf-8"), "errors"))
            except UpstreamError:
                return []
        return parse_errors(body)

    def _decode(self, response, root: str) -> Any:
        if self.endpoint.format == "json" or response.content_type.endswith("json"):
            return response.json()
        return _xml(response.data, root)


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


def _given(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(str(v) != "" for v in value)
    return value is not None and str(value) != ""


def _postcode_in(text: str) -> str | None:
    import re

    found = re.search(r"\b[A-Za-z]{1,2}[0-9][A-Za-z0-9]?\s*[0-9][A-Za-z]{2}\b", text)
    return normalise(found.group(0)) if found else None


def _known(attribute: Attribute, report: Report, external: str | None) -> str | None:
    """A value for an attribute no resident answers, from what the report knows, or None."""
    code = attribute.code.lower()
    if code in EASTING and report.easting is not None:
        return str(round(report.easting))
    if code in NORTHING and report.northing is not None:
        return str(round(report.northing))
    if code in EXTERNAL_IDS and external:
        return external
    if code in ADDRESSES and report.address_string:
        return report.address_string.strip()
    return None


def _find_again(upstream: Upstream, spec: dict, deadline: Deadline) -> dict | None:
    """``Upstream.once``'s check for a report whose answer never came (see ``Client.submit``)."""
    endpoint = spec.get("endpoint") or {}
    client = Client(upstream, {**endpoint, "api_key_secret": None})
    found = client.find(spec["service_code"], spec["description_sha256"], spec["since"], deadline)
    if found is None or not (found.reference or found.token):
        return None
    return {"reference": found.reference, "token": found.token, "notice": None}


register_check("open311", _find_again)
