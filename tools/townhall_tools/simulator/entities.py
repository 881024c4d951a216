"""Entity extraction for the simulator: the custom entities of the agent export and the system
entities the library uses. Development and testing tool, not Dialogflow's own extraction.

Every match is a span of the text as typed, with a canonical value:

| entity | how | value |
| --- | --- | --- |
| custom (map or enum) | its synonyms and values, whole words, case and accents ignored, longest first | the entry's value |
| custom regexp | each entry's pattern | the text matched |
| ``uk-postcode`` | the library's postcode pattern (``townhall.postcodes``) | normalised: ``"ox11bx"`` -> ``"OX1 1BX"`` |
| ``sys.date`` | ISO and UK numeric dates, "25 December", today/tomorrow/weekdays (English and Welsh) | ``YYYY-MM-DDT12:00:00+00:00`` (London offset) |
| ``sys.number`` | digits, and number words one to twenty (un to ugain) | a JSON number |
| ``sys.email`` | an address pattern | as typed |
| ``sys.phone-number`` | 10 to 13 digits, spaces, ``+``, ``-``, brackets | as typed |
| ``sys.any`` | from the matched intent's training phrases (see ``nlu``) | the words between their fixed parts |

``SUPPORTED_SYSTEM`` lists the system entities handled; a test fails, naming it, when an intent
of the library uses another.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from townhall.kit import ENGLISH_NUMBERS
from townhall.postcodes import ENTITY_PATTERN
from townhall.postcodes import normalise as normal_postcode

LONDON = ZoneInfo("Europe/London")
SUPPORTED_SYSTEM = frozenset({"sys.date", "sys.number", "sys.email", "sys.phone-number", "sys.any"})
EXTRACTED_SYSTEM = ("sys.date", "sys.number", "sys.email", "sys.phone-number")  # sys.any needs an intent
POSTCODE_ENTITY = "uk-postcode"
POSTCODE = re.compile(rf"(?<![A-Za-z0-9])(?:{ENTITY_PATTERN})(?![A-Za-z0-9])")


def fold_char(c: str) -> str:
    """One character, lower case, accents removed (``Ŵ`` -> ``w``); always one character out."""
    c = c.lower()
    if c in "\u2018\u2019\u02bc`":
        return "'"
    base = unicodedata.normalize("NFKD", c)[:1]
    return base if len(base) == 1 else c


def fold(text: str) -> str:
    """Same length as ``text``, so spans found in it are spans of the text as typed."""
    return "".join(fold_char(c) for c in text)


def words(text: str) -> str:
    """Folded text with punctuation gone and spaces collapsed (for comparing phrases)."""
    return " ".join(re.findall(r"[\w']+", fold(text)))


@dataclass(frozen=True)
class Match:
    entity: str  # "faq-topic", "uk-postcode", "sys.date" (no "@")
    value: Any
    start: int
    end: int
    original: str


# -- dates -----------------------------------------------------------------------------------------
MONTHS = {
    "en": [
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
    "cy": [
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
}
SHORT_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = {
    "en": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    "cy": ["llun", "mawrth", "mercher", "iau", "gwener", "sadwrn", "sul"],
}
SHORT_WEEKDAYS = ["mon", "tue|tues", "wed|weds", "thu|thur|thurs", "fri", "sat", "sun"]
RELATIVE = {
    "en": {
        "today": 0,
        "tonight": 0,
        "tomorrow": 1,
        "tomorow": 1,
        "tommorow": 1,
        "tmrw": 1,
        "tmw": 1,
        "yesterday": -1,
        "the day after tomorrow": 2,
        "day after tomorrow": 2,
    },
    "cy": {"heddiw": 0, "heno": 0, "yfory": 1, "fory": 1, "drennydd": 2, "ddoe": -1},
}
NUMBER_WORDS = {
    "en": list(ENGLISH_NUMBERS),
    "cy": [
        "dim",
        "un",
        "dau|dwy",
        "tri|tair",
        "pedwar|pedair",
        "pump|pum",
        "chwech|chwe",
        "saith",
        "wyth",
        "naw",
        "deg|deng",
        "un ar ddeg",
        "deuddeg",
        "tri ar ddeg",
        "pedwar ar ddeg",
        "pymtheg",
        "un ar bymtheg",
        "dau ar bymtheg",
        "deunaw",
        "pedwar ar bymtheg",
        "ugain",
    ],
}


def _alternation(options: Iterable[str]) -> str:
    return "|".join(sorted({o for opt in options for o in opt.split("|")}, key=len, reverse=True))


def _bounded(pattern: str) -> re.Pattern:
    return re.compile(rf"(?<![\w']){pattern}(?![\w'])")


class Dates:
    """``sys.date`` in English and Welsh, relative to a London 'now'."""

    def __init__(self, language: str):
        months = MONTHS.get(language, []) + MONTHS["en"]
        self.month_number = {m: i % 12 + 1 for i, m in enumerate(MONTHS["en"])}
        self.month_number.update({m: i + 1 for i, m in enumerate(SHORT_MONTHS)})
        if language in MONTHS:
            self.month_number.update({m: i + 1 for i, m in enumerate(MONTHS[language])})
        month = _alternation(months + SHORT_MONTHS)
        day = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|ain|af|ydd|fed)?"
        year = r"(?:,? (?P<year>\d{4}))?"
        weekdays = WEEKDAYS.get(language, WEEKDAYS["en"])
        self.weekday_number = {}
        for i, name in enumerate(WEEKDAYS["en"] + weekdays):
            self.weekday_number[name] = i % 7
        for i, names in enumerate(SHORT_WEEKDAYS):
            for name in names.split("|"):
                self.weekday_number[name] = i
        en_days = _alternation(WEEKDAYS["en"] + SHORT_WEEKDAYS)
        cy_days = _alternation(WEEKDAYS["cy"])
        relative = {**RELATIVE["en"], **RELATIVE.get(language, {})}
        self.relative = relative
        self.patterns = [
            ("iso", _bounded(r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})")),
            ("numeric", _bounded(r"(?P<day>[0-3]?\d)/(?P<month>[01]?\d)(?:/(?P<year>\d{2}|\d{4}))?")),
            ("day_month", _bounded(rf"{day}(?: of| o)? (?P<month_name>{month}){year}")),
            ("month_day", _bounded(rf"(?P<month_name>{month}) {day}{year}")),
            ("weekday", _bounded(rf"(?:(?P<next>next|this|on|nesaf) )?(?P<weekday>{en_days})(?: (?P<next2>nesaf))?")),
            ("weekday", _bounded(rf"(?:dydd|ddydd) (?P<weekday>{cy_days})(?: (?P<next2>nesaf))?")),
            ("relative", _bounded(f"(?P<relative>{_alternation(relative)})")),
        ]

    def find(self, folded: str, now: datetime) -> list[tuple[int, int, date]]:
        found = []
        today = now.date()
        for kind, pattern in self.patterns:
            for m in pattern.finditer(folded):
                value = self._value(kind, m, today)
                if value is not None:
                    found.append((m.start(), m.end(), value))
        return found

    def _value(self, kind: str, m: re.Match, today: date) -> date | None:
        groups = m.groupdict()
        try:
            if kind == "relative":
                return today + timedelta(days=self.relative[groups["relative"]])
            if kind == "weekday":
                days = (self.weekday_number[groups["weekday"]] - today.weekday()) % 7
                if groups.get("next") == "next" or groups.get("next2"):
                    days = days or 7
                return today + timedelta(days=days)
            month = int(groups["month"]) if groups.get("month") else self.month_number[groups["month_name"]]
            day = int(groups["day"])
            if groups.get("year"):
                year = int(groups["year"])
                year = year + 2000 if year < 100 else year
                return date(year, month, day)
            found = date(today.year, month, day)
            return found if found >= today - timedelta(days=1) else date(today.year + 1, month, day)
        except (ValueError, KeyError):
            return None


def date_value(day: date) -> str:
    """As Dialogflow gives ``@sys.date``: noon that day with the agent's (London) offset."""
    moment = datetime.combine(day, time(12, 0), LONDON)
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f"{offset[:3]}:{offset[3:]}"


# -- the extractor ---------------------------------------------------------------------------------
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d \-()]{8,16}\d(?!\w)")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")


class Extractor:
    """Finds the entities of one agent in one language.

    ``custom``: entity name -> (definition, entries) from the agent export; ``wanted``: the entity
    types worth finding (those some intent's parameters use; default all).
    """

    def __init__(self, custom: Mapping[str, tuple[Mapping, list]], language: str, wanted: Iterable[str] | None = None):
        self.language = language
        self.wanted = set(wanted) if wanted is not None else set(custom) | set(EXTRACTED_SYSTEM)
        self.dates = Dates(language)
        self.synonyms: dict[str, dict[str, Any]] = {}  # entity -> folded synonym -> value
        self.regexps: dict[str, list[re.Pattern]] = {}
        for name, (definition, entries) in custom.items():
            if name == POSTCODE_ENTITY:
                continue
            if definition.get("isRegexp"):
                self.regexps[name] = [
                    re.compile(p, re.IGNORECASE) for e in entries for p in [e["value"], *e.get("synonyms", [])]
                ]
                continue
            table = self.synonyms.setdefault(name, {})
            for entry in entries:
                for synonym in [entry["value"], *entry.get("synonyms", [])]:
                    key = words(synonym)
                    if key:
                        table.setdefault(key, entry["value"])
        self.custom_patterns = {
            name: _bounded(
                "(?:"
                + "|".join(
                    r"[^\w']+".join(re.escape(w) for w in key.split(" "))
                    for key in sorted(table, key=len, reverse=True)
                )
                + ")"
            )
            for name, table in self.synonyms.items()
            if table
        }
        self.has_postcode = POSTCODE_ENTITY in custom
        number_words = NUMBER_WORDS["en"] + NUMBER_WORDS.get(language, [])
        self.number_value = {}
        for i, names in enumerate(NUMBER_WORDS["en"]):
            for n in names.split("|"):
                self.number_value[n] = i
        for i, names in enumerate(NUMBER_WORDS.get(language, [])):
            for n in names.split("|"):
                self.number_value[n] = i
        self.number_words = _bounded(f"(?:{_alternation(number_words)})")

    def candidates(self, text: str, now: datetime) -> list[Match]:
        folded = fold(text)
        found: list[Match] = []

        def add(entity, value, start, end):
            found.append(Match(entity, value, start, end, text[start:end]))

        for m in EMAIL.finditer(text):
            add("sys.email", m.group(0), m.start(), m.end())
        if self.has_postcode:
            for m in POSTCODE.finditer(text):
                add(POSTCODE_ENTITY, normal_postcode(m.group(0)), m.start(), m.end())
        for name, patterns in self.regexps.items():
            for pattern in patterns:
                for m in pattern.finditer(text):
                    if m.end() > m.start():
                        add(name, m.group(0), m.start(), m.end())
        for m in PHONE.finditer(text):
            if 10 <= sum(c.isdigit() for c in m.group(0)) <= 13:
                add("sys.phone-number", m.group(0).strip(), m.start(), m.end())
        for start, end, day in self.dates.find(folded, now):
            add("sys.date", date_value(day), start, end)
        for m in NUMBER.finditer(text):
            number = float(m.group(0))
            add("sys.number", int(number) if number.is_integer() else number, m.start(), m.end())
        for m in self.number_words.finditer(folded):
            add("sys.number", self.number_value[" ".join(m.group(0).split())], m.start(), m.end())
        for name, pattern in self.custom_patterns.items():
            table = self.synonyms[name]
            for m in pattern.finditer(folded):
                add(name, table[words(m.group(0))], m.start(), m.end())
        return [m for m in found if m.entity in self.wanted]

    def find(self, text: str, now: datetime, entities: set[str] | None = None) -> list[Match]:
        """Non-overlapping matches, longest first (a postcode's digits are not also a number);
        with ``entities``, only those (as Dialogflow looks only for the matched intent's)."""
        chosen: list[Match] = []
        candidates = [m for m in self.candidates(text, now) if entities is None or m.entity in entities]
        for match in sorted(candidates, key=lambda m: (m.start - m.end, m.start)):
            if all(match.end <= c.start or match.start >= c.end for c in chosen):
                chosen.append(match)
        return sorted(chosen, key=lambda m: m.start)
