"""polling_station's settings through townhall.tenants.validate: a Welsh council needs Welsh texts (the
schema's bilingual rule)."""

from __future__ import annotations

from townhall.library import default_library
from townhall.tenants import Problem, validate
from townhall.yamlio import load_yaml
from townhall_tools.testing import tenant_doc

WELSH = "give the Welsh too (cy), as this council offers en and cy"  # + the expected form, an example


def welsh_missing(found: list[Problem]) -> list[str]:
    """The paths of the problems, each of which must be a missing Welsh text."""
    assert all(p.reason.startswith(WELSH) for p in found), found
    return [p.path for p in found]


def validated(doc: dict) -> list[Problem]:
    return validate(doc, default_library(), expected_id=doc["id"])


def test_example_settings_are_valid_for_a_welsh_council():
    doc = tenant_doc("cardiff")
    doc["processes"]["polling_station"] = load_yaml(
        default_library().processes["polling_station"].folder / "example.yaml"
    )
    assert validated(doc) == []


def test_a_welsh_council_needs_welsh_poll_hours_and_advice():
    doc = tenant_doc("cardiff")
    settings = doc["processes"]["polling_station"]
    settings["poll_hours"] = {"en": "7am to 10pm"}
    settings["advice"] = {"en": "Vote by post if you can't get there."}
    assert welsh_missing(validated(doc)) == ["processes.polling_station.advice", "processes.polling_station.poll_hours"]


def test_the_key_is_named_never_written_and_urls_are_checked():
    doc = tenant_doc("oxford")
    settings = doc["processes"]["polling_station"]
    settings["api_key_secret"] = "Key: abc123 with spaces"
    settings["voter_id_url"] = "http://insecure.example"
    assert sorted(p.path for p in validated(doc)) == [
        "processes.polling_station.api_key_secret",
        "processes.polling_station.voter_id_url",
    ]
