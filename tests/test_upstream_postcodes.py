"""The postcodes.io client (townhall.upstreams.postcodes) against its local fake, over HTTP."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from townhall.contract import Deadline
from townhall.upstream import Http, UpstreamError
from townhall.upstreams import postcodes
from townhall_tools.fakes import postcodes as fake


@pytest.fixture(scope="module")
def base(served_fakes) -> str:
    return f"{served_fakes.url}/{fake.PREFIX}"


def lookup(base: str, postcode: str, seconds: float = 3.0) -> postcodes.Place:
    return postcodes.lookup(Http(), base, postcode, Deadline.after(seconds))


def test_two_tier_england_names_district_and_county(base):
    place = lookup(base, "ox11bx")
    assert (place.postcode, place.country, place.region) == ("OX1 1BX", "England", "South East")
    assert (place.district, place.district_code) == ("Oxford", "E07000178")
    assert (place.county, place.county_code, place.two_tier) == ("Oxfordshire", "E10000025", True)
    assert 51.7 < place.latitude < 51.8 and -1.3 < place.longitude < -1.2 and place.quality == 1
    assert place.raw["codes"]["admin_district"] == "E07000178"


@pytest.mark.parametrize(
    ("postcode", "district", "code", "country"),
    [
        ("CF10 3ND", "Cardiff", "W06000015", "Wales"),
        ("BS1 5TR", "Bristol, City of", "E06000023", "England"),
        ("EH8 8BG", "City of Edinburgh", "S12000036", "Scotland"),
        ("BT1 5GS", "Belfast", "N09000003", "Northern Ireland"),
    ],
)
def test_single_tier_areas_have_no_county(base, postcode, district, code, country):
    place = lookup(base, postcode)
    assert (place.district, place.district_code, place.country) == (district, code, country)
    # postcodes.io gives a pseudo code (E99999999, W99999999...) and no name: the client says None.
    assert place.county is None and place.county_code is None and not place.two_tier
    assert place.raw["codes"]["admin_county"].endswith("99999999")


def test_an_invalid_postcode_is_refused_by_format(base):
    with pytest.raises(postcodes.InvalidPostcode):
        lookup(base, "not a postcode")


def test_an_unknown_postcode_is_not_found_without_a_date(base):
    with pytest.raises(postcodes.PostcodeNotFound) as e:
        lookup(base, "OX1 9ZZ")
    assert e.value.terminated is None


def test_a_retired_postcode_says_when(base):
    with pytest.raises(postcodes.PostcodeNotFound) as e:
        lookup(base, "e1w1uu")
    assert (e.value.terminated.year, e.value.terminated.month) == (2015, 2)


def test_older_deployments_without_the_terminated_block_are_asked_again():
    """Without ``terminated`` in the 404, the client asks /terminated_postcodes itself."""
    server = make_server("127.0.0.1", 0, fake.app(include_terminated=False), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with pytest.raises(postcodes.PostcodeNotFound) as e:
            lookup(url, "E1W 1UU")
        assert (e.value.terminated.year, e.value.terminated.month) == (2015, 2)
        paths = [r["path"] for r in requests.get(url + "/_requests", timeout=5).json()]
        assert paths == ["/postcodes/E1W1UU", "/terminated_postcodes/E1W1UU"]
        with pytest.raises(postcodes.PostcodeNotFound) as e:
            postcodes.lookup(Http(), url, "E1W 1UU", Deadline.after(3), check_terminated=False)
        assert e.value.terminated is None
    finally:
        server.shutdown()


def test_terminated_and_validate_endpoints(base):
    retired = postcodes.terminated(Http(), base, "E1W 1UU", Deadline.after(3))
    assert (retired.postcode, retired.year, retired.month) == ("E1W 1UU", 2015, 2)
    assert postcodes.terminated(Http(), base, "OX1 1BX", Deadline.after(3)) is None
    assert postcodes.validate(Http(), base, "OX1 1BX", Deadline.after(3)) is True
    assert postcodes.validate(Http(), base, "E1W 1UU", Deadline.after(3)) is False
    assert postcodes.validate(Http(), base, "nonsense", Deadline.after(3)) is False


def test_a_server_error_is_retried_once_then_raised(base, served_fakes):
    before = requests.get(f"{base}/_requests", timeout=5).json()
    with pytest.raises(UpstreamError) as e:
        lookup(base, fake.ERROR_POSTCODE)
    assert (e.value.kind, e.value.status) == ("status", 500)
    assert e.value.body == {"status": 500, "error": "Service not ready"}
    after = requests.get(f"{base}/_requests", timeout=5).json()
    assert [r["path"] for r in after[len(before) :]].count("/postcodes/ZZ500AA") == 2


def test_a_slow_answer_is_cut_off_inside_the_deadline(base):
    started = time.monotonic()
    with pytest.raises(UpstreamError) as e:
        lookup(base, fake.SLOW_POSTCODE, seconds=0.5)
    assert e.value.kind == "timeout" and time.monotonic() - started < 1.0


def test_a_body_that_is_not_the_contract_is_malformed(base):
    with pytest.raises(UpstreamError) as e:
        lookup(base, fake.MALFORMED_POSTCODE)
    assert e.value.kind == "malformed"


def test_results_missing_what_the_contract_promises_are_malformed():
    with pytest.raises(UpstreamError):
        postcodes.place({"postcode": "OX1 1BX"})
    with pytest.raises(UpstreamError):
        postcodes.place(None)
    place = postcodes.place({"postcode": "OX1 1BX", "codes": {"admin_district": "E07000178"}, "latitude": None})
    assert place.district_code == "E07000178" and place.latitude is None and place.county_code is None


def test_no_base_url_is_unconfigured():
    with pytest.raises(UpstreamError) as e:
        postcodes.lookup(Http(), "", "OX1 1BX", Deadline.after(1))
    assert e.value.kind == "unconfigured"


def test_a_wrong_base_url_is_a_malformed_answer(served_fakes):
    with pytest.raises(UpstreamError) as e:
        lookup(served_fakes.url + "/nothing-here", "OX1 1BX")
    assert e.value.kind == "malformed"


def test_an_upstream_failure_names_the_turns_outcome_and_is_logged_without_the_postcode(served, http):
    """postcodes.io down: the resident still gets a polite 200, and the turn's outcome and a
    WARNING line say which upstream failed and how, so the operators' alert can fire."""
    trace = "5b1e6b7f0c2a4d8e9f1a2b3c4d5e6f70"
    data = http.turn_with_headers(
        "oxford",
        "which_council.lookup",
        {"X-Cloud-Trace-Context": f"{trace}/1;o=1"},
        parameters={"postcode": fake.ERROR_POSTCODE},
        text=f"which council for {fake.ERROR_POSTCODE}",
    )
    assert data["fulfillmentText"]
    lines = served.log_lines()
    turn = next(
        line
        for line in lines
        if line.get("message") == "turn" and line.get("logging.googleapis.com/trace", "").endswith(trace)
    )
    assert (turn["outcome"], turn["status"], turn["severity"]) == ("upstream_failed", 200, "WARNING")
    failed = [
        line
        for line in lines
        if line.get("message", "").startswith("upstream failed") and line.get("process") == "which_council"
    ]
    assert failed and failed[-1]["severity"] == "WARNING"
    assert (failed[-1]["host"], failed[-1]["status_class"], failed[-1]["tenant"]) == ("127.0.0.1", "5xx", "oxford")
    text = served.log.read_text()
    assert fake.ERROR_POSTCODE not in text and fake.ERROR_POSTCODE.replace(" ", "") not in text


def test_a_good_lookup_stays_ok(served, http):
    trace = "6c2f7a8b1d3e4f5a6b7c8d9e0f1a2b3c"
    http.turn_with_headers(
        "oxford",
        "which_council.lookup",
        {"X-Cloud-Trace-Context": f"{trace}/1;o=1"},
        parameters={"postcode": "OX1 1BX"},
    )
    turn = next(
        line
        for line in served.log_lines()
        if line.get("message") == "turn" and line.get("logging.googleapis.com/trace", "").endswith(trace)
    )
    assert turn["outcome"] == "ok"
