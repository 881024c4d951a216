"""missed_bin/checks.py through townhall.tenants.validate: problems the settings schema cannot express."""

from __future__ import annotations

import copy

import pytest

from townhall.library import default_library
from townhall.tenants import Problem, validate
from townhall.yamlio import load_yaml
from townhall_tools.testing import tenant_doc


def problems(tenant: str, change) -> list[Problem]:
    doc = tenant_doc(tenant)
    settings = copy.deepcopy(doc["processes"]["missed_bin"])  # the tenant files share blocks by YAML alias
    change(settings)
    doc["processes"]["missed_bin"] = settings
    return validate(doc, default_library(), expected_id=tenant)


@pytest.mark.parametrize("tenant", ["oxford", "cardiff"])
def test_example_tenants_are_valid(tenant):
    assert problems(tenant, lambda s: None) == []


@pytest.mark.parametrize("tenant", ["oxford", "cardiff"])
def test_the_example_settings_are_valid(tenant):
    doc = tenant_doc(tenant)
    doc["processes"]["missed_bin"] = load_yaml(default_library().processes["missed_bin"].folder / "example.yaml")
    assert validate(doc, default_library(), expected_id=tenant) == []


def test_every_bin_needs_its_open311_value():
    found = problems("oxford", lambda s: s["open311"]["bin_attribute"]["values"].pop("garden"))
    assert [p.path for p in found] == ["processes.missed_bin.open311.bin_attribute.values.garden"]


def test_open311_settings_name_only_the_councils_bins():
    def change(s):
        s["open311"]["bin_attribute"]["values"]["glass"] = "glass"
        s["open311"]["service_codes"] = {"hygiene": "NAPPY"}

    assert sorted(p.path for p in problems("oxford", change)) == [
        "processes.missed_bin.open311.bin_attribute.values.glass",
        "processes.missed_bin.open311.service_codes.hygiene",
    ]


def test_the_shared_bins_checks_apply():
    found = problems("cardiff", lambda s: s["source"]["types"].append({"match": "glass", "bin": "glass"}))
    assert [p.path for p in found] == ["processes.missed_bin.source.types[4].bin"]


def test_the_shared_bins_schema_asks_a_welsh_council_for_welsh_names():
    found = problems("cardiff", lambda s: s["bins"]["food"]["name"].pop("cy"))
    assert [p.path for p in found] == ["processes.missed_bin.bins.food.name"]
    assert found[0].reason.startswith("give the Welsh too (cy), as this council offers en and cy")


def test_schema_problems_come_first_and_name_the_key():
    found = problems("oxford", lambda s: s.update(crews_finish="5pm"))
    assert [p.path for p in found] == ["processes.missed_bin.crews_finish"]
