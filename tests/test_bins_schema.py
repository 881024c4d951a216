"""The shared bins settings: the checks beyond the schema, the blocks kept identical in every
process schema that uses them, and what each of those processes must ship for the address steps
(messages) and the agent (identical entities)."""

from __future__ import annotations

import json
from pathlib import Path

from townhall.library import default_library
from townhall_tools import binschema as schema
from townhall.upstreams.bins.checks import settings_problems
from townhall.upstreams.bins.flow import MESSAGES

LIBRARY = Path(__file__).resolve().parents[1] / "library"


def rounds(**extra) -> dict:
    """Two rounds: rubbish and food on Mondays (A), recycling on Fridays (B)."""
    week = {"every_weeks": 1}
    return {"type": "rounds", "rounds": [
        {"id": "A", "collections": [{"bin": "rubbish", "first": "2026-01-05", **week},
                                    {"bin": "food", "first": "2026-01-05", **week}]},
        {"id": "B", "collections": [{"bin": "recycling", "first": "2026-01-09", **week}]}], **extra}


# -- settings checks ------------------------------------------------------------------------------

BINS = {"rubbish": {"name": {"en": "green bin"}}, "food": {"name": {"en": "caddy", "cy": "cadi"}},
        "recycling": {"name": {"en": "blue bin"}, "note": {"en": "x"}}}
ADDRESSES = {"type": "json", "url": "http://x/a?p={postcode}", "list": "", "uprn_field": "u", "address_field": "a"}


def paths(settings: dict, languages=("en",)) -> list[str]:
    return [path for path, _ in settings_problems(settings, list(languages))]


def test_good_settings_have_no_problems():
    assert paths({"source": rounds(), "bins": BINS, "addresses": ADDRESSES}) == []


def test_every_bin_the_source_names_must_be_listed():
    source = rounds()
    source["rounds"][0]["collections"].append({"bin": "glass", "first": "2026-01-05", "every_weeks": 4})
    assert paths({"source": source, "bins": BINS, "addresses": ADDRESSES}) == [
        "source.rounds[0].collections[2].bin"]
    feed = {"type": "ical", "url": "http://x/{uprn}.ics", "types": [{"match": "garden", "bin": "garden"}]}
    assert paths({"source": feed, "bins": BINS, "addresses": ADDRESSES}) == ["source.types[0].bin"]


def test_a_welsh_council_names_its_bins_in_welsh():
    assert paths({"source": rounds(), "bins": BINS, "addresses": ADDRESSES}, ("en", "cy")) == [
        "bins.rubbish.name.cy", "bins.recycling.name.cy", "bins.recycling.note.cy"]


def test_a_welsh_council_titles_its_bins_link_in_welsh():
    link = {"url": "https://example.org/demo/bins", "title": {"en": "Bins"}}
    bins = {kind: {"name": {"en": kind, "cy": kind}} for kind in BINS}
    settings = {"source": rounds(), "bins": bins, "addresses": ADDRESSES, "link": link}
    assert paths(settings, ("en", "cy")) == ["link.title.cy"]
    assert paths(settings, ("en",)) == []


def test_rounds_must_be_known_wherever_they_are_named():
    source = rounds(assign={"streets": {"High St": "TUE"}}, exceptions=[
        {"date": "2026-12-25", "moved_to": "2026-12-25", "round": "SAT"}])
    source["rounds"].append({"id": "A", "collections": [{"bin": "food", "first": "2026-01-05", "every_weeks": 1}]})
    table = {"type": "table", "properties": [{"address": "a", "postcode": "OX1 2JD", "round": "SUN"}]}
    assert paths({"source": source, "bins": BINS, "addresses": table}) == [
        "source.rounds[2].id", "source.assign.streets.High St", "source.exceptions[0].round",
        "source.exceptions[0].moved_to", "addresses.properties[0].round"]


def test_where_the_round_or_uprn_comes_from_must_be_said():
    assert paths({"source": rounds(), "bins": BINS}) == ["source.assign.postcodes"]
    os_places = {"type": "os_places", "url": "https://x", "api_key_secret": "os-places-api-key"}
    assert paths({"source": rounds(), "bins": BINS, "addresses": os_places}) == ["source.assign"]
    feed = {"type": "ukbcd", "url": "http://x/?uprn={uprn}", "types": [{"match": "food", "bin": "food"}]}
    assert paths({"source": feed, "bins": BINS}) == ["addresses"]
    table = {"type": "table", "properties": [{"address": "a", "postcode": "OX1 2JD"}]}
    assert paths({"source": feed, "bins": BINS, "addresses": table}) == ["addresses.properties[0].uprn"]
    by_postcode = {**feed, "url": "http://x/?postcode={postcode}"}
    assert paths({"source": by_postcode, "bins": BINS}) == []


def test_a_json_date_format_must_be_a_format():
    feed = {"type": "json", "url": "http://x/{uprn}", "list": "", "type_field": "t", "date_field": "d",
            "date_format": "dd/mm/yyyy", "types": [{"match": "food", "bin": "food"}]}
    assert paths({"source": feed, "bins": BINS, "addresses": ADDRESSES}) == ["source.date_format"]


# -- the shared settings blocks and messages ----------------------------------------------------------

def test_every_process_using_the_bins_blocks_has_them_unchanged():
    users = schema.users(LIBRARY)
    assert users, "no process schema uses the bins.* blocks"
    assert schema.stale(LIBRARY) == [], "run: .venv/bin/python -m townhall_tools.binschema --write"


def test_a_changed_copy_is_found_and_written_back(tmp_path):
    import shutil

    for path in schema.users(LIBRARY):
        shutil.copytree(path.parent, tmp_path / path.parent.name, ignore=shutil.ignore_patterns("__pycache__"))
    target = schema.users(tmp_path)[0]
    doc = json.loads(target.read_text())
    doc["$defs"]["bins.kind"]["enum"].append("sofas")
    target.write_text(json.dumps(doc))
    assert schema.stale(tmp_path) == [target]
    assert schema.synced(doc)["$defs"]["bins.kind"] == schema.shared_defs()["bins.kind"]


def test_every_process_using_the_address_steps_has_their_messages():
    library = default_library()
    for path in schema.users(LIBRARY):
        process = library.processes[path.parent.name]
        for language, messages in process.messages.items():
            missing = [key for key in MESSAGES if key not in messages]
            assert not missing, f"library/{process.id}/messages/{language}.yaml lacks {missing}"


def test_the_bin_processes_ship_identical_entities():
    """bin-type (and the canonical uk-postcode) are merged into one agent: the copies must match."""
    shipped = {}
    for path in schema.users(LIBRARY):
        for entity in sorted((path.parent / "entities").glob("*.json")):
            shipped.setdefault(entity.name, set()).add(entity.read_bytes())
    assert "bin-type_entries_cy.json" in shipped
    assert {name for name, copies in shipped.items() if len(copies) > 1} == set()
