"""The shared bins settings: the checks beyond the schema, the schema every bin process refers to
(``$ref`` through the schema registry), and the messages those processes must ship for the address
steps."""

from __future__ import annotations

from townhall.library import default_library, schema_registry
from townhall.upstreams.bins.checks import settings_problems
from townhall.upstreams.bins.flow import MESSAGES
from townhall_tools.librarycheck import refs

BINS_SCHEMA = "https://townhall.example/upstreams/bins/settings.schema.json"


def users() -> list:
    """Every process whose settings schema refers to the shared bins settings."""
    return [
        p
        for p in default_library().processes.values()
        if any(ref.startswith(BINS_SCHEMA + "#") for _, ref in refs(p.schema))
    ]


def rounds(**extra) -> dict:
    """Two rounds: rubbish and food on Mondays (A), recycling on Fridays (B)."""
    week = {"every_weeks": 1}
    return {
        "type": "rounds",
        "rounds": [
            {
                "id": "A",
                "collections": [
                    {"bin": "rubbish", "first": "2026-01-05", **week},
                    {"bin": "food", "first": "2026-01-05", **week},
                ],
            },
            {"id": "B", "collections": [{"bin": "recycling", "first": "2026-01-09", **week}]},
        ],
        **extra,
    }


# -- settings checks ------------------------------------------------------------------------------

BINS = {
    "rubbish": {"name": {"en": "green bin"}},
    "food": {"name": {"en": "caddy", "cy": "cadi"}},
    "recycling": {"name": {"en": "blue bin"}, "note": {"en": "x"}},
}
ADDRESSES = {"type": "json", "url": "http://x/a?p={postcode}", "list": "", "uprn_field": "u", "address_field": "a"}


def paths(settings: dict, languages=("en",)) -> list[str]:
    return [path for path, _ in settings_problems(settings, list(languages))]


def test_good_settings_have_no_problems():
    assert paths({"source": rounds(), "bins": BINS, "addresses": ADDRESSES}) == []


def test_every_bin_the_source_names_must_be_listed():
    source = rounds()
    source["rounds"][0]["collections"].append({"bin": "glass", "first": "2026-01-05", "every_weeks": 4})
    assert paths({"source": source, "bins": BINS, "addresses": ADDRESSES}) == ["source.rounds[0].collections[2].bin"]
    feed = {"type": "ical", "url": "http://x/{uprn}.ics", "types": [{"match": "garden", "bin": "garden"}]}
    assert paths({"source": feed, "bins": BINS, "addresses": ADDRESSES}) == ["source.types[0].bin"]


def welsh_gaps(process_id: str, settings: dict) -> list[str]:
    """Where a Welsh council's settings lack a Welsh text (the schema's bilingual rule)."""
    validator = default_library().processes[process_id].validator_for(("en", "cy"))
    errors = sorted(validator.iter_errors(settings), key=lambda e: list(map(str, e.absolute_path)))
    return [".".join(map(str, e.absolute_path)) for e in errors if e.validator == "bilingual"]


def test_a_welsh_council_names_its_bins_in_welsh():
    settings = {"source": rounds(), "bins": BINS, "addresses": ADDRESSES}
    assert paths(settings, ("en", "cy")) == []  # not a check: the schema's rule
    for process in ("bin_collection", "missed_bin"):
        assert welsh_gaps(process, settings) == ["bins.recycling.name", "bins.recycling.note", "bins.rubbish.name"]
    assert default_library().processes["bin_collection"].validator.is_valid(settings)


def test_a_welsh_council_titles_its_bins_link_in_welsh():
    link = {"url": "https://example.org/demo/bins", "title": {"en": "Bins"}}
    bins = {kind: {"name": {"en": kind, "cy": kind}} for kind in BINS}
    settings = {"source": rounds(), "bins": bins, "addresses": ADDRESSES, "link": link}
    assert welsh_gaps("bin_collection", settings) == ["link.title"]
    assert default_library().processes["bin_collection"].validator.is_valid(settings)


def test_rounds_must_be_known_wherever_they_are_named():
    source = rounds(
        assign={"streets": {"High St": "TUE"}},
        exceptions=[{"date": "2026-12-25", "moved_to": "2026-12-25", "round": "SAT"}],
    )
    source["rounds"].append({"id": "A", "collections": [{"bin": "food", "first": "2026-01-05", "every_weeks": 1}]})
    table = {"type": "table", "properties": [{"address": "a", "postcode": "OX1 2JD", "round": "SUN"}]}
    assert paths({"source": source, "bins": BINS, "addresses": table}) == [
        "source.rounds[2].id",
        "source.assign.streets.High St",
        "source.exceptions[0].round",
        "source.exceptions[0].moved_to",
        "addresses.properties[0].round",
    ]


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
    feed = {
        "type": "json",
        "url": "http://x/{uprn}",
        "list": "",
        "type_field": "t",
        "date_field": "d",
        "date_format": "dd/mm/yyyy",
        "types": [{"match": "food", "bin": "food"}],
    }
    assert paths({"source": feed, "bins": BINS, "addresses": ADDRESSES}) == ["source.date_format"]


# -- the shared settings schema and messages -------------------------------------------------------


def test_both_bin_processes_refer_to_the_shared_settings():
    assert sorted(p.id for p in users()) == ["bin_collection", "missed_bin"]
    shared = schema_registry().contents(BINS_SCHEMA)["$defs"]
    for process in users():
        for key in ("addresses", "source", "bins"):
            assert process.schema["properties"][key]["$ref"] == f"{BINS_SCHEMA}#/$defs/{key}"
            assert key in shared


def test_every_process_using_the_address_steps_has_their_messages():
    for process in users():
        for language, messages in process.messages.items():
            missing = [key for key in MESSAGES if key not in messages]
            assert not missing, f"library/{process.id}/messages/{language}.yaml lacks {missing}"
