"""signpost's service list (services.py) and the files made from it, the training phrases and the
settings schema's errors."""

from __future__ import annotations

import importlib
import json
import re

import pytest

from townhall.kit import fold
from townhall.library import default_library
from townhall.tenants import validate
from townhall_tools.testing import tenant_doc

PROCESS = default_library().processes["signpost"]
FOLDER = PROCESS.folder
LGSL_NOTES = re.compile(r"^\| (\d+) \| [^|]+ \| [^|]+ \| (district/unitary|county/unitary|all)", re.MULTILINE)


def services_module():
    PROCESS.handler  # imports the process's package
    return importlib.import_module("townhall_processes.signpost.services")


def generate_module():
    PROCESS.handler
    return importlib.import_module("townhall_processes.signpost.generate")


def test_services_have_codes_tiers_and_both_languages():
    services = services_module().services()
    assert len(services) >= 30
    assert services_module().problems() == []
    assert len({s.lgsl for s in services}) == len(services)
    for s in services:
        assert s.tier in ("district", "county", "all")
        assert s.name["en"] and s.name["cy"] and s.words["en"] and s.words["cy"]


@pytest.mark.parametrize("language", ["en", "cy"])
def test_the_shipped_entity_entries_are_made_from_the_service_list(language):
    shipped = json.loads((FOLDER / "entities" / f"lgsl-service_entries_{language}.json").read_text(encoding="utf-8"))
    assert shipped == services_module().entity_entries(language), (
        "run .venv/bin/python library/signpost/generate.py after editing services.py"
    )


def test_the_schema_lists_exactly_the_codes_of_the_service_list():
    schema = json.loads((FOLDER / "schema.json").read_text(encoding="utf-8"))
    assert schema == generate_module().schema_with_codes(schema), (
        "run .venv/bin/python library/signpost/generate.py after editing services.py"
    )
    county = set(schema["properties"]["county"]["properties"]["services"]["properties"])
    assert county == {s.code for s in services_module().services() if s.tier in ("county", "all")}


@pytest.mark.parametrize("language", ["en", "cy"])
def test_every_annotated_phrase_is_one_of_the_services_words(language):
    words = {fold(w) for s in services_module().services() for w in s.words[language]}
    rows = json.loads((FOLDER / "intents" / f"signpost.service_usersays_{language}.json").read_text(encoding="utf-8"))
    annotated = [p["text"] for row in rows for p in row["data"] if p.get("meta") == "@lgsl-service"]
    assert annotated
    assert [a for a in annotated if fold(a) not in words] == []


def test_codes_agree_with_the_tiers_in_the_reference_table():
    """Tiers as GOV.UK and the esd list give them (district/unitary, county/unitary, all)."""
    tiers = {"district": "district/unitary", "county": "county/unitary", "all": "all"}
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    table = dict(LGSL_NOTES.findall(readme))
    for s in services_module().services():
        assert table.get(s.code) == tiers[s.tier], f"README.md's service table is out of date for {s.code}"


def signpost_problems(settings: dict, tenant: str = "oxford") -> list[str]:
    doc = tenant_doc(tenant)
    doc["processes"]["signpost"] = settings
    return [str(p) for p in validate(doc, default_library(), expected_id=tenant)]


def test_an_unknown_code_is_refused_naming_it_and_how_to_fix_it():
    (problem,) = signpost_problems({"services": {"999": {"url": "https://example.org/demo/x"}}})
    assert problem.startswith("processes.signpost.services: unknown key 999 (allowed here: ")
    assert "library/signpost/services.py" in problem and "ask the Townhall library maintainers" in problem


def test_a_district_service_is_refused_in_the_county_block():
    settings = tenant_doc("oxford")["processes"]["signpost"]
    settings["county"]["services"]["487"] = {"url": "https://example.org/demo/oxfordshire/planning"}
    (problem,) = signpost_problems(settings)
    assert problem.startswith("processes.signpost.county.services: unknown key 487")
    assert "tier county or all" in problem


def test_pages_are_https_and_a_welsh_council_names_its_county_in_welsh():
    problems = signpost_problems({"services": {"487": {"url": "http://example.org/demo/planning"}}})
    assert problems and problems[0].startswith(
        "processes.signpost.services.487.url: 'http://example.org/demo/planning'"
    )
    county = {"name": {"en": "Demo County Council"}, "url": "https://example.org/demo/county"}
    problems = signpost_problems({"services": {}, "county": county}, tenant="cardiff")
    assert (
        problems == [p for p in problems if p.startswith("processes.signpost.county.name: give the Welsh too (cy)")]
        and problems
    )


def test_the_example_is_all_placeholders_a_real_council_must_replace():
    from townhall.yamlio import load_yaml
    from townhall_tools.onboarding import unfinished

    example = load_yaml(FOLDER / "example.yaml")
    assert set(example["services"]) | set(example["county"]["services"]) == {
        s.code for s in services_module().services()
    }
    found = unfinished({"processes": {"signpost": example}})
    assert len(found) == len(example["services"]) + len(example["county"]["services"]) + 3  # name en, cy, url
