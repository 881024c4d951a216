"""Fixed collection rounds: no upstream, only the settings, bank holidays and exceptions.

Calendar used (2026-27, England and Wales): Fri 25 Dec and Mon 28 Dec 2026 (Boxing Day, substitute)
are bank holidays, as is Fri 1 Jan 2027; Mon 31 Aug 2026 is the summer bank holiday."""

from __future__ import annotations

from datetime import date

from townhall.upstreams.bins import Collection, Property, collections
from townhall.upstreams.bins.rounds import by_postcode, nominal_dates, round_for


def rounds(**extra) -> dict:
    return {
        "type": "rounds",
        "rounds": [
            {
                "id": "MON",
                "collections": [
                    {"bin": "rubbish", "first": "2026-01-05", "every_weeks": 2},
                    {"bin": "food", "first": "2026-01-05", "every_weeks": 1},
                ],
            },
            {"id": "FRI", "collections": [{"bin": "recycling", "first": "2026-01-09", "every_weeks": 1}]},
        ],
        **extra,
    }


HOLIDAYS = {"division": "england-and-wales", "shift": "rest_of_week"}


def days(source: dict, prop: Property, first: date, last: date, kind: str) -> list[date]:
    from townhall.upstreams.bins.rounds import collections as from_rounds

    return sorted(c.date for c in from_rounds(source, prop, first, last) if c.bin_type == kind)


MON = Property("1 Demo Lane", "OX1 2JD", "1", "MON")
FRI = Property("1 Demo Lane", "OX1 2JD", "1", "FRI")


def test_nominal_dates_go_both_ways_from_the_first():
    assert list(nominal_dates(date(2026, 1, 5), 2, date(2025, 12, 20), date(2026, 1, 20))) == [
        date(2025, 12, 22),
        date(2026, 1, 5),
        date(2026, 1, 19),
    ]
    assert list(nominal_dates(date(2026, 1, 5), 1, date(2026, 1, 6), date(2026, 1, 12))) == [date(2026, 1, 12)]


def test_weekly_and_fortnightly_on_the_first_dates_weekday():
    assert days(rounds(), MON, date(2026, 11, 1), date(2026, 11, 30), "rubbish") == [
        date(2026, 11, 9),
        date(2026, 11, 23),
    ]
    assert days(rounds(), MON, date(2026, 11, 1), date(2026, 11, 30), "food") == [
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
        date(2026, 11, 23),
        date(2026, 11, 30),
    ]


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
        date(2026, 12, 26),
        date(2027, 1, 3),
    ]
    assert days(source, MON, date(2026, 12, 27), date(2027, 1, 2), "food") == [date(2026, 12, 29)]


def test_next_day_moves_only_collections_on_the_bank_holiday():
    source = rounds(bank_holidays={**HOLIDAYS, "shift": "next_day"})
    assert days(source, MON, date(2026, 12, 27), date(2027, 1, 2), "food") == [date(2026, 12, 29)]
    assert days(source, FRI, date(2026, 12, 20), date(2027, 1, 5), "recycling") == [
        date(2026, 12, 26),
        date(2027, 1, 2),
    ]


def test_council_exceptions_win_over_the_bank_holiday_rule_and_can_be_narrowed():
    source = rounds(
        bank_holidays=HOLIDAYS,
        exceptions=[
            {"date": "2027-01-01", "moved_to": "2027-01-02"},
            {"date": "2026-11-23", "moved_to": "2026-11-24", "bin": "food"},
            {"date": "2026-11-09", "moved_to": "2026-11-11", "round": "FRI"},
        ],
    )
    assert days(source, FRI, date(2026, 12, 20), date(2027, 1, 5), "recycling") == [
        date(2026, 12, 26),
        date(2027, 1, 2),
    ]
    november = date(2026, 11, 1), date(2026, 11, 30)
    assert days(source, MON, *november, "food") == [
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
        date(2026, 11, 24),
        date(2026, 11, 30),
    ]
    assert days(source, MON, *november, "rubbish") == [date(2026, 11, 9), date(2026, 11, 23)]  # food only


def test_a_collection_moved_into_the_window_is_found():
    source = rounds(exceptions=[{"date": "2026-11-30", "moved_to": "2026-12-02"}])
    assert days(source, MON, date(2026, 12, 1), date(2026, 12, 6), "food") == [date(2026, 12, 2)]


def test_collections_keep_28_days_back_and_70_ahead():
    found = collections(rounds(), MON, None, None, date(2026, 12, 1))
    assert found[0] == Collection(date(2026, 11, 9), "food") and found[-1].date == date(2027, 2, 8)


def test_which_round_a_property_is_on():
    source = rounds(
        assign={
            "streets": {"Demo Lane": "FRI", "Demo Lane North": "MON"},
            "postcodes": {"OX4": "MON", "OX4 1": "FRI", "OX": "MON"},
        }
    )
    assert round_for(source, Property("1 Demo Lane", "OX1 2JD", round="MON")) == "MON"
    assert round_for(source, Property("1 Demo Lane", "OX1 2JD", round="GONE")) == "FRI"
    assert round_for(source, Property("2 Demo Lane North", "OX1 2JD")) == "MON"  # the longest street
    assert round_for(source, Property("2 Demo Laneway", "OX4 1YB")) == "FRI"  # whole words only
    assert by_postcode(source["assign"]["postcodes"], "OX4 2AB") == "MON"
    assert by_postcode(source["assign"]["postcodes"], "OX10 1AA") == "MON"  # area
    assert by_postcode(source["assign"]["postcodes"], "CF10 1EP") is None
    assert collections(rounds(), Property("x", "CF10 1EP"), None, None, date(2026, 12, 1)) == []
