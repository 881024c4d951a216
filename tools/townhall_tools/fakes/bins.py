"""Local fake of the services bin collection days and addresses come from.

Mounted at ``/bins``:

| path | what | contract |
| --- | --- | --- |
| ``/bins/os/search/places/v1/postcode?postcode=&key=`` | OS Places (Cardiff's demo) | ``results[].DPA.{UPRN, ADDRESS, ...}``; no hits: 200, ``totalresults`` 0, no ``results``; a postcode shorter than a sector: 400 ``{"error": {"statuscode", "message"}}``; a key not in ``API_KEYS``: 401 ``{"fault": ...}`` |
| ``/bins/council/addresses?postcode=`` | a council's own address endpoint (Oxford's demo) | ``{"addresses": [{"uprn", "address", "round"}]}`` |
| ``/bins/council/collections?uprn=`` | a council's own JSON API | ``{"collections": [{"service": {"name"}, "dates": ["YYYY-MM-DD", ...]}]}``; unknown UPRN: 404 ``{"error"}`` |
| ``/bins/ical/<uprn>.ics`` | an iCalendar feed per property | weekly and fortnightly RRULEs; occurrences on bank holidays moved a day (RECURRENCE-ID) |
| ``/bins/ukbcd/api/bin_collection/<council>?uprn=`` | UKBinCollectionData's API server | ``{"bins": [{"type", "collectionDate": "dd/mm/yyyy"}]}`` sorted by date |

The demo calendar is fixed, so conversations with a fixed ``now`` are deterministic, and reaches
past today, so the demo shows upcoming collections any day: every feed starts on ``FIRST_DAY`` and
ends a year after the fakes' day (``townhall_tools.fakes.today``), ``LAST_DAY`` at the earliest.
A property's schedule follows from its UPRN (``schedule``): weekday ``uprn % 5`` (Monday = 0),
recycling and food every week, general waste and garden waste on alternate weeks; a collection
falling on an England and Wales bank holiday is a day later.

Demo postcodes (``PROPERTIES``): OX1 2JD (one property), OX4 1YB (14: the address picker pages),
OX3 9DU (3 flats), CF10 1EP (one), CF24 4HQ (12 flats), CF14 3AB (3). Magic postcodes, for the
failure paths:

| postcode | every address endpoint | its one property's collections |
| --- | --- | --- |
| ``ZZ5 0AA`` | 500 with an error body | |
| ``ZZ9 9AA`` | answers after ``SLOW_SECONDS`` (past a turn's budget) | |
| ``ZZ4 0AA`` | 200 with a body that breaks the contract (HTML) | |
| ``ZZ0 0AA`` | no properties | |
| ``ZZ1 5AA`` | one property | 500 from every collection endpoint |
| ``ZZ1 9AA`` | one property | answers after ``SLOW_SECONDS`` |
| ``ZZ1 4AA`` | one property | 200 with a broken body (not iCalendar / not the JSON promised) |

``GET /bins/_received`` lists every call received (path and query, the OS key replaced by whether
it was accepted), for tests.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import date, timedelta

from townhall.bankholidays import bank_holidays

PREFIX = "bins"
SLOW_SECONDS = 4.5
FIRST_DAY = date(2026, 1, 5)  # a Monday: the demo calendar's week 0
LAST_DAY = date(2027, 12, 31)  # the earliest last day of a feed (``last_day``)
API_KEYS = frozenset({"demo-oxford-os-places-key-not-a-secret", "demo-cardiff-os-places-key-not-a-secret"})

FAIL, SLOW, BROKEN = "999000000500", "999000000999", "999000000400"


def _street(postcode, town, uprn_base, addresses, round_of=lambda n: None):
    return {postcode: [(str(uprn_base + n), address, town, round_of(n)) for n, address in enumerate(addresses, 1)]}


PROPERTIES: dict[str, list[tuple[str, str, str, str | None]]] = {
    # (uprn, address without town and postcode, town, collection round)
    **_street("OX1 2JD", "Oxford", 100120000100, ["1 Demo Lane"], lambda n: "TUE-A"),
    **_street(
        "OX4 1YB",
        "Oxford",
        100120000200,
        [f"{n} Example Road" for n in range(1, 15)],
        lambda n: "WED-A" if n % 2 else "WED-B",
    ),
    **_street(
        "OX3 9DU", "Oxford", 100120000300, [f"Flat {n}, 5 Sample Street" for n in range(1, 4)], lambda n: "FRI-B"
    ),
    **_street("CF10 1EP", "Cardiff", 100100000100, ["1 Demo Street"]),
    **_street("CF24 4HQ", "Cardiff", 100100000200, [f"Flat {n}, 20 Heol Enghraifft" for n in range(1, 13)]),
    **_street("CF14 3AB", "Cardiff", 100100000300, ["2 Sample Close", "4 Sample Close", "6 Sample Close"]),
    "ZZ0 0AA": [],
    "ZZ1 5AA": [(FAIL, "1 Failing Feed Road", "Demo Town", "TUE-A")],
    "ZZ1 9AA": [(SLOW, "1 Slow Feed Road", "Demo Town", "TUE-A")],
    "ZZ1 4AA": [(BROKEN, "1 Broken Feed Road", "Demo Town", "TUE-A")],
}
UPRNS = {uprn: postcode for postcode, rows in PROPERTIES.items() for uprn, *_ in rows}
ADDRESS_FAIL, ADDRESS_SLOW, ADDRESS_BROKEN = "ZZ5 0AA", "ZZ9 9AA", "ZZ4 0AA"

# What each kind of upstream calls the demo collections.
NAMES = {
    "ical": {
        "rubbish": "General waste collection",
        "recycling": "Recycling collection",
        "food": "Food waste collection",
        "garden": "Garden waste collection",
    },
    "json": {"rubbish": "Refuse", "recycling": "Mixed recycling", "food": "Food", "garden": "Garden"},
    "ukbcd": {
        "rubbish": "Black Bin",
        "recycling": "Green Recycling Bags",
        "food": "Food Caddy",
        "garden": "Garden Waste Bin",
    },
}


def schedule(uprn: str) -> list[tuple[str, date, int]]:
    """(bin, first date, every n weeks) for a demo property."""
    n = int(uprn)
    first = FIRST_DAY + timedelta(days=n % 5)
    week = timedelta(weeks=(n // 5) % 2)
    other = timedelta(weeks=1) - week
    return [("rubbish", first + week, 2), ("recycling", first, 1), ("food", first, 1), ("garden", first + other, 2)]


def moved(day: date) -> date:
    """A collection due on a bank holiday happens the next day."""
    holidays = bank_holidays("england-and-wales")
    while day in holidays:
        day += timedelta(days=1)
    return day


def last_day(today: date | None = None) -> date:
    """The last day the feeds cover: a year after ``today`` (default: the real today), ``LAST_DAY`` at the
    earliest."""
    return max(LAST_DAY, (today or date.today()) + timedelta(days=366))


def dates(first: date, every: int, last: date | None = None) -> list[date]:
    last = last or last_day()
    found, day = [], first
    while day <= last:
        found.append(moved(day))
        day += timedelta(weeks=every)
    return found


def ical(uprn: str, last: date | None = None) -> str:
    """An iCalendar feed: one recurring all-day event per bin, moved occurrences overridden."""
    last = last or last_day()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Townhall//Demo bin collections//EN",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:Bin collections (demo)",
    ]
    for bin_type, first, every in schedule(uprn):
        uid = f"{bin_type}-{uprn}@bins.demo.example.org"
        summary = NAMES["ical"][bin_type]
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T000000Z",
            f"SUMMARY:{summary}",
            f"DTSTART;VALUE=DATE:{first:%Y%m%d}",
            f"DTEND;VALUE=DATE:{first + timedelta(days=1):%Y%m%d}",
            f"RRULE:FREQ=WEEKLY;INTERVAL={every};UNTIL={last:%Y%m%d}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
        day = first
        while day <= last:
            if moved(day) != day:
                lines += [
                    "BEGIN:VEVENT",
                    f"UID:{uid}",
                    "DTSTAMP:20260101T000000Z",
                    f"SUMMARY:{summary}",
                    f"RECURRENCE-ID;VALUE=DATE:{day:%Y%m%d}",
                    f"DTSTART;VALUE=DATE:{moved(day):%Y%m%d}",
                    f"DTEND;VALUE=DATE:{moved(day) + timedelta(days=1):%Y%m%d}",
                    "TRANSP:TRANSPARENT",
                    "END:VEVENT",
                ]
            day += timedelta(weeks=every)
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def os_address(address: str, town: str, postcode: str) -> str:
    """OS Places writes addresses in capitals, a comma after a building number."""
    return re.sub(r"(^|, )(\d+[A-Z]?) ", r"\1\2, ", address.upper()) + f", {town.upper()}, {postcode}"


def os_places_result(uprn: str, address: str, town: str, postcode: str) -> dict:
    number = re.search(r"(?:^|, )(\d+[A-Z]?) ", address)
    return {
        "DPA": {
            "UPRN": uprn,
            "UDPRN": str(int(uprn) % 100000000),
            "ADDRESS": os_address(address, town, postcode),
            "BUILDING_NUMBER": number.group(1) if number else None,
            "THOROUGHFARE_NAME": re.sub(r"^.*?\d+[A-Za-z]? ", "", address).upper(),
            "POST_TOWN": town.upper(),
            "POSTCODE": postcode,
            "STATUS": "APPROVED",
            "CLASSIFICATION_CODE": "RD04",
            "LOCAL_CUSTODIAN_CODE": 6815 if town == "Cardiff" else 3110,
            "LOCAL_CUSTODIAN_CODE_DESCRIPTION": town.upper(),
            "COUNTRY_CODE": "W" if town == "Cardiff" else "E",
            "POSTAL_ADDRESS_CODE": "D",
            "BLPU_STATE_CODE": None,
            "MATCH": 1.0,
            "LANGUAGE": "EN",
            "X_COORDINATE": 318000.0,
            "Y_COORDINATE": 176000.0,
        }
    }


def app():
    from flask import Flask, Response, jsonify, request

    from . import today

    flask_app = Flask(__name__)
    received: list[dict] = []
    lock = threading.Lock()

    @flask_app.before_request
    def record():
        args = {k: v for k, v in request.args.items() if k != "key"}
        if "key" in request.args:
            args["key_accepted"] = request.args["key"] in API_KEYS
        with lock:
            received.append({"method": request.method, "path": request.path, "args": args})

    @flask_app.get("/_received")
    def show_received():
        with lock:
            return jsonify(received[:-1])  # not this call itself

    def magic_address(postcode: str):
        if postcode == ADDRESS_FAIL:
            return jsonify({"error": "address service unavailable (demo)"}), 500
        if postcode == ADDRESS_SLOW:
            time.sleep(SLOW_SECONDS)
        if postcode == ADDRESS_BROKEN:
            return Response(
                "<html><body>Service temporarily unavailable</body></html>", 200, content_type="application/json"
            )
        return None

    def magic_feed(uprn: str, broken: str, content_type: str):
        if uprn == FAIL:
            return jsonify({"error": "collection service unavailable (demo)"}), 500
        if uprn == SLOW:
            time.sleep(SLOW_SECONDS)
        if uprn == BROKEN:
            return Response(broken, 200, content_type=content_type)
        return None

    def tidy(postcode: str) -> str:
        compact = re.sub(r"\s+", "", postcode or "").upper()
        return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact

    @flask_app.get("/os/search/places/v1/postcode")
    def os_places():
        if request.args.get("key") not in API_KEYS:
            return jsonify(
                {"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}}
            ), 401
        asked = request.args.get("postcode", "")
        postcode = tidy(asked)
        if not re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]([A-Z]{1,2})?", postcode):
            return jsonify(
                {
                    "error": {
                        "statuscode": 400,
                        "message": (
                            "Requested postcode must contain a minimum of the sector plus 1 digit of the district e.g. "
                            f"SO1. Requested postcode was {asked}"
                        ),
                    }
                }
            ), 400
        failure = magic_address(postcode)
        if failure is not None:
            return failure
        rows = PROPERTIES.get(postcode, [])
        offset = int(request.args.get("offset", 0) or 0)
        maxresults = min(int(request.args.get("maxresults", 100) or 100), 100)
        page = rows[offset : offset + maxresults]
        body = {
            "header": {
                "uri": request.url,
                "query": f"postcode={asked}",
                "offset": offset,
                "totalresults": len(rows),
                "format": "JSON",
                "dataset": "DPA",
                "lr": "EN,CY",
                "maxresults": maxresults,
                "epoch": "120",
                "lastupdate": "2026-11-20",
                "output_srs": "EPSG:27700",
            }
        }
        if page:
            body["results"] = [os_places_result(uprn, address, town, postcode) for uprn, address, town, _ in page]
        return jsonify(body)

    @flask_app.get("/council/addresses")
    def council_addresses():
        if not request.args.get("postcode"):
            return jsonify({"error": "postcode is required"}), 400
        postcode = tidy(request.args["postcode"])
        failure = magic_address(postcode)
        if failure is not None:
            return failure
        return jsonify(
            {
                "addresses": [
                    {"uprn": uprn, "address": f"{address}, {town}", "postcode": postcode, "round": round_}
                    for uprn, address, town, round_ in PROPERTIES.get(postcode, [])
                ]
            }
        )

    @flask_app.get("/council/collections")
    def council_collections():
        uprn = request.args.get("uprn", "")
        failure = magic_feed(uprn, '{"collections": "not today"}', "application/json")
        if failure is not None:
            return failure
        if uprn not in UPRNS:
            return jsonify({"error": "No collections found for that property"}), 404
        return jsonify(
            {
                "uprn": uprn,
                "collections": [
                    {
                        "service": {"name": NAMES["json"][bin_type], "id": bin_type.upper()},
                        "dates": [d.isoformat() for d in dates(first, every, last_day(today(request.environ)))],
                    }
                    for bin_type, first, every in schedule(uprn)
                ],
            }
        )

    @flask_app.get("/ical/<uprn>.ics")
    def ical_feed(uprn):
        failure = magic_feed(uprn, "<html><body>Calendar unavailable</body></html>", "text/calendar")
        if failure is not None:
            return failure
        if uprn not in UPRNS:
            return Response("Not found", 404, content_type="text/plain")
        feed = ical(uprn, last_day(today(request.environ)))
        return Response(feed, 200, content_type="text/calendar; charset=utf-8")

    @flask_app.get("/ukbcd/api/bin_collection/<council>")
    def ukbcd(council):
        uprn = request.args.get("uprn", "")
        failure = magic_feed(
            uprn, '{"bins": [{"type": "Black Bin", "collectionDate": "2026-12-01"}]}', "application/json"
        )
        if failure is not None:
            return failure
        if uprn not in UPRNS:
            return jsonify({"error": f"{council}: no data for that property"}), 404
        bins = sorted(
            (
                (day, NAMES["ukbcd"][bin_type])
                for bin_type, first, every in schedule(uprn)
                for day in dates(first, every, last_day(today(request.environ)))
            )
        )
        return jsonify({"bins": [{"type": name, "collectionDate": f"{day:%d/%m/%Y}"} for day, name in bins]})

    return flask_app
