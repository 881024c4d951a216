"""The extra questions a council's Open311 service asks (its required attributes), and the answers.

Only attributes a resident answers are asked (``variable`` and not FixMyStreet's ``automated``
``server_set``/``hidden_field``), and only the required ones: the report stays short. Each answer
is checked for its Open311 datatype and turned into the value the endpoint expects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from townhall.kit import fold, pick
from townhall.upstreams import open311

from .matching import words

MAX_QUESTIONS = 5
MAX_VALUES = 12
MAX_TEXT = 200

MONTHS = {
    **{
        m: i
        for i, m in enumerate(
            [
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ],
            1,
        )
    },
    **{
        m: i
        for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
    },
    "sept": 9,
    **{
        m: i
        for i, m in enumerate(
            [
                "ionawr",
                "chwefror",
                "mawrth",
                "ebrill",
                "mai",
                "mehefin",
                "gorffennaf",
                "awst",
                "medi",
                "hydref",
                "tachwedd",
                "rhagfyr",
            ],
            1,
        )
    },
}
WEEKDAYS = {
    **{d: i for i, d in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])},
    **{d: i for i, d in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
    **{d: i for i, d in enumerate(["llun", "mawrth", "mercher", "iau", "gwener", "sadwrn", "sul"])},
}
RELATIVE = {
    "today": 0,
    "this morning": 0,
    "heddiw": 0,
    "bore ma": 0,
    "yesterday": 1,
    "ddoe": 1,
    "day before yesterday": 2,
    "the day before yesterday": 2,
    "echdoe": 2,
    "tomorrow": -1,
    "yfory": -1,
    "fory": -1,
}


class InvalidAnswer(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # choice | number | date | future | empty | long


@dataclass(frozen=True)
class Question:
    code: str
    type: str  # an Open311 datatype
    text: str  # the endpoint's question (its attribute description), in English
    values: tuple[tuple[str, str], ...] = ()  # (key, name) for the list datatypes
    hint: str = ""

    @classmethod
    def from_attribute(cls, attribute: open311.Attribute) -> Question:
        return cls(
            attribute.code,
            attribute.datatype if attribute.datatype in open311.DATATYPES else "string",
            (attribute.description or attribute.code)[:300],
            tuple((v.key, v.name) for v in attribute.values[:MAX_VALUES]),
            attribute.datatype_description[:200],
        )

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "type": self.type,
            "text": self.text,
            "values": [list(v) for v in self.values],
            "hint": self.hint,
        }

    @classmethod
    def from_json(cls, data: Any) -> Question | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("code"), str) or not data["code"]:
            return None
        kind = data.get("type") if data.get("type") in open311.DATATYPES else "string"
        values = tuple(
            (str(v[0]), str(v[1])) for v in data.get("values") or [] if isinstance(v, (list, tuple)) and len(v) == 2
        )[:MAX_VALUES]
        return cls(
            data["code"][:100],
            kind,
            str(data.get("text") or data["code"])[:300],
            values,
            str(data.get("hint") or "")[:200],
        )

    @property
    def is_list(self) -> bool:
        return self.type in ("singlevaluelist", "multivaluelist") and bool(self.values)


def questions(definition: open311.Definition) -> list[Question]:
    """The required questions a resident answers, in the endpoint's order (at most five)."""
    return [Question.from_attribute(a) for a in definition.questions if a.required][:MAX_QUESTIONS]


def _choice(question: Question, text: str, names: Mapping[str, str]) -> tuple[str, str] | None:
    """The listed value meant: its key or name said, the kit's picker on the names as shown ("the
    second one", "2", "yr ail"), its name inside what was said, or the one sharing most words with it."""
    said = fold(text)
    if not said:
        return None
    for key, name in question.values:
        if said in {fold(key), fold(name), fold(names.get(name, ""))} - {""}:
            return key, name
    picked = pick(text, [names.get(name, name) for _, name in question.values])
    if picked.index is not None:
        return question.values[picked.index]
    hits = [
        (key, name)
        for key, name in question.values
        if any(
            n and re.search(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])", said)
            for n in (fold(name), fold(names.get(name, "")))
        )
    ]
    if len(hits) == 1:
        return hits[0]
    said_words = words(text)
    scores = {
        (key, name): len(said_words & (words(name) | words(names.get(name, "")))) for key, name in question.values
    }
    best = max(scores.values(), default=0)
    top = [value for value, score in scores.items() if score == best]
    return top[0] if best and len(top) == 1 else None


def parse_date(text: str, today: date) -> date | None:
    """A past or present date as residents type it: "yesterday", "tuesday", "1/12", "1 December"."""
    said = fold(text.replace("/", " / ").replace(".", " . ").replace("-", " - "))
    compact = re.sub(r"\s+", "", text)
    for phrase, back in sorted(RELATIVE.items(), key=lambda x: -len(x[0])):
        if re.search(rf"(?<![a-z]){phrase}(?![a-z])", said):
            return today - timedelta(days=back)
    iso = re.search(r"(\d{4})-(\d{1,2})-(\d{1,2})", compact)
    numeric = re.search(r"(?<!\d)(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?(?!\d)", compact)
    try:
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if numeric:
            day, month, year = int(numeric.group(1)), int(numeric.group(2)), numeric.group(3)
            return _dated(day, month, year, today)
        named = re.search(r"(\d{1,2})(?:st|nd|rd|th|af|ed|ydd|fed)?\s+(?:of\s+)?([a-z]+)(?:\s+(\d{4}))?", said)
        if named and named.group(2) in MONTHS:
            return _dated(int(named.group(1)), MONTHS[named.group(2)], named.group(3), today)
        backwards = re.search(r"([a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?(?:\s+(\d{4}))?", said)
        if backwards and backwards.group(1) in MONTHS:
            return _dated(int(backwards.group(2)), MONTHS[backwards.group(1)], backwards.group(3), today)
    except ValueError:
        return None
    tokens = said.split()
    for i, word in enumerate(tokens):
        if word in WEEKDAYS:
            if (i and tokens[i - 1] in ("next", "coming")) or tokens[i + 1 : i + 2] == ["nesaf"]:
                return today + timedelta(days=(WEEKDAYS[word] - today.weekday()) % 7 or 7)
            return today - timedelta(days=(today.weekday() - WEEKDAYS[word]) % 7)
    return None


def _dated(day: int, month: int, year: str | None, today: date) -> date:
    if year:
        value = int(year)
        return date(value + 2000 if value < 100 else value, month, day)
    candidate = date(today.year, month, day)
    return candidate if candidate <= today else date(today.year - 1, month, day)


def answer(
    question: Question, text: str, today: date, names: Mapping[str, str] | None = None
) -> tuple[str | list[str], str]:
    """(the value for ``attribute[code]``, the answer as shown back); ``InvalidAnswer`` if unusable.

    ``names``: the council's Welsh names of list values, by their English name.
    """
    names = names or {}
    text = (text or "").strip()
    if not text:
        raise InvalidAnswer("empty")
    if question.is_list:
        if question.type == "multivaluelist":
            parts = [p for p in re.split(r",|&|\+|\band\b|\bac\b|\ba\b", text) if p.strip()]
            picked = [_choice(question, part, names) for part in parts]
            found = list(dict.fromkeys(p for p in picked if p))
            if not found or None in picked:
                one = _choice(question, text, names)
                found = [one] if one else []
            if not found:
                raise InvalidAnswer("choice")
            return [key for key, _ in found], ", ".join(names.get(name, name) for _, name in found)
        found = _choice(question, text, names)
        if not found:
            raise InvalidAnswer("choice")
        return found[0], names.get(found[1], found[1])
    if question.type == "number":
        number = re.search(r"-?\d+(?:\.\d+)?", text.replace(",", ""))
        if not number:
            raise InvalidAnswer("number")
        return number.group(0), number.group(0)
    if question.type == "datetime":
        when = parse_date(text, today)
        if when is None:
            raise InvalidAnswer("date")
        if when > today:
            raise InvalidAnswer("future")
        return when.isoformat(), when.strftime("%d/%m/%Y")
    if len(text) > MAX_TEXT:
        raise InvalidAnswer("long")
    value = text if question.type == "text" else " ".join(text.split())
    return value, value
