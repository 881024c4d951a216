"""Understanding short answers (pure): categories, yes and no, which part to change, other answers."""

from __future__ import annotations

import importlib
from datetime import date

import pytest

from townhall.library import default_library
from townhall.upstreams import open311

default_library().processes["report_problem"].handler  # makes townhall_processes.report_problem a package
_answers = importlib.import_module("townhall_processes.report_problem.answers")
_categories = importlib.import_module("townhall_processes.report_problem.categories")
_matching = importlib.import_module("townhall_processes.report_problem.matching")
InvalidAnswer, Question, answer, parse_date, questions = (
    _answers.InvalidAnswer,
    _answers.Question,
    _answers.answer,
    _answers.parse_date,
    _answers.questions,
)
Category, groups, menu = _categories.Category, _categories.groups, _categories.menu
group_named, is_other, match, part_named = (
    _matching.group_named,
    _matching.is_other,
    _matching.match,
    _matching.part_named,
)

CATEGORIES = (
    Category("district", "FLYTIP", "Fly-tipping", "Street cleaning", keywords=("fly tipping", "dumped rubbish")),
    Category("district", "GRAFF", "Graffiti", "Street cleaning", keywords=("graffiti", "tagging")),
    Category("district", "DOGF", "Dog fouling", "Street cleaning", keywords=("dog mess", "dog poo")),
    Category("district", "LITTER", "Overflowing litter bin", "Street cleaning", keywords=("litter bin", "litter")),
    Category("district", "MISSBIN", "Missed bin collection", "Bins and recycling", keywords=("missed bin",)),
    Category("county", "POT", "Pothole", "Roads and pavements", keywords=("pothole", "hole in road")),
    Category("county", "PAVE", "Broken or uneven pavement", "Roads and pavements", keywords=("pavement",)),
    Category("county", "SIGN", "Damaged road sign", "Roads and pavements", keywords=("road sign",)),
    Category("county", "SLIGHT", "Street light not working", "Street lighting", keywords=("street light", "lamp post")),
)
WELSH = {
    "welsh_names": {
        "Fly-tipping": "Tipio anghyfreithlon",
        "Pothole": "Twll yn y ffordd",
        "Street cleaning": "Glanhau strydoedd",
    }
}
LABELS = {
    c: (c.name, WELSH["welsh_names"][c.name]) if c.name in WELSH["welsh_names"] else (c.name,) for c in CATEGORIES
}


def codes(found):
    return [c.code for c in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fly-tipping", ["FLYTIP"]),
        ("fly tipping", ["FLYTIP"]),
        ("someone has dumped rubbish behind the shops", ["FLYTIP"]),
        ("potholes", ["POT"]),
        ("theres a massive pothole on my road", ["POT"]),
        ("the street lights are out", ["SLIGHT"]),
        ("Twll yn y ffordd", ["POT"]),
        ("dog poo everywhere", ["DOGF"]),
        ("pothole", ["POT"]),
        ("SIGN", ["SIGN"]),
        ("road", ["POT", "PAVE", "SIGN"]),  # a group's word: every category in it
        ("bin", ["LITTER", "MISSBIN"]),
        ("a noisy neighbour", []),
        ("", []),
    ],
)
def test_categories_are_matched_from_names_keywords_and_groups(text, expected):
    assert codes(match(text, CATEGORIES, LABELS)) == expected


def test_strict_matching_needs_a_whole_name_or_keyword():
    assert codes(match("something on my street", CATEGORIES, LABELS)) != []
    assert match("something on my street", CATEGORIES, LABELS, strict=True) == []
    assert codes(match("there's fly tipping on my street", CATEGORIES, LABELS, strict=True)) == ["FLYTIP"]


def test_groups_and_menu():
    named = groups(WELSH, CATEGORIES)
    assert group_named("glanhau strydoedd", named) == "Street cleaning"
    assert group_named("Roads and pavements", named) == "Roads and pavements"
    assert group_named("roads", named) is None
    assert menu(WELSH, CATEGORIES, "en") == [
        "Street cleaning",
        "Bins and recycling",
        "Roads and pavements",
        "Street lighting",
    ]
    assert menu(WELSH, CATEGORIES, "cy")[0] == "Glanhau strydoedd"
    assert menu(WELSH, CATEGORIES[:3], "cy") == ["Tipio anghyfreithlon", "Graffiti", "Dog fouling"]


def test_other_is_recognised():
    assert is_other("something else") and is_other("Rhywbeth arall") and not is_other("fly tipping")


@pytest.mark.parametrize(
    ("text", "entity", "part"),
    [
        ("change the email address", None, "contact"),
        ("Change contact details", None, "contact"),
        ("the postcode is wrong", None, "location"),
        ("Change the place", None, "location"),
        ("Change the details", None, "details"),
        ("wrong problem", None, "category"),
        ("Newid y lleoliad", None, "location"),
        ("Newid manylion cyswllt", None, "contact"),
        ("Newid y broblem", None, "category"),
        ("anything", "details", "details"),
        ("no thats wrong", None, None),
    ],
)
def test_part_to_change(text, entity, part):
    assert part_named(text, entity) == part


# -- questions and answers -------------------------------------------------------------------------

TODAY = date(2026, 12, 2)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 12, 2)),
        ("yesterday", date(2026, 12, 1)),
        ("ddoe", date(2026, 12, 1)),
        ("it was monday", date(2026, 11, 30)),
        ("dydd Llun", date(2026, 11, 30)),
        ("wednesday", TODAY),
        ("1/12", date(2026, 12, 1)),
        ("1/12/2026", date(2026, 12, 1)),
        ("28-11-26", date(2026, 11, 28)),
        ("2026-11-20", date(2026, 11, 20)),
        ("1st December", date(2026, 12, 1)),
        ("30 Tachwedd", date(2026, 11, 30)),
        ("December 1", date(2026, 12, 1)),
        ("25 dec", date(2025, 12, 25)),  # no year: the last one that has been
        ("next friday", date(2026, 12, 4)),
        ("dydd Gwener nesaf", date(2026, 12, 4)),
        ("tomorrow", date(2026, 12, 3)),
        ("next week sometime", None),
        ("31/02", None),
    ],
)
def test_dates_as_residents_type_them(text, expected):
    assert parse_date(text, TODAY) == expected


BINS = Question(
    "bin_type",
    "singlevaluelist",
    "Which bin was missed?",
    (("refuse", "Rubbish (green bin)"), ("recycling", "Recycling (blue bin)"), ("food", "Food waste caddy")),
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Rubbish (green bin)", "refuse"),
        ("recycling", "recycling"),
        ("the food caddy", "food"),
        ("blue bin", "recycling"),
        ("the second one", "recycling"),
        ("3", "food"),
        ("last", "food"),
    ],
)
def test_list_answers(text, key):
    assert answer(BINS, text, TODAY)[0] == key


def test_list_answers_in_welsh_and_multiple_choices():
    names = {"Food waste caddy": "Cadi gwastraff bwyd"}
    assert answer(BINS, "cadi bwyd", TODAY, names) == ("food", "Cadi gwastraff bwyd")
    assert answer(BINS, "yr ail un", TODAY, names) == ("recycling", "Recycling (blue bin)")
    many = Question(
        "waste",
        "multivaluelist",
        "What?",
        (("furniture", "Furniture or mattresses"), ("garden", "Garden waste"), ("builders", "Building rubble")),
    )
    assert answer(many, "a mattress and some garden waste", TODAY) == (
        ["furniture", "garden"],
        "Furniture or mattresses, Garden waste",
    )
    with pytest.raises(InvalidAnswer) as e:
        answer(many, "a fridge", TODAY)
    assert e.value.reason == "choice"


@pytest.mark.parametrize(
    ("question", "text", "reason"),
    [
        (BINS, "a wheelie bin", "choice"),
        (Question("n", "number", "How many?"), "lots", "number"),
        (Question("d", "datetime", "When?"), "soon", "date"),
        (Question("d", "datetime", "When?"), "25/12/2026", "future"),
        (Question("s", "string", "What?"), "   ", "empty"),
        (Question("s", "string", "What?"), "x" * 201, "long"),
    ],
)
def test_unusable_answers_say_why(question, text, reason):
    with pytest.raises(InvalidAnswer) as e:
        answer(question, text, TODAY)
    assert e.value.reason == reason


def test_numbers_dates_and_text():
    assert answer(Question("n", "number", "How many?"), "about 3 bags", TODAY) == ("3", "3")
    assert answer(Question("d", "datetime", "When?"), "yesterday", TODAY) == ("2026-12-01", "01/12/2026")
    assert answer(Question("s", "string", "Vehicle?"), "  red  Ford   Fiesta ", TODAY) == ("red Ford Fiesta",) * 2


def test_only_required_questions_residents_answer_are_asked():
    definition = open311.Definition(
        "X",
        (
            open311.Attribute("b", "string", required=True, order=2, description="Second"),
            open311.Attribute(
                "a",
                "singlevaluelist",
                required=True,
                order=1,
                description="First",
                values=(open311.Value("k", "Name"),),
            ),
            open311.Attribute("optional", "string", required=False, order=3),
            open311.Attribute("uprn", "string", required=True, automated="hidden_field"),
            open311.Attribute("note", "text", required=True, variable=False),
        ),
    )
    assert [q.code for q in questions(definition)] == ["a", "b"]
    assert Question.from_json(questions(definition)[0].to_json()) == questions(definition)[0]
    assert Question.from_json({"code": ""}) is None and Question.from_json("x") is None
