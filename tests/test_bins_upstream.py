"""townhall.upstreams.bins against its fake, served over loopback HTTP: every collection source
(iCal, JSON API, UKBinCollectionData, fixed rounds), every address source (OS Places, a council's
endpoint, a settings table) and every failure the fake can be made to show."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from townhall.contract import Deadline
from townhall.upstream import UpstreamError
from townhall.upstreams.bins import Collection, Property, addresses, collections
from townhall.upstreams.bins.places import tidy
from townhall_tools.fakes import bins as fake
from townhall_tools.testing import sandbox_upstream

TODAY = date(2026, 12, 1)  # a Tuesday
TYPES = [
    {"match": "general waste", "bin": "rubbish"},
    {"match": "black bin", "bin": "rubbish"},
    {"match": "refuse", "bin": "rubbish"},
    {"match": "recycling", "bin": "recycling"},
    {"match": "food", "bin": "food"},
    {"match": "garden", "bin": "garden"},
]
TUESDAY = Property("1 Demo Street, Cardiff", "CF10 1EP", "100100000101")  # uprn % 5 == 1
FRIDAY = Property("Flat 4, 20 Heol Enghraifft, Cardiff", "CF24 4HQ", "100100000204")  # uprn % 5 == 4


@pytest.fixture
def up(tmp_path):
    return sandbox_upstream("cardiff", tmp_path)


def deadline(seconds: float = 3.0) -> Deadline:
    return Deadline.after(seconds)


def ical(base: str) -> dict:
    return {"type": "ical", "url": f"{base}/bins/ical/{{uprn}}.ics", "types": TYPES}


def json_api(base: str) -> dict:
    return {
        "type": "json",
        "url": f"{base}/bins/council/collections?uprn={{uprn}}",
        "list": "collections",
        "type_field": "service.name",
        "date_field": "dates",
        "date_format": "%Y-%m-%d",
        "types": TYPES,
    }


def ukbcd(base: str) -> dict:
    return {
        "type": "ukbcd",
        "url": f"{base}/bins/ukbcd/api/bin_collection/CardiffCouncil?uprn={{uprn}}",
        "types": TYPES,
    }


def expected(uprn: str, first: date, last: date) -> list[Collection]:
    """What the fake's demo calendar says, straight from its schedule."""
    return sorted(
        Collection(day, kind)
        for kind, start, every in fake.schedule(uprn)
        for day in fake.dates(start, every)
        if first <= day <= last
    )


# -- collection sources ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", [ical, json_api, ukbcd], ids=["ical", "json", "ukbcd"])
@pytest.mark.parametrize("prop", [TUESDAY, FRIDAY], ids=["tuesday", "friday"])
def test_every_feed_gives_the_demo_calendar(served_fakes, up, source, prop):
    found = collections(source(served_fakes.url), prop, up, deadline(), TODAY)
    assert found == expected(prop.uprn, date(2026, 11, 3), date(2027, 2, 9))
    assert date(2026, 11, 3) <= found[0].date < date(2026, 11, 10)  # 28 days back, 70 ahead
    assert date(2027, 2, 2) < found[-1].date <= date(2027, 2, 9)


@pytest.mark.parametrize("source", [ical, json_api, ukbcd], ids=["ical", "json", "ukbcd"])
def test_collections_on_bank_holidays_move_to_the_next_day(served_fakes, up, source):
    found = collections(source(served_fakes.url), FRIDAY, up, deadline(), date(2026, 12, 20))
    christmas = [c for c in found if date(2026, 12, 24) <= c.date <= date(2027, 1, 3)]
    assert {c.date for c in christmas} == {date(2026, 12, 26), date(2027, 1, 2)}  # Fri 25 Dec, Fri 1 Jan
    assert {c.bin_type for c in christmas if c.date == date(2026, 12, 26)} == {"recycling", "food", "rubbish"}


def test_ical_recurrences_and_overrides_are_expanded_by_rule():
    """The fake's feed holds one RRULE per bin and RECURRENCE-ID overrides, not a list of dates."""
    feed = fake.ical(FRIDAY.uprn)
    assert feed.count("RRULE:") == 4 and "RECURRENCE-ID;VALUE=DATE:20261225" in feed
    assert "DTSTART;VALUE=DATE:20261226" in feed


def test_a_name_no_rule_matches_is_left_out(served_fakes, up):
    source = {**ical(served_fakes.url), "types": [{"match": "food", "bin": "food"}]}
    found = collections(source, TUESDAY, up, deadline(), TODAY)
    assert found and {c.bin_type for c in found} == {"food"}


def test_one_name_can_stand_for_two_bins():
    from townhall.upstreams.bins import bins_named

    rules = [{"match": "recycling", "bin": "recycling"}, {"match": "food", "bin": "food"}]
    assert bins_named("Recycling and FOOD waste", rules) == ["recycling", "food"]
    assert bins_named("Garden", rules) == []


@pytest.mark.parametrize("source", [ical, json_api, ukbcd], ids=["ical", "json", "ukbcd"])
def test_a_failing_feed_is_a_status_error(served_fakes, up, source):
    prop = Property("1 Failing Feed Road", "ZZ1 5AA", fake.FAIL)
    with pytest.raises(UpstreamError) as e:
        collections(source(served_fakes.url), prop, up, deadline(), TODAY)
    assert e.value.kind == "status" and e.value.status == 500


@pytest.mark.parametrize("source", [ical, json_api, ukbcd], ids=["ical", "json", "ukbcd"])
def test_a_broken_feed_is_malformed(served_fakes, up, source):
    prop = Property("1 Broken Feed Road", "ZZ1 4AA", fake.BROKEN)
    with pytest.raises(UpstreamError) as e:
        collections(source(served_fakes.url), prop, up, deadline(), TODAY)
    assert e.value.kind == "malformed"


@pytest.mark.parametrize("source", [ical, json_api, ukbcd], ids=["ical", "json", "ukbcd"])
def test_an_unknown_property_is_a_404(served_fakes, up, source):
    with pytest.raises(UpstreamError) as e:
        collections(source(served_fakes.url), Property("Nowhere", "CF10 1EP", "12345"), up, deadline(), TODAY)
    assert e.value.status == 404


def test_a_slow_feed_times_out_inside_the_deadline(served_fakes, up):
    prop = Property("1 Slow Feed Road", "ZZ1 9AA", fake.SLOW)
    with pytest.raises(UpstreamError) as e:
        collections(ical(served_fakes.url), prop, up, deadline(0.4), TODAY)
    assert e.value.kind == "timeout"


def test_a_feed_addressed_by_uprn_needs_one(served_fakes, up):
    with pytest.raises(UpstreamError) as e:
        collections(ical(served_fakes.url), Property("OX4 1YB", "OX4 1YB"), up, deadline(), TODAY)
    assert e.value.kind == "unconfigured"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"collections": [{"service": {"name": "Refuse"}, "dates": ["1/12/2026x"]}]}, "written as"),
        ({"collections": [{"service": {}, "dates": ["2026-12-01"]}]}, "service.name"),
        ({"items": []}, "no list"),
        ({"collections": [{"service": {"name": "Refuse"}, "dates": [20261201]}]}, "not a date"),
    ],
)
def test_json_api_bodies_that_break_the_mapping_are_malformed(body, words):
    from townhall.upstreams.bins.feeds import parse_json

    with pytest.raises(UpstreamError, match=words) as e:
        list(parse_json(body, json_api("http://x")))
    assert e.value.kind == "malformed"


def test_json_api_dates_may_be_iso_times_one_per_item_or_absent():
    from townhall.upstreams.bins.feeds import parse_json

    source = {**json_api("http://x"), "list": "", "type_field": "type", "date_field": "next", "date_format": "iso"}
    body = [
        {"type": "Refuse", "next": "2026-12-01T23:30:00Z"},  # 23:30 GMT is still 1 December in London
        {"type": "Food", "next": "2026-06-01T23:30:00Z"},  # 00:30 BST: 2 June in London
        {"type": "Garden", "next": None},
    ]
    assert sorted(parse_json(body, source)) == [
        Collection(date(2026, 6, 2), "food"),
        Collection(date(2026, 12, 1), "rubbish"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"bins": [{"type": "Black Bin", "collectionDate": "2026-12-01"}]},
        {"bins": [{"type": "Black Bin"}]},
        {"bins": "none"},
        [],
        {"bins": [{"type": 3, "collectionDate": "01/12/2026"}]},
        {"bins": [{"type": "Black Bin", "collectionDate": "31/02/2026"}]},
    ],
)
def test_ukbcd_output_that_breaks_its_schema_is_malformed(body):
    from townhall.upstreams.bins.feeds import parse_ukbcd

    with pytest.raises(UpstreamError) as e:
        list(parse_ukbcd(body, TYPES))
    assert e.value.kind == "malformed"


def test_ukbcd_output_matches_its_published_schema(served_fakes):
    """The fake's output is what UKBinCollectionData's tests/output.schema accepts."""
    from jsonschema import Draft7Validator

    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["bins"],
        "properties": {
            "bins": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["type", "collectionDate"],
                    "properties": {
                        "type": {"type": "string"},
                        "collectionDate": {"type": "string", "pattern": r"^\d{2}/\d{2}/\d{4}$"},
                    },
                },
            }
        },
    }
    body = requests.get(
        f"{served_fakes.url}/bins/ukbcd/api/bin_collection/CardiffCouncil", params={"uprn": TUESDAY.uprn}, timeout=5
    ).json()
    assert not list(Draft7Validator(schema).iter_errors(body))


def test_a_calendar_that_is_not_one_is_malformed():
    from townhall.upstreams.bins.feeds import parse_ical

    for data in (b"BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n", b"\xff\xfe not text", b"{}"):
        with pytest.raises(UpstreamError) as e:
            list(parse_ical(data, TYPES, date(2026, 1, 1), date(2026, 12, 31)))
        assert e.value.kind == "malformed"


def test_ical_events_with_times_count_on_their_london_day():
    from townhall.upstreams.bins.feeds import parse_ical

    feed = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
        "SUMMARY:Food waste\r\nDTSTART:20260601T233000Z\r\nRRULE:FREQ=WEEKLY;COUNT=2\r\n"
        "EXDATE:20260608T233000Z\r\nRDATE:20260610T070000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    found = sorted(parse_ical(feed.encode(), TYPES, date(2026, 5, 1), date(2026, 7, 1)))
    assert found == [Collection(date(2026, 6, 2), "food"), Collection(date(2026, 6, 10), "food")]


# -- addresses ------------------------------------------------------------------------------------


def os_places(base: str) -> dict:
    return {"type": "os_places", "url": f"{base}/bins/os/search/places/v1", "api_key_secret": "os-places-api-key"}


def council(base: str) -> dict:
    return {
        "type": "json",
        "url": f"{base}/bins/council/addresses?postcode={{postcode}}",
        "list": "addresses",
        "uprn_field": "uprn",
        "address_field": "address",
        "round_field": "round",
    }


def test_os_places_addresses_read_as_residents_write_them(served_fakes, up):
    found = addresses(os_places(served_fakes.url), ical(""), "CF24 4HQ", up, deadline())
    assert len(found) == 12
    assert found[0] == Property("Flat 1, 20 Heol Enghraifft, Cardiff", "CF24 4HQ", "100100000201")
    received = requests.get(f"{served_fakes.url}/bins/_received", timeout=5).json()
    assert {
        "method": "GET",
        "path": "/os/search/places/v1/postcode",
        "args": {"postcode": "CF24 4HQ", "dataset": "DPA", "maxresults": "100", "key_accepted": True},
    } in received


def test_os_places_no_hits_is_no_properties(served_fakes, up):
    assert addresses(os_places(served_fakes.url), ical(""), "ZZ0 0AA", up, deadline()) == []
    assert addresses(os_places(served_fakes.url), ical(""), "CF99 9ZZ", up, deadline()) == []


def test_os_places_400_for_a_postcode_it_cannot_look_up_is_no_properties(served_fakes, up):
    body = requests.get(
        f"{served_fakes.url}/bins/os/search/places/v1/postcode",
        params={"postcode": "CF2", "key": "demo-cardiff-os-places-key-not-a-secret"},
        timeout=5,
    )
    assert body.status_code == 400 and body.json()["error"]["statuscode"] == 400
    assert addresses(os_places(served_fakes.url), ical(""), "CF2", up, deadline()) == []


def test_os_places_with_a_wrong_key_is_a_401(served_fakes, tmp_path):
    from townhall.upstream import Upstream

    wrong = Upstream("cardiff", secrets=lambda name: "not-the-key")
    with pytest.raises(UpstreamError) as e:
        addresses(os_places(served_fakes.url), ical(""), "CF10 1EP", wrong, deadline())
    assert e.value.status == 401 and e.value.body["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidApiKey"


def test_os_places_without_its_secret_is_unconfigured(served_fakes):
    from townhall.upstream import Upstream

    with pytest.raises(UpstreamError) as e:
        addresses(os_places(served_fakes.url), ical(""), "CF10 1EP", Upstream("cardiff"), deadline())
    assert e.value.kind == "unconfigured"


def test_council_addresses_carry_their_round(served_fakes, up):
    found = addresses(council(served_fakes.url), ical(""), "OX4 1YB", up, deadline())
    assert len(found) == 14
    assert found[:2] == [
        Property("1 Example Road, Oxford", "OX4 1YB", "100120000201", "WED-A"),
        Property("2 Example Road, Oxford", "OX4 1YB", "100120000202", "WED-B"),
    ]


@pytest.mark.parametrize("settings", [os_places, council], ids=["os_places", "json"])
def test_address_failures(served_fakes, up, settings):
    base = served_fakes.url
    with pytest.raises(UpstreamError) as e:
        addresses(settings(base), ical(""), "ZZ5 0AA", up, deadline())
    assert e.value.status == 500
    with pytest.raises(UpstreamError) as e:
        addresses(settings(base), ical(""), "ZZ4 0AA", up, deadline())
    assert e.value.kind == "malformed"
    with pytest.raises(UpstreamError) as e:
        addresses(settings(base), ical(""), "ZZ9 9AA", up, deadline(0.4))
    assert e.value.kind == "timeout"


def test_a_settings_table_and_the_postcode_alone():
    table = {
        "type": "table",
        "properties": [
            {"address": "1 Demo Lane, Oxford", "postcode": "OX1 2JD", "uprn": "1", "round": "A"},
            {"address": "2 Demo Lane, Oxford", "postcode": "OX1 2JD"},
            {"address": "9 Other Road, Oxford", "postcode": "OX4 1YB"},
        ],
    }
    rounds = {"type": "rounds", "rounds": [], "assign": {"postcodes": {"OX4": "B", "OX4 1YB": "C"}}}
    found = addresses(table, rounds, "OX1 2JD", None, deadline())
    assert found == [Property("1 Demo Lane, Oxford", "OX1 2JD", "1", "A"), Property("2 Demo Lane, Oxford", "OX1 2JD")]
    assert addresses(None, rounds, "OX4 1YB", None, deadline()) == [Property("OX4 1YB", "OX4 1YB", None, "C")]
    assert addresses(None, rounds, "OX4 2AA", None, deadline()) == [Property("OX4 2AA", "OX4 2AA", None, "B")]
    assert addresses(None, rounds, "CF10 1EP", None, deadline()) == []


@pytest.mark.parametrize(
    ("raw", "tidied"),
    [
        ("10, DEMO STREET, CARDIFF, CF10 1EP", "10 Demo Street, Cardiff"),
        ("FLAT 2A, 20, HEOL-Y-DELYN, CARDIFF, CF10 1EP", "Flat 2A, 20 Heol-y-Delyn, Cardiff"),
        ("THE OLD MILL, MILL LANE, CARDIFF", "The Old Mill, Mill Lane, Cardiff"),
        ("12 Example Road, Oxford, CF10 1EP", "12 Example Road, Oxford"),
        ("12 Example Road, Oxford CF101EP", "12 Example Road, Oxford"),
    ],
)
def test_addresses_are_tidied(raw, tidied):
    assert tidy(raw, "CF10 1EP") == tidied


def test_properties_survive_a_context_and_bad_ones_do_not():
    prop = Property("1 Demo Lane, Oxford", "OX1 2JD", "100120000101", "TUE-A")
    assert Property.from_context(prop.to_context()) == prop
    assert Property.from_context({"address": "OX4 1YB", "postcode": "ox41yb"}) == Property("OX4 1YB", "OX4 1YB")
    for bad in (
        None,
        "x",
        {"address": "1 Demo Lane"},
        {"address": "", "postcode": "OX1 2JD"},
        {"address": "a", "postcode": "nope"},
    ):
        assert Property.from_context(bad) is None
