"""Fixed collection rounds (no upstream), the bins settings checks, and the shared settings blocks
kept identical in every process schema that uses them.

Calendar used (2026-27, England and Wales): Fri 25 Dec and Mon 28 Dec 2026 (Boxing Day, substitute)
are bank holidays, as is Fri 1 Jan 2027; Mon 31 Aug 2026 is the summer bank holiday."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from townhall.library import default_library
from townhall.upstreams.bins import Collection, Property, collections, schema
from townhall.upstreams.bins.checks import settings_problems
from townhall.upstreams.bins.flow import MESSAGES
from townhall.upstreams.bins.rounds import by_postcode, nominal_dates, round_for

LIBRARY = Path(__file__).resolve().parents[1] / "library"


def rounds(**extra) -> dict:
    return {"type": "rounds", "rounds": [
        {"id": "MON", "collections": [{"bin": "rubbish", "first": "2026-01-05", "every_weeks": 2},
                                      {"bin": "food", "first": "2026-01-05", "every_weeks": 1}]},
        {"id": "FRI", "collections": [{"bin": "recycling", "first": "2026-01-09", "every_weeks": 1}]},
    ], **extra}


HOLIDAYS = {"division": "england-and-wales", "shift": "rest_of_week"}


def days(source: dict, prop: Property, first: date, last: date, kind: str) -> list[date]:
    from townhall.upstreams.bins.rounds import collections as from_rounds

    return sorted(c.date for c in from_rounds(source, prop, first, last) if c.bin_type == kind)


MON = Property("1 Demo Lane", "OX1 2JD", "1", "MON")
FRI = Property("1 Demo Lane", "OX1 2JD", "1", "FRI")


def test_nominal_dates_go_both_ways_from_the_first():
    assert list(nominal_dates(date(2026, 1, 5), 2, date(2025, 12, 20), date(2026, 1, 20))) == [
        date(2025, 12, 22), date(2026, 1, 5), date(2026, 1, 19)]
    assert list(nominal_dates(date(2026, 1, 5), 1, date(2026, 1, 6), date(2026, 1, 12))) == [date(2026, 1, 12)]


def test_weekly_and_fortnightly_on_the_first_dates_weekday():
    assert days(rounds(), MON, date(2026, 11, 1), date(2026, 11, 30), "rubbish") == [
        date(2026, 11, 9), date(2026, 11, 23)]
    assert days(rounds(), MON, date(2026, 11, 1), date(2026, 11, 30), "food") == [
        date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]


def test_without_a_bank_holiday_rule_collections_stay_on_bank_holidays():
    assert date(2026, 8, 31) in days(rounds(), MON, date(2026, 8, 30), date(2026, 9, 5), "food")


def test_rest_of_week_moves_the_week_after_a_bank_holiday_a_day():
    source = rounds(bank_holidays=HOLIDAYS)
    assert days(source, MON, date(2026, 8, 30), date(2026, 9, 5), "food") == [date(2026, 9, 1)]
    assert days(source, FRI, date(2026, 8, 30), date(2026, 9, 6), "recycling") == [date(2026, 9, 5)]


def test_rest_of_week_over_christmas_and_new_year():
    source = rounds(bank_holidays=HOLIDAYS)
    # Fri 25 Dec -> Sat 26; in the week of Mon 28 Dec and Fri 1 Jan, Friday's moves two days: Sun 3 Jan.
    assert days(source, FRI, date(2026, 12, 20), date(2027, 1, 5), "recycling") == [
        date(2026, 12, 26), date(2027, 1, 3)]
    assert days(source, MON, date(2026, 12, 27), date(2027, 1, 2), "food") == [date(2026, 12, 29)]


def test_next_day_moves_only_collections_on_the_bank_holiday():
    source = rounds(bank_holidays={**HOLIDAYS, "shift": "next_day"})
    assert days(source, MON, date(2026, 12, 27), date(2027, 1, 2), "food") == [date(2026, 12, 29)]
    assert days(source, FRI, date(2026, 12, 20), date(2027, 1, 5), "recycling") == [
        date(2026, 12, 26), date(2027, 1, 2)]


def test_council_exceptions_win_over_the_bank_holiday_rule_and_can_be_narrowed():
    source = rounds(bank_holidays=HOLIDAYS, exceptions=[
        {"date": "2027-01-01", "moved_to": "2027-01-02"},
        {"date": "2026-11-23", "moved_to": "2026-11-24", "bin": "food"},
        {"date": "2026-11-09", "moved_to": "2026-11-11", "round": "FRI"}])
    assert days(source, FRI, date(2026, 12, 20), date(2027, 1, 5), "recycling") == [
        date(2026, 12, 26), date(2027, 1, 2)]
    november = date(2026, 11, 1), date(2026, 11, 30)
    assert days(source, MON, *november, "food") == [
        date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 24), date(2026, 11, 30)]
    assert days(source, MON, *november, "rubbish") == [date(2026, 11, 9), date(2026, 11, 23)]  # food only


def test_a_collection_moved_into_the_window_is_found():
    source = rounds(exceptions=[{"date": "2026-11-30", "moved_to": "2026-12-02"}])
    assert days(source, MON, date(2026, 12, 1), date(2026, 12, 6), "food") == [date(2026, 12, 2)]


def test_collections_keep_28_days_back_and_70_ahead():
    found = collections(rounds(), MON, None, None, date(2026, 12, 1))
    assert found[0] == Collection(date(2026, 11, 9), "food") and found[-1].date == date(2027, 2, 8)


def test_which_round_a_property_is_on():
    source = rounds(assign={"streets": {"Demo Lane": "FRI", "Demo Lane North": "MON"},
                            "postcodes": {"OX4": "MON", "OX4 1": "FRI", "OX": "MON"}})
    assert round_for(source, Property("1 Demo Lane", "OX1 2JD", round="MON")) == "MON"
    assert round_for(source, Property("1 Demo Lane", "OX1 2JD", round="GONE")) == "FRI"
    assert round_for(source, Property("2 Demo Lane North", "OX1 2JD")) == "MON"  # the longest street
    assert round_for(source, Property("2 Demo Laneway", "OX4 1YB")) == "FRI"  # whole words only
    assert by_postcode(source["assign"]["postcodes"], "OX4 2AB") == "MON"
    assert by_postcode(source["assign"]["postcodes"], "OX10 1AA") == "MON"  # area
    assert by_postcode(source["assign"]["postcodes"], "CF10 1EP") is None
    assert collections(rounds(), Property("x", "CF10 1EP"), None, None, date(2026, 12, 1)) == []


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


def test_rounds_must_be_known_wherever_they_are_named():
    source = rounds(assign={"streets": {"High St": "TUE"}}, exceptions=[
        {"date": "2026-12-25", "moved_to": "2026-12-25", "round": "SAT"}])
    source["rounds"].append({"id": "MON", "collections": [{"bin": "food", "first": "2026-01-05", "every_weeks": 1}]})
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
    assert schema.stale(LIBRARY) == [], "run: .venv/bin/python -m townhall.upstreams.bins.schema --write"


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
