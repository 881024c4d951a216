"""Understanding short answers: which category, something else, which part to change. Pure functions.

Categories come from the council's Open311 services lists, so they are matched at run time against
what each service offers: its name (and the council's Welsh name for it), its keywords and its
group. The ``report-category`` entity gives a canonical English term ("pothole") for what the
resident said in either language; it is matched the same way. Text is compared folded
(``townhall.kit.fold``); yes and no are the kit's (``townhall.kit.yes_no``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from townhall.kit import fold, folded

from .categories import Category

STOPWORDS = folded(
    "a an the i im i'm ive my me we our you your is are was were am be been it its it's there theres "
    "there's this that these those of in on at to for by with near next outside from and or but so "
    "please pls plz can could would like want wanna need report reporting reported problem issue about "
    "some someone somebody has have had just really very big huge massive lot lots again "
    "y yr yn ar i o am gyda ger tu allan mae oes dwi rwy rydw wedi eisiau isio angen rhoi gwybod "
    "problem broblem am fy ein eich hwn hon ma na"
)
OTHER = folded(
    [
        "other",
        "something else",
        "none of those",
        "none of these",
        "not listed",
        "its not listed",
        "not there",
        "arall",
        "rhywbeth arall",
        "dim un o'r rhain",
        "dim ar y rhestr",
    ]
)
# Checked in this order: "email address" is the contact, "contact details" not the details.
PARTS = {
    "contact": (
        "contact",
        "email",
        "e-mail",
        "phone",
        "mobile",
        "number",
        "text message",
        "confirmation",
        "cyswllt",
        "e-bost",
        "ebost",
        "ffon",
        "symudol",
        "rhif",
        "cadarnhad",
        "neges destun",
    ),
    "category": ("problem", "category", "type", "kind", "categori", "math", "broblem"),
    "location": (
        "place",
        "location",
        "where",
        "address",
        "postcode",
        "street",
        "road",
        "lle",
        "lleoliad",
        "cyfeiriad",
        "cod post",
        "stryd",
        "ffordd",
    ),
    "details": ("details", "detail", "description", "describe", "manylion", "disgrifiad"),
}


def stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> set[str]:
    return {stem(w) for w in fold(text).split() if w not in STOPWORDS and len(w) > 1}


def _contains(text: str, phrase: str) -> bool:
    return bool(phrase) and re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None


def match(
    text: str, categories: Sequence[Category], labels: dict[Category, Sequence[str]], strict: bool = False
) -> list[Category]:
    """The categories ``text`` names best: one when clear, several when it is ambiguous, none if
    nothing fits. ``labels``: each category's names as residents see them (English, Welsh).
    ``strict``: only a whole name or keyword in the text counts, not a shared word."""
    said = fold(text)
    if not said:
        return []
    exact = [c for c in categories if said in {fold(x) for x in (*labels.get(c, ()), c.name, c.code)}]
    if exact:
        return exact
    said_words = words(text)
    scores: dict[Category, float] = {}
    for category in categories:
        names = [fold(x) for x in (*labels.get(category, ()), category.name)]
        phrases = names + [fold(k) for k in category.keywords]
        score = 0.0
        for phrase in phrases:
            if len(phrase) > 2 and _contains(said, phrase):
                score = max(score, 3.0 + len(phrase.split()))
            stemmed = " ".join(stem(w) for w in phrase.split())
            if len(stemmed) > 2 and _contains(" ".join(stem(w) for w in said.split()), stemmed):
                score = max(score, 3.0 + len(phrase.split()))
        vocabulary = set().union(*(words(p) for p in phrases)) if phrases else set()
        if strict and score < 3:
            continue
        score += len(said_words & vocabulary)
        score += len((said_words & words(category.group)) - vocabulary)
        if score:
            scores[category] = score
    if not scores:
        return []
    best = max(scores.values())
    if best < 1:
        return []
    return [c for c in categories if scores.get(c) == best]


def group_named(text: str, groups: Iterable[tuple[str, Sequence[str]]]) -> str | None:
    """The group whose name (English or Welsh) is exactly what was said."""
    said = fold(text)
    for group, names in groups:
        if said and said in {fold(n) for n in names}:
            return group
    return None


def is_other(text: str) -> bool:
    """The resident's problem is not among those offered ("something else")."""
    return fold(text) in OTHER


def part_named(text: str, entity: str | None = None) -> str | None:
    """Which part of the report the resident wants to change (category, location, details, contact)."""
    if entity in PARTS:
        return entity
    said = fold(text)
    for part, keys in PARTS.items():
        if any(_contains(said, fold(k)) for k in keys):
            return part
    return None
