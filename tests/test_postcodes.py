import pytest

from townhall.postcodes import compact, find, normalise, said


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("ox11bx", "OX1 1BX"),
        ("OX1 1BX", "OX1 1BX"),
        (" cf10 4uw ", "CF10 4UW"),
        ("SW1A1AA", "SW1A 1AA"),
        ("EC1A  1BB", "EC1A 1BB"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("OX1", None),
        ("hello", None),
        ("", None),
        (None, None),
        (123, None),
        ("OX1 1BXX", None),
    ],
)
def test_normalise(given, expected):
    assert normalise(given) == expected


def test_find_in_text():
    assert find("my postcode is cf104uw thanks") == "CF10 4UW"
    assert find("bins at OX1 1BX?") == "OX1 1BX"
    assert find("no postcode here, flat 12b") is None
    assert compact("OX1 1BX") == "OX11BX"


@pytest.mark.parametrize(
    ("parameter", "text", "expected"),
    [
        ("ox11bx", "", ("OX1 1BX", True)),
        (["", "cf10 3nd"], "", ("CF10 3ND", True)),
        (None, "its ox4 1aa thanks", ("OX4 1AA", True)),
        ("12345", "12345", (None, True)),  # given, but not a postcode: format help
        (None, "which council am i in", (None, False)),  # nothing given: ask for one
        ("  ", "", (None, False)),
    ],
)
def test_said(parameter, text, expected):
    assert said(parameter, text) == expected
