"""The shared Open311 GeoReport v2 client against its local fake, over loopback HTTP, in XML and JSON."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from townhall.contract import Deadline
from townhall.upstream import Http, UpstreamError
from townhall.upstreams import open311
from townhall_tools.fakes import open311 as fake
from townhall_tools.testing import sandbox_upstream


@pytest.fixture(autouse=True)
def fresh_cache():
    open311.clear_cache()
    yield
    open311.clear_cache()


class CountingHttp(Http):
    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def request(self, method, url, **kw):
        self.calls.append((method, url))
        return super().request(method, url, **kw)


@pytest.fixture
def upstream(tmp_path):
    return sandbox_upstream("oxford", tmp_path, CountingHttp())


def endpoint(served_fakes, council="oxford", fmt="xml", **extra):
    return {
        "base_url": f"{served_fakes.url}/open311/{council}",
        "api_key_secret": "open311-api-key",
        "format": fmt,
        **extra,
    }


COUNTY = {"api_key_secret": "open311-county-api-key", "jurisdiction_id": "oxfordshire-demo"}


def received(served_fakes, marker: str) -> list[dict]:
    posts = requests.get(f"{served_fakes.url}/open311/_received", timeout=5).json()["requests"]
    return [p for p in posts if marker in p["fields"].get("description", "")]


def report(code="GRAFF", marker=None, **kw) -> open311.Report:
    marker = marker or uuid.uuid4().hex
    kw.setdefault("address_string", "Outside the library, OX1 1BX")
    return open311.Report(service_code=code, description=open311.description("Graffiti", f"Tags {marker}"), **kw)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_services_list_in_both_formats(served_fakes, upstream, fmt):
    services = open311.Client(upstream, endpoint(served_fakes, fmt=fmt)).services(Deadline.after(3))
    by_code = {s.code: s for s in services}
    assert [s["service_code"] for s in fake.OXFORD] == [s.code for s in services]
    assert by_code["MISSBIN"].type == "batch" and by_code["FLYTIP"].type == "realtime"
    assert by_code["FLYTIP"].group == "Street cleaning" and "dumped rubbish" in by_code["FLYTIP"].keywords
    assert by_code["FLYTIP"].metadata is True and by_code["DOGF"].metadata is False


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_definition_never_asks_automated_attributes(served_fakes, upstream, fmt):
    definition = open311.Client(upstream, endpoint(served_fakes, fmt=fmt)).definition("MISSBIN", Deadline.after(3))
    codes = {a.code: a for a in definition.attributes}
    assert set(codes) == {"bin_type", "collection_date", "uprn"}
    assert codes["uprn"].automated == "hidden_field" and not codes["uprn"].asked
    assert [a.code for a in definition.questions] == ["bin_type", "collection_date"]
    assert codes["bin_type"].required and codes["bin_type"].datatype == "singlevaluelist"
    assert [v.key for v in codes["bin_type"].values] == ["refuse", "recycling", "food", "garden"]
    assert codes["collection_date"].datatype == "datetime"


def test_services_are_cached_per_endpoint(served_fakes, upstream):
    client = open311.Client(upstream, endpoint(served_fakes))
    first = client.services(Deadline.after(3))
    assert client.services(Deadline.after(3)) is first
    client.definition("FLYTIP", Deadline.after(3))
    client.definition("FLYTIP", Deadline.after(3))
    assert [m for m, _ in upstream.http.calls] == ["GET", "GET"]
    open311.Client(upstream, endpoint(served_fakes, fmt="json")).services(Deadline.after(3))
    assert len(upstream.http.calls) == 3  # another format is another cache entry


def test_the_cache_is_bounded_and_expires():
    cache = open311._Cache(ttl=0.2, size=3)
    for n in range(5):
        cache.put(("k", n), n)
    assert len(cache) == 3 and cache.get(("k", 0)) is None and cache.get(("k", 4)) == 4
    time.sleep(0.25)
    assert cache.get(("k", 4)) is None


def test_a_failed_read_is_not_cached(served_fakes, upstream):
    client = open311.Client(upstream, endpoint(served_fakes, council="nowhere"))
    for _ in range(2):
        with pytest.raises(open311.Open311Error):
            client.services(Deadline.after(3))
    assert len(upstream.http.calls) == 2


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_realtime_report(served_fakes, upstream, fmt):
    marker = uuid.uuid4().hex
    sent = open311.Client(upstream, endpoint(served_fakes, fmt=fmt)).submit(
        report("GRAFF", marker, attributes={"offensive": "no"}, email="demo@example.org", phone="07700900123"),
        Deadline.after(3),
    )
    assert sent.reference and sent.reference.startswith("OXF-") and sent.token is None
    assert "demo" in sent.notice
    [post] = received(served_fakes, marker)
    assert post["api_key_valid"] and post["service_request_id"] == sent.reference
    fields = post["fields"]
    assert fields["service_code"] == "GRAFF" and fields["attribute[offensive]"] == "no"
    assert fields["address_string"] == "Outside the library, OX1 1BX" and "lat" not in fields
    assert fields["email"] == "demo@example.org" and fields["phone"] == "07700900123"
    assert fields["description"].startswith("title: Graffiti\n\ndetail: Tags ")


def test_lat_long_and_multi_value_attributes(served_fakes, tmp_path):
    marker = uuid.uuid4().hex
    up = sandbox_upstream("cardiff", tmp_path)
    sent = open311.Client(up, endpoint(served_fakes, "cardiff", "json")).submit(
        open311.Report(
            "FLYTIP",
            open311.description("Fly-tipping", marker),
            lat=51.4816,
            long=-3.1791,
            attributes={"waste_type": ["furniture", "garden"]},
        ),
        Deadline.after(3),
    )
    assert sent.reference.startswith("CAR-")
    [post] = received(served_fakes, marker)
    assert post["fields"]["lat"] == "51.481600" and post["fields"]["long"] == "-3.179100"
    assert post["lists"] == {"attribute[waste_type][]": ["furniture", "garden"]}


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_batch_report_polls_its_token(served_fakes, upstream, fmt):
    marker = uuid.uuid4().hex
    client = open311.Client(upstream, endpoint(served_fakes, fmt=fmt))
    sent = client.submit(
        report("MISSBIN", marker, attributes={"bin_type": "refuse", "collection_date": "2026-12-01"}),
        Deadline.after(3.5),
        token_wait=0.05,
    )
    [post] = received(served_fakes, marker)
    assert sent.token == post["token"] and sent.reference == post["service_request_id"]
    assert [url.split("/")[-1].split("?")[0] for _, url in upstream.http.calls].count(f"{sent.token}.{fmt}") == 2


def test_a_token_that_never_resolves_is_bounded_by_the_deadline(served_fakes, upstream):
    started = time.monotonic()
    sent = open311.Client(upstream, endpoint(served_fakes)).submit(
        report("MISSBIN", "demo-token-stuck", attributes={"bin_type": "food", "collection_date": "2026-12-01"}),
        Deadline.after(2.0),
        reserve=1.0,
    )
    assert sent.reference is None and sent.token and sent.token.startswith("tok-")
    assert time.monotonic() - started < 1.2  # the reserve is kept for the caller


def test_county_endpoint_needs_its_jurisdiction(served_fakes, upstream):
    client = open311.Client(upstream, endpoint(served_fakes, "oxfordshire", **COUNTY))
    assert {s.code for s in client.services(Deadline.after(3))} >= {"POT", "SLIGHT"}
    marker = uuid.uuid4().hex
    sent = client.submit(
        open311.Report("POT", open311.description("Pothole", marker), address_string="OX4 1AA"), Deadline.after(3)
    )
    [post] = received(served_fakes, marker)
    assert post["fields"]["jurisdiction_id"] == "oxfordshire-demo" and sent.reference == post["service_request_id"]
    assert sent.reference.startswith("OCC-")
    without = open311.Client(upstream, endpoint(served_fakes, "oxfordshire", api_key_secret="open311-county-api-key"))
    with pytest.raises(open311.Open311Error) as e:
        without.services(Deadline.after(3))
    assert e.value.status == 400 and e.value.errors == (("400", "jurisdiction_id was not provided"),)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_documented_errors_are_parsed(served_fakes, upstream, fmt):
    client = open311.Client(upstream, endpoint(served_fakes, fmt=fmt))
    with pytest.raises(open311.Open311Error) as e:
        client.definition("NOPE", Deadline.after(3))
    assert (
        e.value.kind == "status"
        and e.value.status == 404
        and e.value.errors == (("404", "service_code NOPE not found"),)
    )
    with pytest.raises(open311.Open311Error) as e:
        client.submit(
            report("MISSBIN", attributes={"bin_type": "wheelie", "collection_date": "2026-12-01"}), Deadline.after(3)
        )
    assert e.value.status == 400 and e.value.permanent and not e.value.retryable
    assert e.value.errors[0] == ("400", "Error in input for POST_Service_Request")
    lines = [d for _, d in e.value.errors[1:]]
    assert "attribute[bin_type]: 'wheelie' is not one of refuse, recycling, food, garden" in lines
    with pytest.raises(open311.Open311Error) as e:
        client.submit(report("GRAFF", "demo-fail-500"), Deadline.after(3))
    assert e.value.status == 500 and e.value.retryable


def test_a_wrong_api_key_is_403(served_fakes, tmp_path):
    up = sandbox_upstream("cardiff", tmp_path)  # Cardiff's key, Oxford's endpoint
    with pytest.raises(open311.Open311Error) as e:
        open311.Client(up, endpoint(served_fakes)).submit(report(), Deadline.after(3))
    assert e.value.status == 403


def test_posts_are_never_retried(served_fakes, upstream):
    with pytest.raises(open311.Open311Error):
        open311.Client(upstream, endpoint(served_fakes)).submit(report("GRAFF", "demo-fail-500"), Deadline.after(3))
    assert [m for m, _ in upstream.http.calls].count("POST") == 1


def test_a_slow_endpoint_is_cut_off_inside_the_deadline(served_fakes, upstream):
    started = time.monotonic()
    with pytest.raises(UpstreamError) as e:
        open311.Client(upstream, endpoint(served_fakes, "slow")).services(Deadline.after(0.6))
    assert e.value.kind == "timeout" and time.monotonic() - started < 1.0


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_an_html_page_is_malformed(served_fakes, upstream, fmt):
    with pytest.raises(UpstreamError) as e:
        open311.Client(upstream, endpoint(served_fakes, "broken", fmt)).services(Deadline.after(3))
    assert e.value.kind == "malformed"


def test_a_bad_extension_is_404(served_fakes):
    r = requests.get(f"{served_fakes.url}/open311/oxford/services.html", timeout=5)
    assert r.status_code == 404 and "We support .xml and .json" in r.text


def test_settings_and_secrets_problems_are_unconfigured(served_fakes, upstream):
    with pytest.raises(UpstreamError) as e:
        open311.Client(upstream, endpoint(served_fakes, fmt="yaml"))
    assert e.value.kind == "unconfigured"
    client = open311.Client(upstream, endpoint(served_fakes, api_key_secret="no-such-secret"))
    with pytest.raises(UpstreamError) as e:
        client.submit(report(), Deadline.after(3))
    assert e.value.kind == "unconfigured" and not upstream.http.calls


def test_a_report_needs_a_location(tmp_path):
    client = open311.Client(
        sandbox_upstream("oxford", tmp_path),
        {"base_url": "http://127.0.0.1:9/open311/x", "api_key_secret": "open311-api-key"},
    )
    with pytest.raises(ValueError, match="address_string"):
        client.submit(open311.Report("GRAFF", "x"), Deadline.after(1))


def test_xml_with_entities_is_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><services>&a;</services>'
    with pytest.raises(UpstreamError) as e:
        open311._xml(bomb)
    assert e.value.kind == "malformed"
    with pytest.raises(UpstreamError):
        open311._xml(b"<services><service>")


def test_xml_and_json_parse_alike():
    services = [
        {
            "service_code": "A1",
            "service_name": "Thing",
            "metadata": "true",
            "type": "batch",
            "keywords": "x, y",
            "group": "G",
            "description": "",
        }
    ]
    from_xml = open311.parse_services(open311._xml(fake.to_xml("services", services)))
    assert from_xml == open311.parse_services(services)
    assert from_xml[0].metadata and from_xml[0].keywords == ("x", "y")
    errors = [{"code": 400, "description": "Bad"}]
    assert (
        open311.parse_errors(open311._xml(fake.to_xml("errors", errors)))
        == open311.parse_errors(errors)
        == [("400", "Bad")]
    )


def test_description_layout_fits_four_thousand_characters():
    assert open311.description("Pothole", "Deep one", "Submitted via the council chatbot") == (
        "title: Pothole\n\ndetail: Deep one\n\nSubmitted via the council chatbot"
    )
    long = open311.description("Pothole", "x" * 5000, "footer")
    assert len(long) == open311.MAX_DESCRIPTION and long.endswith("…\n\nfooter")


def test_processes_refer_to_the_one_endpoint_schema():
    import json
    from pathlib import Path

    from jsonschema import Draft202012Validator

    from townhall.library import default_library, schema_registry
    from townhall_tools.librarycheck import refs

    fragment = json.loads((Path(open311.__file__).with_name("endpoint.schema.json")).read_text())
    validator = Draft202012Validator(fragment)
    assert validator.is_valid(
        {
            "base_url": "https://example.org/open311",
            "api_key_secret": "open311-api-key",
            "jurisdiction_id": "example.org",
            "format": "json",
        }
    )
    assert not validator.is_valid({"base_url": "https://example.org/open311", "api_key_secret": "k", "api_key": "x"})
    assert schema_registry().contents(fragment["$id"]) == fragment
    users = sorted(
        p.id for p in default_library().processes.values() if fragment["$id"] in {ref for _, ref in refs(p.schema)}
    )
    assert users == ["missed_bin", "report_problem"]


# -- what real endpoints require: location, every required attribute, once even when late ----------


def strict(served_fakes, **extra):
    return endpoint(served_fakes, "strict", "json", postcodes_url=f"{served_fakes.url}/postcodes", **extra)


def test_the_fake_refuses_a_missing_required_entry_as_open311_adapter_does(served_fakes):
    answer = requests.post(
        f"{served_fakes.url}/open311/strict/requests.json",
        data={
            "api_key": "demo-oxford-open311-key-not-a-secret",
            "service_code": "POTHOLE",
            "lat": "51.75",
            "long": "-1.25",
            "attribute[depth]": "deep",
            "description": "x",
        },
        timeout=5,
    )
    assert answer.status_code == 400
    lines = [e["description"] for e in answer.json()]
    assert lines[0] == "Error in input for POST_Service_Request"
    assert {"attribute[easting]: Missing required entry", "attribute[northing]: Missing required entry"} <= set(lines)


def test_a_report_by_postcode_is_placed_and_its_automated_attributes_filled(served_fakes, upstream):
    marker = uuid.uuid4().hex
    client = open311.Client(upstream, strict(served_fakes))
    sent = upstream.once(
        f"pothole:{marker}",
        lambda: client.submit(report("POTHOLE", marker, attributes={"depth": "deep"}), Deadline.after(3)).reference,
        Deadline.after(3),
    )
    assert sent and sent.startswith("STR-")
    (post,) = received(served_fakes, marker)
    fields = post["fields"]
    assert abs(float(fields["lat"]) - 51.75) < 0.1 and abs(float(fields["long"]) + 1.26) < 0.1  # OX1 1BX
    assert fields["attribute[easting]"].isdigit() and fields["attribute[northing]"].isdigit()
    assert len(fields["attribute[fixmystreet_id]"]) == 20  # the side effect's own id
    assert fields["attribute[closest_address]"] == "Outside the library, OX1 1BX"


def test_a_required_attribute_nothing_can_fill_refuses_the_report_before_it_is_sent(
    served_fakes, upstream, captured_logs
):
    from townhall.upstream import TurnFailures, watching

    marker = uuid.uuid4().hex
    client = open311.Client(upstream, strict(served_fakes))
    with watching(TurnFailures("oxford", "report_problem")) as failures, pytest.raises(open311.Unfillable) as e:
        client.submit(report("ASSETLIGHT", marker), Deadline.after(3))
    assert e.value.codes == ("asset_id",) and e.value.permanent and not e.value.sent
    assert not received(served_fakes, marker) and failures.worst == "refused"
    (line,) = [line for line in captured_logs() if line["message"].startswith("upstream refused")]
    assert line["severity"] == "ERROR" and line["process"] == "report_problem"
    # Without a postcode to place it, easting and northing cannot be filled either, and outside
    # Upstream.once there is no side effect to give its id.
    with pytest.raises(open311.Unfillable) as e:
        client.submit(
            report("POTHOLE", marker, address_string="By the big oak", attributes={"depth": "deep"}), Deadline.after(3)
        )
    assert set(e.value.codes) == {"easting", "northing", "fixmystreet_id"}


def test_a_report_whose_answer_came_late_is_found_and_never_sent_twice(served_fakes, tmp_path):
    """The endpoint stores the report but answers after the turn's deadline; the resident says
    yes twice more: the earlier report is found by GET requests, never posted again."""
    marker = uuid.uuid4().hex
    up = sandbox_upstream("oxford", tmp_path)
    client = open311.Client(up, endpoint(served_fakes, fmt="json"))
    slow = report("GRAFF", f"demo-slow {marker}")

    def send():
        sent = client.submit(slow, Deadline.after(1.0))
        return {"reference": sent.reference, "token": sent.token, "notice": sent.notice}

    with pytest.raises(UpstreamError) as e:
        up.once(f"late:{marker}", send, Deadline.after(1.2))
    assert e.value.kind == "unknown" and not e.value.retryable
    time.sleep(fake.SLOW_SECONDS - 1.0)
    found = [up.once(f"late:{marker}", send, Deadline.after(3)) for _ in range(2)]
    assert found[0] == found[1] and found[0]["reference"].startswith("OXF-")
    assert len(received(served_fakes, marker)) == 1
