"""The handler kit (townhall.kit): what handlers read from residents, in English and Welsh.

The phrasings are written as residents write them (case, punctuation, typos in spacing, Welsh
mixed with English), not copied from any process's training phrases or messages.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from townhall.kit import (
    MORE,
    NONE,
    NOTHING,
    consent,
    email,
    fold,
    folded,
    has_phrase,
    localised,
    number,
    phone,
    pick,
    postcode,
    postcode_said,
    with_english,
    yes_no,
)
from townhall_tools.testing import turn

# -- text in the turn's language -------------------------------------------------------------------


def test_localised_gives_the_language_else_english():
    both = {"en": "Bins and recycling", "cy": "Biniau ac ailgylchu"}
    assert localised(both, "cy") == "Biniau ac ailgylchu"
    assert localised(both, "en") == "Bins and recycling"
    assert localised({"en": "Bins"}, "cy") == "Bins"
    assert localised({"en": "Bins", "cy": ""}, "cy") == "Bins"  # an empty Welsh text is no text
    assert localised("Bins", "cy") == "Bins"
    assert localised(None, "cy") is None
    assert localised({}, "en") is None
    assert with_english("cy") == ("cy", "en") and with_english("en") == ("en",)


# -- folding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fly-tipping", "fly tipping"),
        ("  Don't   SEND it!! ", "dont send it"),
        ("it\u2019s 12, Demo Rd.", "its 12 demo rd"),
        ("Dim un o'r rhain", "dim un or rhain"),
        ("Tŷ Ŵyn, Heol y Frenhines", "ty wyn heol y frenhines"),
        ("Café Straße", "cafe strasse"),
        ("snake_case/slash", "snake case slash"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold(text, expected):
    assert fold(text) == expected


def test_word_lists_fold_as_text_does():
    assert folded(["It's", "DIM UN O'R RHAIN", "  ", "?"]) == {"its", "dim un or rhain"}
    assert has_phrase("my address isnt there", "isnt there") and not has_phrase("bisnt there", "isnt there")
    assert not has_phrase("anything", "")


# -- postcodes -------------------------------------------------------------------------------------


def test_postcode_from_the_parameter_else_the_words():
    assert postcode(turn("p.find", {"postcode": "ox11bx"}, text="whatever")) == "OX1 1BX"
    assert postcode(turn("p.find", {"postcode": ["", "cf10 1ep"]})) == "CF10 1EP"
    assert postcode(turn("p.find", {}, text="bins for cf24 4hq please")) == "CF24 4HQ"
    assert postcode(turn("p.find", {"postcode": "OX4"}, text="OX4 1YB actually")) == "OX4 1YB"
    assert postcode(turn("p.find", {}, text="where do I vote")) is None


def test_postcode_said_tells_format_help_from_asking_again():
    assert postcode_said(turn("p.find", {}, text="where do I vote")) == (None, False)
    assert postcode_said(turn("p.find", {"postcode": "12345"}, text="12345")) == (None, True)
    assert postcode_said(turn("p.postcode", {}, text="the one near the church")) == (None, True)
    assert postcode_said(turn("p.postcode", {}, text="sw1a2aa")) == ("SW1A 2AA", True)


# -- yes and no ------------------------------------------------------------------------------------

YES = [
    "yes",
    "Yes please",
    "YES!",
    "yep",
    "yeah go on then, send it",
    "ok",
    "okay send it",
    "sure",
    "go ahead",
    "that's right",
    "correct",
    "fine",
    "please do",
    "yes it is",
    "no problem, send it",
    "why not",
    "absolutely",
    "y",
    "k",
    "do it",
    "send it",
    "hmm yes",
    "of course",
    "yesss",
    "yh",
    "go for it",
    "go on then",
    "cheers, send it",
    "that's grand",
    "ie",
    "Ie, anfonwch e",
    "ia",
    "iawn",
    "ydw",
    "ydy",
    "do",
    "Do, diolch",
    "cywir",
    "anfonwch",
    "gwnewch",
    "ie plis",
    "wrth gwrs",
    "dim problem",
    "dim ond anfon e",
    "mae'n iawn",
    "yes, anfonwch",
]
NO = [
    "no",
    "No thanks",
    "nope",
    "nah",
    "no, don't send it",
    "hmm no, don't send it after all",
    "wait, don't send it yet",
    "don't",
    "please don't",
    "do not send it",
    "not yet",
    "not now",
    "cancel",
    "stop",
    "never mind",
    "forget it",
    "I've changed my mind",
    "that's wrong",
    "skip",
    "none",
    "n",
    "I don't have an email",
    "yes... no actually",
    "ok no",
    "no way",
    "send it? no",
    "nothing",
    "nothing thanks",
    "nooo",
    "I'd rather not",
    "definitely not",
    "na",
    "Na, peidiwch â'i anfon",
    "nac ydw",
    "nac ydy",
    "naddo",
    "nage",
    "dim diolch",
    "na diolch",
    "peidiwch",
    "paid",
    "hepgor",
    "does gen i ddim e-bost",
    "dwi ddim eisiau",
    "wedi newid fy meddwl",
    "canslo",
    "anghywir",
]
UNCLEAR = [
    "",
    "   ",
    "?",
    "yes but change the address",
    "maybe",
    "maybe later",
    "what do you mean",
    "is that right?",
    "can you send it",
    "hold on",
    "wait",
    "not sure",
    "I don't mind",
    "dunno",
    "efallai",
    "ie ond newid y lle",
    "dim ots gen i",
    "dwi ddim yn siwr",
    "12 Demo Road",
    "hello",
    "what happens next",
    "the light is right outside number 5",
    "my neighbour says it's fine",  # no yes leads these
    "I'm happy for you to send it",  # not a no, but ask again rather than guess
    "cheers",  # thanks, not a yes
    "ta",
    "sound",
    "thanks",
    "diolch",
]


@pytest.mark.parametrize("text", YES)
def test_yes(text):
    assert yes_no(text) is True


@pytest.mark.parametrize("text", NO)
def test_no(text):
    assert yes_no(text) is False


@pytest.mark.parametrize("text", UNCLEAR)
def test_unclear_is_neither(text):
    assert yes_no(text) is None


def test_a_turn_brings_its_words_and_language():
    assert yes_no(turn("p.confirm", text="hmm no, don't send it after all")) is False
    assert yes_no(turn("p.confirm", text="y")) is True
    assert yes_no(turn("p.confirm", text="y", language="cy")) is None  # Welsh "y" is "the"
    assert yes_no("y", "cy") is None and yes_no("ie", "cy") is True


# -- consent: the rule at every confirm step before a side effect -----------------------------------

CONSENT_YES = [
    ("Yes, send it", "en"),
    ("yes please", "en"),
    ("yep go ahead", "en"),
    ("ok send it", "en"),
    ("that's right, send it", "en"),
    ("Ie, anfonwch e", "cy"),
    ("ie plis", "cy"),
    ("iawn, anfonwch", "cy"),
    ("do", "cy"),  # Welsh yes (to a past-tense question)
    ("ydw, anfon e", "cy"),
    ("yes, anfonwch e", "cy"),  # mixed
    ("ie send it", "cy"),
]
CONSENT_NO = [
    ("No, don't send it", "en"),
    ("hmm no, don't send it after all", "en"),
    ("wait, don't send it yet", "en"),
    ("actually leave it", "en"),
    ("not now", "en"),
    ("I've changed my mind", "en"),
    ("nah", "en"),
    ("no thanks", "en"),
    ("yes send it... actually no", "en"),
    ("on second thoughts, hold off", "en"),
    ("Na, peidiwch â'i anfon", "cy"),
    ("na", "cy"),
    ("nage", "cy"),
    ("naddo", "cy"),
    ("paid", "cy"),
    ("dim diolch", "cy"),
    ("ddim eto", "cy"),
    ("wedi newid fy meddwl", "cy"),
    ("gad e", "cy"),
    ("canslo", "cy"),
    ("ie... na, gad e", "cy"),
    ("na, don't send it", "cy"),  # mixed
    ("yes but peidiwch anfon eto", "cy"),
]
CONSENT_UNCLEAR = [
    ("ta", "en"),
    ("cheers", "en"),
    ("sound", "en"),
    ("do", "en"),  # bare "do" is no English yes
    ("diolch", "cy"),
    ("what happens if I send it?", "en"),
    ("beth sy'n digwydd nesa", "cy"),
    ("efallai", "cy"),
]


@pytest.mark.parametrize(("text", "language"), CONSENT_YES)
def test_consent_yes(text, language):
    assert consent(turn("p.confirm", text=text, language=language)) is True


@pytest.mark.parametrize(("text", "language"), CONSENT_NO)
def test_consent_refused(text, language):
    assert consent(turn("p.confirm", text=text, language=language)) is False


@pytest.mark.parametrize(("text", "language"), CONSENT_UNCLEAR)
def test_consent_unclear_asks_again(text, language):
    assert consent(turn("p.confirm", text=text, language=language)) is None


def test_consent_is_the_words_whatever_intent_matched():
    """A confirm intent whose words carry a negation is a decline; a decline intent with a clear
    yes is still a yes (the handler decides from the words)."""
    assert consent(turn("p.confirm", text="yes... no wait, don't send it")) is False
    assert consent(turn("p.decline", text="yes send it")) is True


# -- system entities: the parameter, else the words ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parameters", "expected"),
    [
        ("fy e-bost yw jo@example.org.", {}, "jo@example.org"),  # Welsh: Dialogflow extracted nothing
        ("e-bost: rhys.jones+cyngor@example.co.uk diolch", {}, "rhys.jones+cyngor@example.co.uk"),
        ("my email is sam@example.com", {"email": "sam@example.com"}, "sam@example.com"),
        ("dim e-bost gen i", {}, None),
        ("@ the corner", {}, None),
    ],
)
def test_email_from_the_parameter_else_the_words(text, parameters, expected):
    assert email(turn("p.contact", parameters, text=text, language="cy")) == expected


@pytest.mark.parametrize(
    ("text", "parameters", "expected"),
    [
        ("fy rhif yw 07700 900 123", {}, "07700900123"),
        ("ffoniwch fi ar +44 7700 900123 plis", {}, "07700900123"),
        ("rhif ffôn: 0044 7700 900123", {}, "07700900123"),
        ("(01865) 249811", {}, "01865249811"),
        ("029 2087 2087 yw rhif y swyddfa", {}, "02920872087"),
        ("07700-900-123", {}, "07700900123"),
        ("my number", {"phone": "07700 900123"}, "07700900123"),
        ("rhif 12", {}, None),
        ("0770090", {}, None),  # too short
    ],
)
def test_phone_from_the_parameter_else_the_words(text, parameters, expected):
    assert phone(turn("p.contact", parameters, text=text, language="cy")) == expected


@pytest.mark.parametrize(
    ("text", "parameters", "expected"),
    [
        ("tri", {}, 3),
        ("deuddeg bag", {}, 12),
        ("rhif 7 plis", {}, 7),
        ("three of them", {}, 3),
        ("x", {"number": 4.0}, 4),
        ("x", {"number": "5"}, 5),
        ("dim syniad", {}, None),
    ],
)
def test_number_from_the_parameter_else_the_words(text, parameters, expected):
    assert number(turn("p.answer", parameters, text=text, language="cy")) == expected


# -- the picker ------------------------------------------------------------------------------------

STREET = ["1 Demo Road", "2 Demo Road", "Flat 3, 12 Demo Road", "14 Demo Road"]
FLATS = [f"Flat {n}, 20 Heol Enghraifft" for n in range(1, 13)]
HOUSES = ["10 Example Road", "12 Example Road", "14 Example Road"]


@pytest.mark.parametrize(
    ("text", "options", "index"),
    [
        ("2 Demo Road", STREET, 1),  # tapped
        ("flat 3, 12 demo road", STREET, 2),  # typed in full, any case
        ("1 demo rd", STREET, 0),  # abbreviated
        ("the second one", STREET, 1),
        ("second", STREET, 1),
        ("2nd", STREET, 1),
        ("the 2nd one please", STREET, 1),
        ("I'll take the third", STREET, 2),
        ("last", STREET, 3),
        ("the last one", STREET, 3),
        ("second to last", STREET, 2),
        ("top one", STREET, 0),
        ("yr ail", STREET, 1),
        ("yr ail un", STREET, 1),
        ("y cyntaf", STREET, 0),
        ("yr un olaf", STREET, 3),
        ("y trydydd", STREET, 2),
        ("I'm at number 12", STREET, 2),  # a house number inside an option
        ("12", STREET, 2),
        ("number fourteen", STREET, 3),
        ("it's no. 14", STREET, 3),
        ("dwi'n byw yn rhif 12", STREET, 2),
        ("flat 3", STREET, 2),
        ("Flat 10", FLATS, 9),
        ("10", FLATS, 9),  # a flat's number when no house has it
        ("2", HOUSES, 1),  # no house 2 here: the second option
        ("option 3", HOUSES, 2),
        ("rhif 3", HOUSES, 2),
        ("12 example", HOUSES, 1),
        ("I live at 14 Example Road thanks", HOUSES, 2),
        ("12 Example Road, Oxford", HOUSES, 1),  # the option, then the town
        ("12 example rd ox4 1yb", HOUSES, 1),  # ... or the postcode
        ("the second from the bottom", STREET, 2),
        ("the 3rd one down", STREET, 2),
        ("rhif deuddeg", STREET, 2),
    ],
)
def test_one_option_picked(text, options, index):
    assert pick(text, options).index == index


@pytest.mark.parametrize(
    ("text", "options", "candidates"),
    [
        ("demo road", STREET, (0, 1, 2, 3)),
        ("20 heol enghraifft", FLATS, tuple(range(12))),
        ("20", FLATS, tuple(range(12))),  # the house every flat is in
        ("example road", HOUSES, (0, 1, 2)),
    ],
)
def test_several_fit(text, options, candidates):
    picked = pick(text, options)
    assert picked.index is None and picked.candidates == candidates


@pytest.mark.parametrize(
    "text",
    [
        "none of these",
        "None of them",
        "my address isn't there",
        "My address isn't listed",
        "it's not on the list",
        "I can't see my address",
        "not there",
        "mine's missing",
        "none",
        "dim un o'r rhain",
        "Dim un",
        "dydy fy nghyfeiriad i ddim yma",
        "dyw e ddim ar y rhestr",
        "methu gweld fy un i",
    ],
)
def test_none_of_them(text):
    assert pick(text, STREET) == NONE


@pytest.mark.parametrize(
    "text",
    [
        "more",
        "More addresses",
        "show me more please",
        "next page",
        "others",
        "rhagor",
        "Rhagor o gyfeiriadau",
        "dangos mwy",
    ],
)
def test_more(text):
    assert pick(text, STREET) == MORE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "the big house",
        "99 Nowhere Street",
        "I'm at number 2000",
        "7",
        "hello",
        "the tenth one",
        "the first or the second",
        "14 Other Road",
        "2 Demo Lane",
    ],
)
def test_nothing_understood(text):
    assert pick(text, STREET) == NOTHING


def test_positions_count_in_the_options_on_screen():
    second_page = [8, 9, 10, 11]
    assert pick("the first one", FLATS, shown=second_page).index == 8
    assert pick("last", FLATS, shown=second_page).index == 11
    assert pick("2", HOUSES, shown=[2, 0]).index == 0
    assert pick("the fifth", FLATS, shown=second_page) == NOTHING
    # words and numbers reach every option, not only those on screen
    assert pick("flat 2", FLATS, shown=second_page).index == 1


def test_an_ordinal_inside_an_address_is_the_address():
    avenue = ["1 First Avenue", "2 First Avenue"]
    assert pick("2 first avenue", avenue).index == 1
    assert pick("first avenue", avenue).candidates == (0, 1)
    assert pick("the first one", avenue).index == 0


def test_neighbouring_words_before_loose_ones():
    flats = ["Flat 1, 3 Sample Street", "Flat 3, 5 Sample Street"]
    assert pick("flat 3", flats).index == 1
    assert pick("3 sample street", flats).index == 0


def test_a_letter_is_part_of_a_flat_name():
    picker = ["1 Sandbox Road", "2 Sandbox Road", "Flat A, 3 Sandbox Road", "Flat B, 3 Sandbox Road"]
    assert pick("flat a 3 sandbox road", picker).index == 2
    assert pick("Flat B", picker).index == 3


def test_callers_may_ignore_words_of_their_own():
    assert pick("the property is 12", STREET) == NOTHING
    assert pick("the property is 12", STREET, filler=["property"]).index == 2


def test_the_same_label_twice_is_still_a_question():
    assert pick("1 Demo Road", ["1 Demo Road", "1 Demo Road"]).candidates == (0, 1)


# -- every process uses the kit --------------------------------------------------------------------


def _process_modules():
    root = Path(__file__).resolve().parents[1]
    own = [*sorted((root / "library").glob("*/*.py")), *sorted((root / "functions/townhall/upstreams").rglob("*.py"))]
    return [p for p in own if p.name not in ("fake.py", "checks.py", "agent.py")]


def _own_copies(tree) -> list[str]:
    """What a module writes that the kit holds: text folding with unicodedata, or a setting's text
    picked as ``x.get(language) or x["en"]`` / ``x.get("en")``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"line {node.lineno}: imports unicodedata" for n in names if n == "unicodedata"]
            if isinstance(node, ast.ImportFrom) and node.module == "townhall.postcodes":
                found += [
                    f"line {node.lineno}: reads postcodes itself ({a.name})"
                    for a in node.names
                    if a.name in ("said", "find")
                ]
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) >= 2:
            first, second = node.values[0], node.values[1]
            english = (
                isinstance(second, ast.Subscript)
                and isinstance(second.slice, ast.Constant)
                and second.slice.value == "en"
            ) or (
                isinstance(second, ast.Call)
                and isinstance(second.func, ast.Attribute)
                and second.func.attr == "get"
                and second.args
                and isinstance(second.args[0], ast.Constant)
                and second.args[0].value == "en"
            )
            if (
                isinstance(first, ast.Call)
                and isinstance(first.func, ast.Attribute)
                and first.func.attr == "get"
                and english
            ):
                found.append(f"line {node.lineno}: a setting's text in the language, else English")
    return found


def test_processes_use_the_kit_not_their_own_copies():
    copies = {str(p): found for p in _process_modules() if (found := _own_copies(ast.parse(p.read_text())))}
    assert copies == {}, "use townhall.kit (localised, fold, postcode) instead: " + repr(copies)


def test_the_check_finds_a_copy():
    tree = ast.parse(
        "import unicodedata\nfrom townhall.postcodes import said\ndef f(t, language):\n"
        '    return t.get(language) or t["en"]\n'
    )
    assert len(_own_copies(tree)) == 3


def test_the_picker_reads_letters_numbers_and_not_listed_in_both_languages():
    homes = ["12 Demo Road", "12A Demo Road", "14 Demo Road"]
    assert pick("it's 12a", homes).index == 1
    assert pick("I'm at number 12", homes).index == 0
    assert pick("rhif 14", homes).index == 2
    assert pick("the second one", homes).index == 1 and pick("yr ail un", homes).index == 1
    for said in ("my address isn't there", "not listed", "dyw e ddim ar y rhestr", "dim un o'r rhain"):
        assert pick(said, homes) == NONE, said
