"""A local fake of postcodes.io (https://api.postcodes.io), mounted at ``/postcodes``.

DEMO DATA. A handful of real, public postcodes of council buildings and landmarks (no homes), so
that every kind of area the library must word correctly is covered:

| postcode  | what is there                        | area                                             |
| --------- | ------------------------------------ | ------------------------------------------------ |
| OX1 1BX   | Oxford Town Hall                     | Oxford (E07000178) in Oxfordshire (E10000025)    |
| OX1 1ND   | County Hall, Oxford                  | Oxford in Oxfordshire                            |
| OX15 4AA  | Bodicote House, Bodicote             | Cherwell (E07000177) in Oxfordshire              |
| BS1 5TR   | City Hall, Bristol                   | Bristol, City of (E06000023): English unitary    |
| CF10 3ND  | City Hall, Cardiff                   | Cardiff (W06000015): Welsh principal council     |
| CF10 4UW  | County Hall, Cardiff                 | Cardiff                                          |
| CF63 4RU  | Civic Offices, Barry                 | Vale of Glamorgan (W06000014)                    |
| EH8 8BG   | Waverley Court, Edinburgh            | City of Edinburgh (S12000036): Scottish council  |
| BT1 5GS   | City Hall, Belfast                   | Belfast (N09000003): NI district                 |
| E1W 1UU   | retired in February 2015             | terminated                                       |

Council names and their GSS codes (admin_district, admin_county) are the real ONS ones; the
coordinates are approximate, the ward, parish and constituency names are demo values, and fields
the library does not read (health, statistical and electoral codes) are null: do not use this data
for anything but development and tests.

Magic postcodes (valid in format) make it misbehave, so failure paths are testable end to end:
``ZZ50 0AA`` answers 500 ``Service not ready``; ``ZZ99 9AA`` sleeps ``SLOW_SECONDS`` (past a turn's
budget) before answering; ``ZZ20 0AA`` answers 200 with an HTML page. Any other well-formed
postcode is 404 ``Postcode not found``; a malformed one 404 ``Invalid postcode``, as postcodes.io
answers. ``GET /_requests`` lists what the fake received (method, path), for tests.
"""

from __future__ import annotations

import time
from typing import Any

from townhall.postcodes import normalise

PREFIX = "postcodes"
SLOW_SECONDS = 4.5
ERROR_POSTCODE, SLOW_POSTCODE, MALFORMED_POSTCODE = "ZZ50 0AA", "ZZ99 9AA", "ZZ20 0AA"


def _place(
    postcode: str,
    *,
    lat: float,
    lon: float,
    east: int,
    north: int,
    country: str,
    region: str | None,
    district: str,
    district_code: str,
    county: str | None,
    county_code: str,
    ward: str,
    parish: str | None,
    constituency: str,
    quality: int = 1,
) -> dict[str, Any]:
    """A postcodes.io result with the fields and codes the API gives (names None where it does)."""
    outcode, incode = postcode.split(" ")
    return {
        "postcode": postcode,
        "quality": quality,
        "eastings": east,
        "northings": north,
        "country": country,
        "nhs_ha": None,
        "longitude": lon,
        "latitude": lat,
        "european_electoral_region": region or country,
        "primary_care_trust": None,
        "region": region,
        "lsoa": None,
        "msoa": None,
        "incode": incode,
        "outcode": outcode,
        "parliamentary_constituency": constituency,
        "parliamentary_constituency_2024": constituency,
        "admin_district": district,
        "parish": parish,
        "admin_county": county,
        "date_of_introduction": "198001",
        "admin_ward": ward,
        "ced": None,
        "ccg": None,
        "nuts": district,
        "pfa": None,
        "codes": {
            "admin_district": district_code,
            "admin_county": county_code,
            "admin_ward": None,
            "parish": None,
            "parliamentary_constituency": None,
            "parliamentary_constituency_2024": None,
            "ccg": None,
            "ccg_id": None,
            "ced": None,
            "nuts": None,
            "lsoa": None,
            "msoa": None,
            "lau2": district_code,
            "pfa": None,
        },
    }


OXFORD = dict(
    country="England",
    region="South East",
    district="Oxford",
    district_code="E07000178",
    county="Oxfordshire",
    county_code="E10000025",
    parish="Oxford, unparished area",
)
CARDIFF = dict(
    country="Wales", region=None, district="Cardiff", district_code="W06000015", county=None, county_code="W99999999"
)

PLACES: dict[str, dict[str, Any]] = {
    p["postcode"]: p
    for p in (
        _place(
            "OX1 1BX",
            lat=51.751725,
            lon=-1.257377,
            east=451325,
            north=205925,
            ward="Carfax & Jericho",
            constituency="Oxford East",
            **OXFORD,
        ),
        _place(
            "OX1 1ND",
            lat=51.752650,
            lon=-1.262590,
            east=450965,
            north=206025,
            ward="Carfax & Jericho",
            constituency="Oxford East",
            **OXFORD,
        ),
        _place(
            "OX15 4AA",
            lat=52.036110,
            lon=-1.329160,
            east=446090,
            north=237640,
            country="England",
            region="South East",
            district="Cherwell",
            district_code="E07000177",
            county="Oxfordshire",
            county_code="E10000025",
            ward="Adderbury, Bloxham & Bodicote",
            parish="Bodicote",
            constituency="Banbury",
        ),
        _place(
            "BS1 5TR",
            lat=51.452490,
            lon=-2.600880,
            east=358320,
            north=172660,
            country="England",
            region="South West",
            district="Bristol, City of",
            district_code="E06000023",
            county=None,
            county_code="E99999999",
            ward="Central",
            parish="Bristol, unparished area",
            constituency="Bristol Central",
        ),
        _place(
            "CF10 3ND",
            lat=51.485500,
            lon=-3.178800,
            east=318200,
            north=176900,
            ward="Cathays",
            parish="Cathays",
            constituency="Cardiff East",
            **CARDIFF,
        ),
        _place(
            "CF10 4UW",
            lat=51.471300,
            lon=-3.164300,
            east=319190,
            north=175300,
            ward="Butetown",
            parish="Butetown",
            constituency="Cardiff South and Penarth",
            **CARDIFF,
        ),
        _place(
            "CF63 4RU",
            lat=51.403400,
            lon=-3.267600,
            east=311880,
            north=167880,
            country="Wales",
            region=None,
            district="Vale of Glamorgan",
            district_code="W06000014",
            county=None,
            county_code="W99999999",
            ward="Court",
            parish="Barry",
            constituency="Vale of Glamorgan",
        ),
        _place(
            "EH8 8BG",
            lat=55.951900,
            lon=-3.183600,
            east=326150,
            north=673900,
            country="Scotland",
            region=None,
            district="City of Edinburgh",
            district_code="S12000036",
            county=None,
            county_code="S99999999",
            ward="City Centre",
            parish=None,
            constituency="Edinburgh East and Musselburgh",
        ),
        _place(
            "BT1 5GS",
            lat=54.596700,
            lon=-5.930100,
            east=333870,
            north=374060,
            country="Northern Ireland",
            region=None,
            district="Belfast",
            district_code="N09000003",
            county=None,
            county_code="N99999999",
            ward="Botanic",
            parish=None,
            constituency="Belfast South and Mid Down",
        ),
    )
}

TERMINATED: dict[str, dict[str, Any]] = {
    "E1W 1UU": {
        "postcode": "E1W 1UU",
        "year_terminated": 2015,
        "month_terminated": 2,
        "eastings": 533890,
        "northings": 180440,
        "longitude": -0.073732,
        "latitude": 51.508007,
    },
}


def app(include_terminated: bool = True):
    """The fake as a WSGI app with fresh state. ``include_terminated=False`` answers a retired
    postcode's lookup without the ``terminated`` block, as older postcodes.io deployments do."""
    from flask import Flask, jsonify, request

    fake = Flask("postcodes_fake")
    received: list[dict[str, str]] = []

    @fake.before_request
    def record():
        if request.path != "/_requests":
            received.append({"method": request.method, "path": request.path})

    def error(status: int, message: str, **extra):
        return jsonify({"status": status, "error": message, **extra}), status

    def known(raw: str) -> tuple[str | None, Any]:
        """(normalised postcode, a response to send instead of a lookup, if any)."""
        postcode = normalise(raw)
        if postcode is None:
            return None, None
        if postcode == ERROR_POSTCODE:
            return postcode, error(500, "Service not ready")
        if postcode == SLOW_POSTCODE:
            time.sleep(SLOW_SECONDS)
            return postcode, jsonify({"status": 200, "result": PLACES["OX1 1BX"]})
        if postcode == MALFORMED_POSTCODE:
            return postcode, ("<html><body>Gateway says hello</body></html>", 200, {"Content-Type": "text/html"})
        return postcode, None

    @fake.get("/postcodes/<raw>")
    def lookup(raw: str):
        postcode, special = known(raw)
        if special is not None:
            return special
        if postcode is None:
            return error(404, "Invalid postcode")
        if postcode in PLACES:
            return jsonify({"status": 200, "result": PLACES[postcode]})
        retired = TERMINATED.get(postcode)
        if retired and include_terminated:
            block = {
                k: retired[k] for k in ("postcode", "year_terminated", "month_terminated", "longitude", "latitude")
            }
            return error(404, "Postcode not found", terminated=block)
        return error(404, "Postcode not found")

    @fake.get("/postcodes/<raw>/validate")
    def validate(raw: str):
        postcode, special = known(raw)
        if special is not None:
            return special
        return jsonify({"status": 200, "result": postcode in PLACES})

    @fake.get("/terminated_postcodes/<raw>")
    def terminated(raw: str):
        postcode, special = known(raw)
        if special is not None:
            return special
        if postcode in TERMINATED:
            return jsonify({"status": 200, "result": TERMINATED[postcode]})
        return error(404, "Terminated postcode not found")

    @fake.get("/_requests")
    def requests_seen():
        return jsonify(received)

    @fake.errorhandler(404)
    def not_found(_):
        return error(404, "Resource not found")

    @fake.errorhandler(405)
    def not_allowed(_):
        return error(405, "Method not allowed")

    return fake
