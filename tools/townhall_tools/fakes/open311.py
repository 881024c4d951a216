"""Local fake of council Open311 GeoReport v2 endpoints (as open311-adapter serves FixMyStreet).

Mounted at ``/open311``; one endpoint per demo council, by path:

| path | council | notes |
| --- | --- | --- |
| ``/open311/oxford`` | Oxford City Council (district) | street cleaning, bins (batch), vehicles, and a street light service the county owns in practice |
| ``/open311/oxfordshire`` | Oxfordshire County Council (county) | roads and pavements, street lighting (batch), drainage; needs ``jurisdiction_id=oxfordshire-demo`` |
| ``/open311/cardiff`` | Cardiff Council (unitary) | street cleansing (graffiti is ``blackbox``: no id), roads, street lighting, bins; JSON too |
| ``/open311/slow`` | Oxford's services | every call sleeps ``SLOW_SECONDS``: longer than a turn's budget |
| ``/open311/broken`` | none | answers 200 with an HTML page, as FixMyStreet's read-only API does on errors |
| ``/open311/strict`` | Oxford's key | as open311-adapter's UK council services: required ``easting``, ``northing`` and ``fixmystreet_id`` (``server_set``) |

Each serves ``services.{xml|json}``, ``services/{code}.{fmt}``, ``POST requests.{fmt}``,
``tokens/{token}.{fmt}``, ``requests.{fmt}`` (filtered by ``service_code`` and ``start_date``, as
GeoReport v2 says) and ``requests/{id}.{fmt}``. Another extension gets
404 "Bad extension". POSTs check ``api_key`` (the demo secrets in ``examples/demo-secrets.yaml``),
``jurisdiction_id``, ``service_code``, a location (``lat``+``long``, ``address_string`` or
``address_id``), required attributes (values of lists, numbers, ISO dates) and the 4,000
character description, answering the documented errors: 400 ``Error in input for
POST_Service_Request`` (with one line per problem; a missing attribute is
``attribute[code]: Missing required entry``, automated ones included), 403 for a wrong api_key, 404 for an unknown
service_code or jurisdiction_id. Realtime services answer ``service_request_id``; batch ones a
``token``, which has an id from its second poll on; blackbox ones neither.

Magic inputs (in ``description``), for failure paths:

- ``demo-fail-500``: 500 with an error body (the council's system is down);
- ``demo-refuse-400``: 400 with an error body (the council's system refuses the report for good);
- ``demo-slow``: the report is stored but the answer comes after ``SLOW_SECONDS``;
- ``demo-token-stuck``: a batch token that never gets an id.

``GET /open311/_received`` lists every POST received since the fakes started (for tests), with
``api_key`` replaced by whether it was accepted.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PREFIX = "open311"
SLOW_SECONDS = 4.5
MAX_DESCRIPTION = 4000


def _attribute(
    code,
    datatype,
    description,
    *,
    required=False,
    values=(),
    automated=None,
    order=1,
    variable=True,
    datatype_description="",
):
    item = {
        "variable": variable,
        "code": code,
        "datatype": datatype,
        "required": required,
        "datatype_description": datatype_description,
        "order": order,
        "description": description,
    }
    if values:
        item["values"] = [{"key": k, "name": n} for k, n in values]
    if automated:
        item["automated"] = automated
    return item


def _service(code, name, group, description, keywords, *, kind="realtime", attributes=()):
    return {
        "service_code": code,
        "service_name": name,
        "description": description,
        "metadata": bool(attributes),
        "type": kind,
        "keywords": keywords,
        "group": group,
        "_attributes": list(attributes),
    }


FMS_ID = _attribute("fixmystreet_id", "string", "FixMyStreet report id", automated="server_set", order=90)
UPRN = _attribute("uprn", "string", "Property reference", automated="hidden_field", order=91)
USRN = _attribute("usrn", "string", "Street reference", automated="hidden_field", order=92)
WASTE = (
    ("household", "Household rubbish or bags"),
    ("furniture", "Furniture or mattresses"),
    ("builders", "Building rubble"),
    ("garden", "Garden waste"),
    ("other", "Something else"),
)
BINS = (
    ("refuse", "Rubbish (green bin)"),
    ("recycling", "Recycling (blue bin)"),
    ("food", "Food waste caddy"),
    ("garden", "Garden waste (brown bin)"),
)

OXFORD = [
    _service(
        "FLYTIP",
        "Fly-tipping",
        "Street cleaning",
        "Rubbish dumped on public land.",
        "fly tipping, dumped rubbish, tipping, dumping, rubbish",
        attributes=[
            _attribute("waste_type", "singlevaluelist", "What has been dumped?", required=True, values=WASTE),
            FMS_ID,
        ],
    ),
    _service(
        "GRAFF",
        "Graffiti",
        "Street cleaning",
        "Graffiti on public property.",
        "graffiti, tagging, spray paint",
        attributes=[
            _attribute("offensive", "singlevaluelist", "Is it offensive?", values=(("yes", "Yes"), ("no", "No"))),
            FMS_ID,
        ],
    ),
    _service(
        "DOGF",
        "Dog fouling",
        "Street cleaning",
        "Dog mess on pavements, paths and parks.",
        "dog mess, dog poo, dog fouling, dog dirt",
    ),
    _service(
        "LITTER",
        "Overflowing litter bin",
        "Street cleaning",
        "A public litter bin that is full.",
        "litter bin, overflowing bin, street bin, litter",
    ),
    _service(
        "MISSBIN",
        "Missed bin collection",
        "Bins and recycling",
        "A bin that was not emptied on collection day.",
        "missed bin, bin not collected, bin not emptied, missed collection",
        kind="batch",
        attributes=[
            _attribute("bin_type", "singlevaluelist", "Which bin was missed?", required=True, values=BINS),
            _attribute(
                "collection_date",
                "datetime",
                "When should it have been collected?",
                required=True,
                order=2,
                datatype_description="A date, e.g. 2026-12-01",
            ),
            UPRN,
        ],
    ),
    _service(
        "ABVEH",
        "Abandoned vehicle",
        "Vehicles",
        "A vehicle that seems to have been left for good.",
        "abandoned car, abandoned vehicle, dumped car",
        attributes=[
            _attribute("vehicle", "string", "The make, colour and registration number, if you know them", required=True)
        ],
    ),
    _service(
        "SLIGHT",
        "Street light not working",
        "Street lighting",
        "A street light that is out or flickering.",
        "street light, streetlight, lamp post, street lamp",
    ),
]

OXFORDSHIRE = [
    _service(
        "POT",
        "Pothole",
        "Roads and pavements",
        "A hole in the road surface.",
        "pothole, hole in road, road surface, pot hole",
        attributes=[USRN],
    ),
    _service(
        "PAVE",
        "Broken or uneven pavement",
        "Roads and pavements",
        "A damaged, cracked or uneven pavement.",
        "pavement, footpath, paving slab, trip hazard",
        attributes=[USRN],
    ),
    _service(
        "SIGN",
        "Damaged road sign",
        "Roads and pavements",
        "A road sign that is damaged, dirty or missing.",
        "road sign, sign, traffic sign",
    ),
    _service(
        "SLIGHT",
        "Street light not working",
        "Street lighting",
        "A street light that is out, on all day or flickering.",
        "street light, streetlight, lamp post, street lamp",
        kind="batch",
        attributes=[
            _attribute("column_number", "string", "The number on the lamp post, if you can see it"),
            _attribute("asset_id", "string", "Street light asset", automated="hidden_field", order=2),
        ],
    ),
    _service(
        "DRAIN",
        "Blocked drain",
        "Flooding and drainage",
        "A road drain or gully that is blocked.",
        "drain, gully, flooding, blocked drain",
    ),
]

CARDIFF = [
    _service(
        "FLYTIP",
        "Fly-tipping",
        "Street cleansing",
        "Rubbish dumped on public land.",
        "fly tipping, dumped rubbish, tipping, rubbish",
        attributes=[
            _attribute("waste_type", "multivaluelist", "What has been dumped? Choose all that apply.", values=WASTE),
            FMS_ID,
        ],
    ),
    _service(
        "GRAFF",
        "Graffiti",
        "Street cleansing",
        "Graffiti on public property.",
        "graffiti, tagging, spray paint",
        kind="blackbox",
    ),
    _service(
        "DOGF",
        "Dog fouling",
        "Street cleansing",
        "Dog mess on pavements, paths and parks.",
        "dog mess, dog poo, dog fouling",
    ),
    _service(
        "POT", "Pothole", "Roads and pavements", "A hole in the road surface.", "pothole, hole in road, road surface"
    ),
    _service(
        "SLIGHT",
        "Street light not working",
        "Street lighting",
        "A street light that is out or flickering.",
        "street light, streetlight, lamp post",
    ),
    _service(
        "MISSBIN",
        "Missed collection",
        "Bins and recycling",
        "A bin or bags not collected on collection day.",
        "missed bin, missed collection, bags not collected",
        attributes=[
            _attribute(
                "bin_type",
                "singlevaluelist",
                "What was missed?",
                required=True,
                values=(
                    ("general", "General waste"),
                    ("recycling", "Recycling (green bags)"),
                    ("food", "Food waste"),
                    ("garden", "Garden waste"),
                ),
            ),
            UPRN,
        ],
    ),
]


@dataclass
class Council:
    services: list
    api_keys: frozenset
    prefix: str  # of its service_request_ids
    jurisdiction_id: str | None = None  # required when set (a multi-jurisdiction endpoint)
    slow: bool = False


# As open311-adapter's UK council endpoints define their services: every attribute required,
# the location ones and FixMyStreet's report id filled by the client, never asked.
STRICT = [
    _service(
        "POTHOLE",
        "Pothole",
        "Roads",
        "A hole in the road surface.",
        "pothole, hole in the road",
        attributes=[
            _attribute(
                "depth",
                "singlevaluelist",
                "How deep is it?",
                required=True,
                values=(("shallow", "Shallow"), ("deep", "Deeper than a brick")),
            ),
            _attribute("easting", "number", "Easting", required=True, automated="server_set", order=10),
            _attribute("northing", "number", "Northing", required=True, automated="server_set", order=11),
            _attribute("fixmystreet_id", "string", "Report id", required=True, automated="server_set", order=12),
            _attribute("closest_address", "string", "Closest address", automated="server_set", order=13),
        ],
    ),
    _service(
        "ASSETLIGHT",
        "Street light (by asset)",
        "Street lighting",
        "A street light, picked on the council's map.",
        "street light",
        attributes=[
            _attribute("asset_id", "string", "Street light asset", required=True, automated="hidden_field", order=1),
        ],
    ),
]

COUNCILS = {
    "oxford": Council(OXFORD, frozenset({"demo-oxford-open311-key-not-a-secret"}), "OXF"),
    "oxfordshire": Council(
        OXFORDSHIRE,
        frozenset({"demo-oxford-open311-county-key-not-a-secret"}),
        "OCC",
        jurisdiction_id="oxfordshire-demo",
    ),
    "cardiff": Council(CARDIFF, frozenset({"demo-cardiff-open311-key-not-a-secret"}), "CAR"),
    "slow": Council(OXFORD, frozenset({"demo-oxford-open311-key-not-a-secret"}), "SLW", slow=True),
    "strict": Council(STRICT, frozenset({"demo-oxford-open311-key-not-a-secret"}), "STR"),
}

# XML containers (Spark convention): the JSON array's element name in XML.
_ITEM = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
}


def to_xml(root: str, value: Any) -> bytes:
    from xml.etree import ElementTree as ET

    def fill(element, value):
        if isinstance(value, list):
            child_tag = _ITEM.get(element.tag, "item")
            for item in value:
                fill(ET.SubElement(element, child_tag), item)
        elif isinstance(value, dict):
            for key, item in value.items():
                fill(ET.SubElement(element, key), item)
        elif isinstance(value, bool):
            element.text = "true" if value else "false"
        elif value is not None:
            element.text = str(value)

    element = ET.Element(root)
    fill(element, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: list = field(default_factory=list)
    requests: dict = field(default_factory=dict)  # (council, id) -> stored request
    tokens: dict = field(default_factory=dict)  # (council, token) -> {"id", "polls", "stuck"}
    next_id: int = 1001


def app():
    from flask import Flask, Response, json, request

    state = State()
    web = Flask(__name__)

    def answer(fmt: str, root: str, value: Any, status: int = 200) -> Response:
        if fmt == "json":
            return Response(json.dumps(value), status, content_type="application/json; charset=utf-8")
        return Response(to_xml(root, value), status, content_type="text/xml; charset=utf-8")

    def error(fmt: str, status: int, *descriptions: str) -> Response:
        return answer(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status)

    def council_for(name: str, fmt: str, form: dict | None = None):
        """(council, None) or (None, an error response)."""
        if fmt not in ("xml", "json"):
            return None, Response("Bad extension. We support .xml and .json", 404, content_type="text/plain")
        if name == "broken":
            return None, Response(
                "<html><body>ERROR: Missing jurisdiction_id</body></html>", 200, content_type="text/html"
            )
        council = COUNCILS.get(name)
        if council is None:
            return None, error(fmt, 404, "jurisdiction_id not found")
        if council.slow:
            time.sleep(SLOW_SECONDS)
        given = (form or request.args).get("jurisdiction_id")
        if council.jurisdiction_id:
            if not given:
                return None, error(fmt, 400, "jurisdiction_id was not provided")
            if given != council.jurisdiction_id:
                return None, error(fmt, 404, f"jurisdiction_id {given} not found")
        return council, None

    def public(service: dict) -> dict:
        return {k: v for k, v in service.items() if not k.startswith("_")}

    def find(council: Council, code: str) -> dict | None:
        return next((s for s in council.services if s["service_code"] == code), None)

    @web.get("/_received")
    def received():
        with state.lock:
            return {"requests": list(state.received)}

    @web.get("/<name>/services.<fmt>")
    def services(name, fmt):
        council, problem = council_for(name, fmt)
        return problem or answer(fmt, "services", [public(s) for s in council.services])

    @web.get("/<name>/services/<code>.<fmt>")
    def definition(name, code, fmt):
        council, problem = council_for(name, fmt)
        if problem:
            return problem
        service = find(council, code)
        if service is None:
            return error(fmt, 404, f"service_code {code} not found")
        return answer(fmt, "service_definition", {"service_code": code, "attributes": service["_attributes"]})

    def problems_with(council: Council, service: dict, form: dict) -> list[str]:
        found = []
        has_point = form.get("lat") and form.get("long")
        if has_point:
            try:
                lat, long = float(form["lat"]), float(form["long"])
                if not (-90 <= lat <= 90 and -180 <= long <= 180):
                    found.append("lat and long are outside the world")
            except ValueError:
                found.append("lat and long must be numbers")
        if not (has_point or form.get("address_string", "").strip() or form.get("address_id", "").strip()):
            found.append("a location is required: lat and long, address_string or address_id")
        for attribute in service["_attributes"]:
            code, kind = attribute["code"], attribute["datatype"]
            values = request.form.getlist(f"attribute[{code}][]") or (
                [form[f"attribute[{code}]"]] if form.get(f"attribute[{code}]", "") != "" else []
            )
            if not values:
                if attribute["required"] and attribute["variable"]:
                    found.append(f"attribute[{code}]: Missing required entry")
                continue
            keys = [v["key"] for v in attribute.get("values", [])]
            for value in values:
                if kind in ("singlevaluelist", "multivaluelist") and value not in keys:
                    found.append(f"attribute[{code}]: {value!r} is not one of {', '.join(keys)}")
                elif kind == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", value):
                    found.append(f"attribute[{code}]: {value!r} is not a number")
                elif kind == "datetime":
                    try:
                        datetime.fromisoformat(value.replace("Z", "+00:00"))
                    except ValueError:
                        found.append(f"attribute[{code}]: {value!r} is not an ISO 8601 date")
        if len(form.get("description", "")) > MAX_DESCRIPTION:
            found.append(f"description is longer than {MAX_DESCRIPTION:,} characters")
        return found

    @web.post("/<name>/requests.<fmt>")
    def post_request(name, fmt):
        form = request.form.to_dict()
        council, problem = council_for(name, fmt, form)
        if problem:
            return problem
        missing = [f for f in ("service_code", "api_key") if not form.get(f)]
        if missing:
            return error(fmt, 400, "Error in input for POST_Service_Request", *(f"{f} is required" for f in missing))
        if form["api_key"] not in council.api_keys:
            return error(fmt, 403, "api_key is not valid for this jurisdiction")
        service = find(council, form["service_code"])
        if service is None:
            return error(fmt, 404, f"service_code {form['service_code']} not found")
        found = problems_with(council, service, form)
        if found:
            return error(fmt, 400, "Error in input for POST_Service_Request", *found)
        text = form.get("description", "").lower()
        if "demo-fail-500" in text:
            return error(fmt, 500, "The council's case management system is not available (demo failure)")
        if "demo-refuse-400" in text:
            return error(fmt, 400, "Error in input for POST_Service_Request", "The report was refused (demo refusal)")
        with state.lock:
            number = state.next_id
            state.next_id += 1
            request_id = f"{council.prefix}-{number}"
            stored = {
                "service_request_id": request_id,
                "status": "open",
                "service_name": service["service_name"],
                "service_code": service["service_code"],
                "description": form.get("description", ""),
                "requested_datetime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "address": form.get("address_string", ""),
                "lat": form.get("lat", ""),
                "long": form.get("long", ""),
            }
            state.requests[(name, request_id)] = stored
            fields = [(k, v) for k, v in request.form.items(multi=True) if k != "api_key"]
            record = {
                "council": name,
                "format": fmt,
                "fields": dict(fields),
                "lists": {k: request.form.getlist(k) for k in request.form if k.endswith("[]")},
                "api_key_valid": True,
                "service_request_id": request_id,
                "token": None,
            }
            if service["type"] == "blackbox":
                body = [{"service_notice": "Thank you (demo): no reference is given for this kind of report."}]
            elif service["type"] == "batch":
                token = f"tok-{number}"
                state.tokens[(name, token)] = {"id": request_id, "polls": 0, "stuck": "demo-token-stuck" in text}
                record["token"] = token
                body = [{"token": token}]
            else:
                body = [
                    {
                        "service_request_id": request_id,
                        "service_notice": "We aim to look at it within 5 working days (demo).",
                    }
                ]
            state.received.append(record)
        if "demo-slow" in text:
            time.sleep(SLOW_SECONDS)
        return answer(fmt, "service_requests", body)

    @web.get("/<name>/tokens/<token>.<fmt>")
    def token(name, token, fmt):
        council, problem = council_for(name, fmt)
        if problem:
            return problem
        with state.lock:
            held = state.tokens.get((name, token))
            if held is None:
                return error(fmt, 404, f"token {token} not found")
            held["polls"] += 1
            ready = held["polls"] >= 2 and not held["stuck"]
        item = {"service_request_id": held["id"], "token": token} if ready else {"token": token}
        return answer(fmt, "service_requests", [item])

    @web.get("/<name>/requests.<fmt>")
    def requests_list(name, fmt):
        council, problem = council_for(name, fmt)
        if problem:
            return problem
        code, since = request.args.get("service_code"), request.args.get("start_date")
        try:
            after = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
        except ValueError:
            return error(fmt, 400, f"start_date {since!r} is not an ISO 8601 date")
        with state.lock:
            found = [
                r
                for (c, _), r in state.requests.items()
                if c == name
                and (not code or r["service_code"] == code)
                and (after is None or datetime.fromisoformat(r["requested_datetime"].replace("Z", "+00:00")) >= after)
            ]
        return answer(fmt, "service_requests", found)

    @web.get("/<name>/requests/<request_id>.<fmt>")
    def request_one(name, request_id, fmt):
        council, problem = council_for(name, fmt)
        if problem:
            return problem
        with state.lock:
            held = state.requests.get((name, request_id))
        if held is None:
            return error(fmt, 404, "Resource not found")
        return answer(fmt, "service_requests", [held])

    return web
