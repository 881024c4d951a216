"""The Democracy Club client against its fake (served over loopback HTTP), and its parsing."""

from __future__ import annotations

import time
from datetime import date

import pytest
import requests

from townhall.contract import Deadline
from townhall.library import default_library
from townhall.upstream import Http, UpstreamError

default_library().processes["polling_station"].handler  # makes townhall_processes.polling_station a package
from townhall_processes.polling_station import fake  # noqa: E402
from townhall_processes.polling_station.client import BadPostcode, DemocracyClub, NotFound, parse  # noqa: E402

KEY = "demo-oxford-dc-key-not-a-secret"


@pytest.fixture(scope="module")
def base(served_fakes) -> str:
    return f"{served_fakes.url}/{fake.PREFIX}"


@pytest.fixture
def api(base) -> DemocracyClub:
    return DemocracyClub(Http(), f"{base}/api/v1", KEY)


def seen(base: str) -> list[dict]:
    return requests.get(f"{base}/_requests", timeout=5).json()


def test_a_known_station_with_its_ballot_and_photo_id(api, base):
    before = len(seen(base))
    result = api.postcode("aa1 2aa", Deadline.after(3))
    assert not result.address_picker and len(result.dates) == 1
    election = result.dates[0]
    assert election.day == date(2026, 5, 7) and election.station_known
    assert election.station.address == ("Sandbox Community Centre", "12 Demo Road", "Democracy Town")
    assert election.station.postcode == "AA1 2AB"
    assert [(b.title, b.requires_voter_id, b.cancelled) for b in election.ballots] == [
        ("Democracy Town local election Sandbox", "EA-2022", False)
    ]
    assert [n.type for n in election.notifications] == ["voter_id"]
    assert result.electoral_services.phone == "01632 960900"
    # the key went in the query string; the postcode without its space
    assert seen(base)[before:] == [{"method": "GET", "path": "/api/v1/postcode/AA12AA/", "auth_token": True}]


def test_no_elections_and_a_null_registration_falls_back_to_electoral_services(api):
    result = api.postcode("AA1 1AA", Deadline.after(3))
    assert result.dates == () and result.registration is None
    assert result.registration_contact == result.electoral_services


def test_the_station_not_yet_known(api):
    election = api.postcode("AA12AB", Deadline.after(3)).dates[0]
    assert not election.station_known and election.station is None


def test_the_address_picker_and_each_address(api):
    result = api.postcode("AA1 3AA", Deadline.after(3))
    assert result.address_picker and result.dates == ()
    assert [a.slug for a in result.addresses] == ["10035187881", "10035187882", "10035187883", "10035187884"]
    with pytest.raises(NotFound):  # listed, but gone by the time it is looked up
        api.address(result.addresses[-1].slug, Deadline.after(3))
    stations = [api.address(a.slug, Deadline.after(3)).dates[0] for a in result.addresses[:-1]]
    assert [s.station.address[0] if s.station else None for s in stations] == [
        "Sandbox Community Centre",
        "St Demo's Church Hall",
        None,
    ]


def test_several_dates_with_cancelled_and_rescheduled_ballots(api):
    dates = api.postcode("AA1 4AA", Deadline.after(3)).dates
    assert [d.day.isoformat() for d in dates] == ["2026-05-07", "2026-05-14", "2026-06-18"]
    cancelled = [b for d in dates for b in d.ballots if b.cancelled]
    assert [(b.cancellation_reason, b.replaced_by) for b in cancelled] == [
        ("CANDIDATE_DEATH", "local.democracy-town.harbour.by.2026-06-18"),
        ("EQUAL_CANDIDATES", ""),
    ]
    assert [n.type for n in dates[1].notifications] == ["cancelled_election"]


def test_scotland_and_northern_ireland_contacts(api):
    scotland = api.postcode("EH1 1YJ", Deadline.after(3))
    assert scotland.electoral_services.nation == "Scotland"
    assert scotland.registration.phone == "01632 960903" != scotland.electoral_services.phone
    ni = api.postcode("AA1 5AA", Deadline.after(3))
    assert ni.electoral_services.nation == "Northern Ireland" and ni.electoral_services.name == ""
    assert ni.dates[0].ballots[0].requires_voter_id == "EFA-2002"


def test_unknown_postcode_is_not_found_and_a_bad_one_is_refused_in_either_error_form(api):
    with pytest.raises(NotFound):
        api.postcode("OX1 1BX", Deadline.after(3))  # 404 with an empty body
    with pytest.raises(BadPostcode) as e:
        api.postcode("not a postcode", Deadline.after(3))
    assert e.value.detail == "Could not geocode from any source"
    with pytest.raises(BadPostcode) as e:
        api.postcode(fake.REFUSED_POSTCODE, Deadline.after(3))  # {"error": ...}
    assert e.value.detail == "Could not geocode from any source"


def test_unknown_and_unsafe_address_slugs(api, base):
    with pytest.raises(NotFound):
        api.address("99999999999", Deadline.after(3))
    before = len(seen(base))
    with pytest.raises(NotFound):
        api.address("../../postcode/AA12AA", Deadline.after(3))
    assert len(seen(base)) == before  # never sent


def test_a_bad_key_is_unauthorised_and_the_sandbox_needs_none(base):
    with pytest.raises(UpstreamError) as e:
        DemocracyClub(Http(), f"{base}/api/v1", "wrong-key").postcode("AA1 2AA", Deadline.after(3))
    assert (e.value.kind, e.value.status, e.value.body) == ("status", 401, {"message": "Unauthorized"})
    sandbox = DemocracyClub(Http(), f"{base}/api/v1/sandbox/", "").postcode("AA1 2AA", Deadline.after(3))
    assert sandbox.dates[0].station_known


def test_server_errors_slow_and_malformed_answers(api, base):
    before = len(seen(base))
    with pytest.raises(UpstreamError) as e:
        api.postcode(fake.ERROR_POSTCODE, Deadline.after(3))
    assert e.value.status == 500
    assert len(seen(base)) - before == 2  # one retry
    started = time.monotonic()
    with pytest.raises(UpstreamError) as e:
        api.postcode(fake.SLOW_POSTCODE, Deadline.after(0.5))
    assert e.value.kind == "timeout" and time.monotonic() - started < 1.0
    with pytest.raises(UpstreamError) as e:
        api.postcode(fake.MALFORMED_POSTCODE, Deadline.after(3))
    assert e.value.kind == "malformed"


def test_no_base_url_is_unconfigured():
    with pytest.raises(UpstreamError) as e:
        DemocracyClub(Http(), "", KEY)
    assert e.value.kind == "unconfigured"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"dates": []},
        {"address_picker": "no", "dates": []},
        {"address_picker": False, "dates": {}},
        {"address_picker": True, "dates": [], "addresses": []},
        {"address_picker": False, "dates": [{"date": "7 May"}]},
        {"address_picker": False, "dates": [{"date": "2026-05-07", "ballots": [{"cancelled": False}]}]},
        {"address_picker": False, "dates": [{"date": "2026-05-07", "polling_station": []}]},
        {"address_picker": False, "dates": [], "electoral_services": "call us"},
    ],
)
def test_bodies_that_are_not_the_contract_are_malformed(body):
    with pytest.raises(UpstreamError) as e:
        parse(body)
    assert e.value.kind == "malformed"


def test_parsing_tolerates_what_the_api_may_leave_out():
    result = parse(
        {
            "address_picker": False,
            "dates": [
                {
                    "date": "2026-05-07",
                    "polling_station": {"polling_station_known": True, "station": {"properties": {"address": ""}}},
                    "ballots": [{"ballot_title": "A ballot", "cancelled": True}],
                }
            ],
            "electoral_services": None,
            "registration": None,
        }
    )
    election = result.dates[0]
    assert election.station is None and election.notifications == () and election.ballots[0].cancellation_reason == ""
    assert result.registration_contact is None
