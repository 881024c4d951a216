"""report_problem/checks.py through townhall.tenants.validate: problems the settings schema cannot express."""

from __future__ import annotations

import pytest

from townhall.library import default_library
from townhall.tenants import Problem, validate
from townhall.yamlio import load_yaml
from townhall_tools.testing import tenant_doc

WELSH = "give the Welsh too (cy), as this council offers en and cy"  # + the expected form, an example


def welsh_missing(found: list[Problem]) -> list[str]:
    """The paths of the problems, each of which must be a missing Welsh text."""
    assert all(p.reason.startswith(WELSH) for p in found), found
    return [p.path for p in found]


def problems(tenant: str, drop=(), **changes) -> list[Problem]:
    doc = tenant_doc(tenant)
    settings = doc["processes"]["report_problem"]
    for key in drop:
        settings.pop(key)
    settings.update(changes)
    return validate(doc, default_library(), expected_id=tenant)


@pytest.mark.parametrize("tenant", ["oxford", "cardiff"])
def test_example_tenants_are_valid(tenant):
    assert problems(tenant) == []


def test_example_settings_are_valid():
    doc = tenant_doc("oxford")
    doc["processes"]["report_problem"] = load_yaml(
        default_library().processes["report_problem"].folder / "example.yaml"
    )
    assert validate(doc, default_library(), expected_id="oxford") == []


def test_county_routing_needs_a_county_endpoint():
    found = problems("cardiff", categories={"county_groups": ["Roads and pavements"]})
    assert found == [
        Problem(
            "processes.report_problem.categories",
            "county_groups or county_service_codes need endpoints.county, the county's Open311 "
            "endpoint; add it or remove them",
        )
    ]


def test_a_county_endpoint_needs_routing_and_a_name():
    found = problems("oxford", drop=("categories", "county_name"))
    assert [p.path for p in found] == [
        "processes.report_problem.endpoints.county",
        "processes.report_problem.county_name",
    ]


def test_a_welsh_council_names_its_county_in_welsh():
    oxford = tenant_doc("oxford")["processes"]["report_problem"]
    found = problems(
        "cardiff",
        endpoints=oxford["endpoints"],
        categories=oxford["categories"],
        county_name={"en": "Demo County Council"},
    )
    assert welsh_missing(found) == ["processes.report_problem.county_name"]


def test_notify_without_asking_for_contact_is_pointless():
    found = problems("oxford", ask_contact=False)
    assert [p.path for p in found] == ["processes.report_problem.notify"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            {"endpoints": {"district": {"base_url": "ftp://example.org", "api_key_secret": "open311-api-key"}}},
            "processes.report_problem.endpoints.district.base_url",
        ),
        (
            {"endpoints": {"district": {"base_url": "https://example.org/o", "api_key_secret": "k", "format": "csv"}}},
            "processes.report_problem.endpoints.district.format",
        ),
        (
            {"notify": {"base_url": "https://example.org/n", "api_key_secret": "notify-api-key"}},
            "processes.report_problem.notify",
        ),
        (
            {
                "notify": {
                    "base_url": "https://example.org/n",
                    "api_key_secret": "notify-api-key",
                    "email_template_id": "x",
                }
            },
            "processes.report_problem.notify.email_template_id",
        ),
        ({"max_details_length": 50}, "processes.report_problem.max_details_length"),
        ({"example_postcode": "ox1 1bx"}, "processes.report_problem.example_postcode"),
    ],
)
def test_the_schema_refuses_bad_settings(change, path):
    assert path in [p.path for p in problems("cardiff", **change)]
