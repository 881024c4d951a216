"""A local fake of the Democracy Club developer API v1, mounted at ``/democracyclub``.

Routes, as the real API (``https://developers.democracyclub.org.uk``): ``/api/v1/postcode/{pc}/``
and ``/api/v1/address/{slug}/`` need ``?auth_token=`` (one of ``KEYS``, else 401
``{"message": "Unauthorized"}``); ``/api/v1/sandbox/...`` serves the same data without a key.

DEMO DATA: Democracy Club's sandbox postcodes with their documented behaviours, but with made-up
councils, stations, candidates and contacts (example.org, Ofcom drama phone numbers):

| postcode | behaviour |
| --- | --- |
| AA1 1AA | no upcoming elections (``dates: []``), ``registration: null`` |
| AA1 2AA | one election, polling station known, photo ID required (ballot and notification) |
| AA1 2AB | one election, polling station not known |
| AA1 3AA | address picker: slugs 10035187881 (station known), 10035187882 (another station), 10035187883 (not known), 10035187884 (listed, but its lookup is 404) |
| AA1 4AA | three dates: a cancelled ward ballot (death of a candidate) next to a mayoral one; a date whose only ballot is uncontested (``cancelled_election`` notification); the rescheduled ward poll |
| AA1 5AA | Northern Ireland: the Electoral Office, NI photo ID |
| EH1 1YJ | Scotland: no elections; registration by a valuation joint board, not the council |

The elections are always upcoming: counted from the Monday of the week of the fakes' day
(``townhall_tools.fakes.today``: the real today unless the server pins one), the election is the
Thursday 17 days later, the uncontested parish poll a week after it, and the rescheduled ward poll
six weeks after it. From Monday 20 April 2026 (the day the tests pin): Thursday 7 May, 14 May and
18 June 2026.

Any other well-formed postcode is 404 with an empty body; text that is not a postcode is 400
``{"detail": "Could not geocode from any source"}``; an unknown slug 404 ``{"detail": "Address not
found"}``. Magic postcodes: ``ZZ50 0AA`` answers 500; ``ZZ99 9AA`` sleeps ``SLOW_SECONDS`` (past a
turn's budget); ``ZZ20 0AA`` answers 200 with an HTML page; ``ZZ40 0AA`` answers 400 in the
aggregator's ``{"error": ...}`` form. ``GET /_requests`` lists what the fake received (method,
path, whether a key came), for tests.
"""

from __future__ import annotations

import copy
import time
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from townhall.postcodes import compact, normalise

PREFIX = "democracyclub"
KEYS = frozenset({"demo-oxford-dc-key-not-a-secret", "demo-cardiff-dc-key-not-a-secret"})
SLOW_SECONDS = 4.5
ERROR_POSTCODE, SLOW_POSTCODE, MALFORMED_POSTCODE, REFUSED_POSTCODE = "ZZ50 0AA", "ZZ99 9AA", "ZZ20 0AA", "ZZ40 0AA"
# Listed by AA1 3AA's address picker but unknown to /address/ (404), as when the register changed
# between the two calls.
GONE_SLUG, GONE_ADDRESS = "10035187884", "4 Sandbox Road, Democracy Town"
SANDBOX_BASE = "https://developers.democracyclub.org.uk/api/v1/sandbox"

ELECTORAL_SERVICES = {
    "council_id": "DEM",
    "name": "Democracy Town Council (demo)",
    "nation": "England",
    "address": "Electoral Services\nDemo Town Hall\n1 Sandbox Square\nDemocracy Town",
    "postcode": "AA1 9ZZ",
    "email": "demo-elections@example.org",
    "phone": "01632 960900",
    "website": "https://example.org/demo/elections",
    "identifiers": ["E07000178"],
}
VOTER_ID = {
    "type": "voter_id",
    "url": "https://example.org/demo/voter-id",
    "title": "You need to show photographic ID to vote in this election",
    "detail": (
        "You'll need to show an accepted form of photo ID, like a passport or driving licence, at the polling station."
    ),
}


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def _station(slug: str, address: str, postcode: str, lon: float, lat: float) -> dict:
    return {
        "polling_station_known": True,
        "custom_finder": None,
        "report_problem_url": f"https://example.org/demo/report-problem/{slug}",
        "station": {
            "id": f"DEM.{slug}",
            "type": "Feature",
            "geometry": _point(lon, lat),
            "properties": {"postcode": postcode, "address": address},
        },
    }


UNKNOWN_STATION = {"polling_station_known": False, "custom_finder": None, "report_problem_url": None, "station": None}
COMMUNITY_CENTRE = _station(
    "12-sandbox-community-centre", "Sandbox Community Centre\n12 Demo Road\nDemocracy Town", "AA1 2AB", -1.2571, 51.7521
)
CHURCH_HALL = _station(
    "7-st-demos-church-hall", "St Demo's Church Hall\nChurch Lane\nDemocracy Town", "AA1 3AB", -1.2612, 51.7498
)


def _candidate(ynr_id: int, name: str, party_id: str, party: str) -> dict:
    slug = name.lower().replace(" ", "-")
    return {
        "list_position": None,
        "party": {"party_id": party_id, "party_name": party},
        "previous_party_affiliations": None,
        "person": {
            "ynr_id": ynr_id,
            "name": name,
            "email": None,
            "photo_url": None,
            "leaflets": None,
            "absolute_url": f"https://example.org/demo/person/{ynr_id}/{slug}",
        },
    }


CANDIDATES = [
    _candidate(900001, "Alex Example", "party:demo-1", "Demo Party"),
    _candidate(900002, "Sam Sample", "party:demo-2", "Sandbox Party"),
    _candidate(900003, "Jo Placeholder", "ynmp-party:2", "Independent"),
]


def _ballot(
    ballot_id: str,
    title: str,
    day: str,
    *,
    role: str = "Local Councillor",
    voter_id: str | None = "EA-2022",
    cancelled: bool = False,
    reason: str | None = None,
    replaced_by: str | None = None,
    replaces: str | None = None,
    post: str = "Sandbox",
) -> dict:
    election_id = ".".join(ballot_id.split(".")[:2] + [day])
    return {
        "ballot_paper_id": ballot_id,
        "ballot_title": title,
        "ballot_url": f"{SANDBOX_BASE}/elections/{ballot_id}/",
        "poll_open_date": day,
        "elected_role": role,
        "metadata": None,
        "cancelled": cancelled,
        "cancellation_reason": reason,
        "replaced_by": replaced_by,
        "replaces": replaces,
        "requires_voter_id": voter_id,
        "timetable": {
            "notice_of_election_deadline": None,
            "close_of_nominations": None,
            "sopn_publish_deadline": None,
            "registration_deadline": None,
            "postal_vote_application_deadline": None,
            "vac_application_deadline": None,
        },
        "election_id": election_id,
        "post_name": post,
        "election_name": title.split(f" {post}")[0] if role == "Local Councillor" else title,
        "postal_voting_requirements": "EA-2022" if voter_id == "EA-2022" else None,
        "candidates_verified": True,
        "by_election_reason": None,
        "voting_system": {"slug": "FPTP", "name": "First-past-the-post", "uses_party_lists": False},
        "hustings": None,
        "seats_contested": 1,
        "candidates": [] if cancelled and reason == "NO_CANDIDATES" else CANDIDATES,
        "wcivf_url": f"https://example.org/demo/elections/{ballot_id}/",
    }


def _date(day: str, station: dict, ballots: list, notifications: list | None = None) -> dict:
    return {
        "date": day,
        "polling_station": station,
        "advance_voting_station": None,
        "notifications": notifications or [],
        "ballots": ballots,
    }


def _answer(
    dates: list,
    *,
    picker: list | None = None,
    services: dict | None = None,
    registration: Any = "same",
    lon: float = -1.2577,
    lat: float = 51.752,
) -> dict:
    services = services if services is not None else ELECTORAL_SERVICES
    if registration == "same":
        registration = {k: services[k] for k in ("address", "postcode", "email", "phone", "website")}
    return {
        "address_picker": bool(picker),
        "addresses": picker or [],
        "dates": dates,
        "electoral_services": services,
        "registration": registration,
        "postcode_location": {"type": "Feature", "properties": None, "geometry": _point(lon, lat)},
    }


NI_SERVICES = {
    "council_id": "N09000007",
    "name": "",
    "nation": "Northern Ireland",
    "address": "The Electoral Office (demo)\n1 Demo Street\nBelfast",
    "postcode": "AA1 9ZY",
    "email": "demo-eoni@example.org",
    "phone": "01632 960901",
    "website": "https://example.org/demo/eoni",
}
SCOTTISH_SERVICES = {
    "council_id": "EDH",
    "name": "Demo Scottish Council",
    "nation": "Scotland",
    "address": "Council Chambers\nDemo High Street\nEdinburgh",
    "postcode": "AA1 9ZX",
    "email": "demo-scottish-elections@example.org",
    "phone": "01632 960902",
    "website": "https://example.org/demo/scottish-elections",
    "identifiers": ["S12000036"],
}
SCOTTISH_REGISTRATION = {
    "address": "Electoral Registration Officer\nDemo Valuation Joint Board\n17 Demo Crescent\nEdinburgh",
    "postcode": "AA1 9ZW",
    "email": "demo-ero@example.org",
    "phone": "01632 960903",
    "website": "https://example.org/demo/valuation-joint-board",
}


def election_days(today: date) -> tuple[date, date, date]:
    """The demo's election day, the uncontested parish poll and the rescheduled ward poll."""
    monday = today - timedelta(days=today.weekday())
    election = monday + timedelta(days=17)
    return election, election + timedelta(weeks=1), election + timedelta(weeks=6)


@lru_cache(maxsize=8)
def demo_data(today: date) -> tuple[dict[str, dict], dict[str, tuple[str, dict]]]:
    """(answers by compact postcode, (address, answer) by address slug), dated from ``today``."""
    day, parish, rescheduled = (d.isoformat() for d in election_days(today))
    ward = _ballot(f"local.democracy-town.sandbox.{day}", "Democracy Town local election Sandbox", day)
    harbour, harbour_by = f"local.democracy-town.harbour.{day}", f"local.democracy-town.harbour.by.{rescheduled}"
    addresses = {
        "10035187881": ("1 Sandbox Road, Democracy Town", _answer([_date(day, COMMUNITY_CENTRE, [ward], [VOTER_ID])])),
        "10035187882": ("2 Sandbox Road, Democracy Town", _answer([_date(day, CHURCH_HALL, [ward], [VOTER_ID])])),
        "10035187883": ("Flat A, 3 Sandbox Road, Democracy Town", _answer([_date(day, UNKNOWN_STATION, [ward])])),
    }
    postcodes = {
        "AA11AA": _answer([], registration=None),
        "AA12AA": _answer([_date(day, COMMUNITY_CENTRE, [ward], [VOTER_ID])]),
        "AA12AB": _answer([_date(day, UNKNOWN_STATION, [ward])]),
        "AA13AA": _answer(
            [],
            picker=[
                {"address": address, "postcode": "AA13AA", "slug": slug, "url": f"{SANDBOX_BASE}/address/{slug}/"}
                for slug, (address, _) in [*addresses.items(), (GONE_SLUG, (GONE_ADDRESS, None))]
            ],
        ),
        "AA14AA": _answer(
            [
                _date(
                    day,
                    COMMUNITY_CENTRE,
                    [
                        _ballot(
                            f"mayor.democracy-town.{day}",
                            "Mayor of Democracy Town election",
                            day,
                            role="Mayor of Democracy Town",
                            post="Democracy Town",
                        ),
                        _ballot(
                            harbour,
                            "Democracy Town local election Harbour",
                            day,
                            cancelled=True,
                            reason="CANDIDATE_DEATH",
                            replaced_by=harbour_by,
                            post="Harbour",
                        ),
                    ],
                    [VOTER_ID],
                ),
                _date(
                    parish,
                    COMMUNITY_CENTRE,
                    [
                        _ballot(
                            f"parish.sandbox.{parish}",
                            "Sandbox Parish Council election",
                            parish,
                            role="Parish Councillor",
                            voter_id=None,
                            cancelled=True,
                            reason="EQUAL_CANDIDATES",
                        ),
                    ],
                    [
                        {
                            "type": "cancelled_election",
                            "url": None,
                            "title": "Uncontested Election",
                            "detail": "The poll for this election will not take place because it is uncontested.",
                        }
                    ],
                ),
                _date(
                    rescheduled,
                    COMMUNITY_CENTRE,
                    [
                        _ballot(
                            harbour_by,
                            "Democracy Town local election Harbour by-election",
                            rescheduled,
                            replaces=harbour,
                            post="Harbour",
                        ),
                    ],
                    [VOTER_ID],
                ),
            ]
        ),
        "AA15AA": _answer(
            [
                _date(
                    day,
                    UNKNOWN_STATION,
                    [
                        _ballot(
                            f"parl.demo-north.by.{day}",
                            "Demo North by-election",
                            day,
                            role="Member of Parliament",
                            voter_id="EFA-2002",
                            post="Demo North",
                        ),
                    ],
                    [
                        {
                            "type": "voter_id",
                            "url": "https://example.org/demo/eoni/voter-id",
                            "title": "You need to show photographic ID to vote in this election",
                            "detail": (
                                "Voters in Northern Ireland are required to show one form of photo ID, like a passport "
                                "or driving licence."
                            ),
                        }
                    ],
                ),
            ],
            services=NI_SERVICES,
            lon=-5.93,
            lat=54.597,
        ),
        "EH11YJ": _answer([], services=SCOTTISH_SERVICES, registration=SCOTTISH_REGISTRATION, lon=-3.19, lat=55.95),
    }
    return postcodes, addresses


def app():
    """The fake as a WSGI app with fresh state."""
    from flask import Flask, Response, jsonify, request

    from townhall_tools.fakes import today

    fake = Flask("democracyclub_fake")
    received: list[dict[str, Any]] = []

    @fake.before_request
    def record():
        if request.path != "/_requests":
            received.append(
                {"method": request.method, "path": request.path, "auth_token": bool(request.args.get("auth_token"))}
            )

    def authorised(sandbox: bool):
        if sandbox or request.args.get("auth_token") in KEYS:
            return None
        return jsonify({"message": "Unauthorized"}), 401

    def by_postcode(raw: str, sandbox: bool):
        refused = authorised(sandbox)
        if refused:
            return refused
        postcode = normalise(raw)
        if postcode is None:
            return jsonify({"detail": "Could not geocode from any source"}), 400
        if postcode == ERROR_POSTCODE:
            return jsonify({"message": "Internal server error"}), 500
        postcodes, _ = demo_data(today(request.environ))
        if postcode == SLOW_POSTCODE:
            time.sleep(SLOW_SECONDS)
            return jsonify(postcodes["AA12AA"])
        if postcode == MALFORMED_POSTCODE:
            return Response("<html><body>Upstream says hello</body></html>", 200, content_type="text/html")
        if postcode == REFUSED_POSTCODE:
            return jsonify({"error": "Could not geocode from any source"}), 400
        found = postcodes.get(compact(postcode))
        if found is None:
            return Response(b"", 404)
        return jsonify(copy.deepcopy(found))

    def by_address(slug: str, sandbox: bool):
        refused = authorised(sandbox)
        if refused:
            return refused
        found = demo_data(today(request.environ))[1].get(slug)
        if found is None:
            return jsonify({"detail": "Address not found"}), 404
        return jsonify(copy.deepcopy(found[1]))

    fake.add_url_rule("/api/v1/postcode/<raw>/", "postcode", lambda raw: by_postcode(raw, False))
    fake.add_url_rule("/api/v1/sandbox/postcode/<raw>/", "sandbox_postcode", lambda raw: by_postcode(raw, True))
    fake.add_url_rule("/api/v1/address/<slug>/", "address", lambda slug: by_address(slug, False))
    fake.add_url_rule("/api/v1/sandbox/address/<slug>/", "sandbox_address", lambda slug: by_address(slug, True))

    @fake.get("/_requests")
    def requests_seen():
        return jsonify(received)

    @fake.errorhandler(404)
    def not_found(_):
        return jsonify({"message": "Not Found"}), 404

    return fake
