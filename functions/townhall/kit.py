"""The handler kit: the small readings every process needs, written once, in English and Welsh.

Pure functions of text (or a ``Turn``) and nothing else: no I/O, no clock, no memory.

    localised({"en": "Bins", "cy": "Biniau"}, "cy") == "Biniau"    # the turn's language, else English
    localised({"en": "Bins"}, "cy") == "Bins";  localised("Bins", "cy") == "Bins"
    with_english("cy") == ("cy", "en");  with_english("en") == ("en",)

    fold("Don't  send, it’s Fly-tipping!") == "dont send its fly tipping"
    fold("Dim un o'r rhain") == "dim un or rhain";  fold("Tŷ") == "ty"

    postcode(turn) == "OX1 1BX"            # from the @uk-postcode parameter, else the words
    postcode_said(turn) == (None, True)    # something was given (or asked for) that is no postcode

    yes_no("yes please") is True;  yes_no("Ie, anfonwch e") is True
    yes_no("hmm no, don't send it after all") is False;  yes_no("na, peidiwch â'i anfon") is False
    yes_no("yes but change the address") is None;  yes_no("what do you mean") is None
    consent(turn) -> True | False | None   # the rule at every confirm step before a side effect

    email(turn) == "jo@example.org"        # @sys.email, else the words ("fy e-bost yw jo@example.org")
    phone(turn) == "07700900123"           # @sys.phone-number, else the words ("+44 7700 900123")
    number(turn) == 3                      # @sys.number, else the words ("tri", "three", "3")

    options = ["1 Demo Road", "2 Demo Road", "Flat 3, 12 Demo Road"]
    pick("the second one", options).index == 1;  pick("yr ail", options).index == 1
    pick("I'm at number 12", options).index == 2;  pick("flat 3", options).index == 2
    pick("2", ["10 Demo Road", "12 Demo Road"]).index == 1      # no house 2 here: the second option
    pick("demo road", options).candidates == (0, 1, 2)         # several fit: ask again with these
    pick("my address isn't there", options) == NONE;  pick("dim un o'r rhain", options) == NONE
    pick("show me more", options) == MORE

Words of both languages are understood whatever the turn's language: residents of Welsh
councils mix them. ``fold`` is the one way text is compared: lower case, accents and apostrophes
dropped ("don't" -> "dont", "o'r" -> "or"), anything else that is not a letter or digit a space.
Word lists compared with folded text must be folded too (``folded``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from townhall import postcodes

# -- text in the turn's language -------------------------------------------------------------------


def localised(value: str | Mapping[str, Any] | None, language: str) -> str | None:
    """A setting's text in ``language``, else English: a plain string is the same in every
    language; a mapping is ``{"en": ..., "cy": ...}``. None (or a mapping with neither) is None."""
    if value is None or isinstance(value, str):
        return value
    return value.get(language) or value.get("en") or None


def with_english(language: str) -> tuple[str, ...]:
    """The languages to look in, in order: the turn's, then English (once)."""
    return (language,) if language == "en" else (language, "en")


# -- folding ---------------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018\u02bc`")
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: Any) -> str:
    """Text as it is compared: case, accents, apostrophes and punctuation folded away."""
    text = unicodedata.normalize("NFKD", str(text or "").casefold()).translate(_APOSTROPHES)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", text).split())


def folded(words: str | Iterable[str]) -> frozenset[str]:
    """A list of words (a string of them, space-separated) or of phrases, folded as ``fold`` folds
    what residents type."""
    if isinstance(words, str):
        words = words.split()
    return frozenset(f for f in (fold(w) for w in words) if f)


def has_phrase(text: str, phrase: str) -> bool:
    """Whether folded ``text`` holds folded ``phrase`` as whole words."""
    return bool(phrase) and f" {phrase} " in f" {text} "


# -- postcodes -------------------------------------------------------------------------------------


def postcode(turn: Any) -> str | None:
    """The postcode the resident gave this turn (the ``postcode`` parameter, else their words),
    in standard form ("OX1 1BX"), or None."""
    return postcodes.said(turn.param("postcode"), turn.query_text)[0]


def postcode_said(turn: Any) -> tuple[str | None, bool]:
    """(the postcode given, whether the resident gave anything meant as one): ``(None, True)``
    when something that is no postcode was given, or the turn is the process's answer to "what's
    your postcode?" (action ``postcode``): answer with format help rather than asking again."""
    found, given = postcodes.said(turn.param("postcode"), turn.query_text)
    return found, given or turn.action == "postcode"


# -- system entities: the parameter, else the resident's own words ---------------------------------
# Dialogflow may not extract @sys.email, @sys.phone-number or @sys.number from Welsh text (or from
# an English phrase it was not trained on): these readings take the value from the parameter when
# there is one, else find it in what the resident typed.

_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+'-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\d+])(?:\+\s?44|0044|\(?0)[\d\s().-]{8,16}\d(?!\d)")


def email(turn: Any) -> str | None:
    """The email address given this turn (the ``email`` parameter, else the words), or None."""
    given = turn.param("email")
    for text in (given if isinstance(given, str) else "", turn.query_text or ""):
        found = _EMAIL.search(text)
        if found:
            return found.group(0).rstrip(".")
    return None


def _uk_phone(text: str) -> str | None:
    for found in _PHONE.finditer(text or ""):
        digits = re.sub(r"\D", "", found.group(0))
        if digits.startswith("0044"):
            digits = "0" + digits[4:]
        elif digits.startswith("44") and found.group(0).lstrip().startswith("+"):
            digits = "0" + digits[2:]
        if digits.startswith("0") and len(digits) in (10, 11):
            return digits
    return None


def phone(turn: Any) -> str | None:
    """The UK phone number given this turn (the ``phone`` parameter, else the words), as digits
    from 0 ("07700900123"; "+44 7700 900123", "(01865) 249 811", "07700-900-123"), or None."""
    given = turn.param("phone")
    return _uk_phone(given if isinstance(given, str) else str(given or "")) or _uk_phone(turn.query_text)


def number(turn: Any, name: str = "number") -> int | None:
    """A whole number given this turn: the parameter ``name`` (Dialogflow gives 3.0), else the
    first number in the words, in digits or as an English or Welsh number word ("three",
    "tri", "deuddeg"), or None."""
    given = turn.param(name)
    if isinstance(given, (int, float)) and not isinstance(given, bool) and float(given).is_integer():
        return int(given)
    if isinstance(given, str) and given.strip().isdigit():
        return int(given.strip())
    for word in fold(turn.query_text).split():
        if word.isdigit():
            return int(word)
        if word in _NUMBERS:
            return int(_NUMBERS[word])
        if word in ("one", "un"):
            return 1
    return None


# -- yes and no ------------------------------------------------------------------------------------

_YES = folded(
    "yes yeah yep yup yea ya yah yass aye ok okay okey okie sure correct right fine confirm confirmed send "
    "submit proceed absolutely definitely certainly please agreed agree perfect great lovely brilliant "
    "ie ia iawn ydy ydi ydw yndi ydyn ydan ydym cywir anfon anfonwch anfona gyrra gyrrwch gwnewch gwna "
    "siwr grêt perffaith bendant plis yh ye yeh yas grand iep"
)
_YES_PHRASES = folded(
    [
        "go ahead",
        "go for it",
        "go on",
        "go on then",
        "bang on",
        "do it",
        "please do",
        "yes do",
        "will do",
        "can do",
        "sounds good",
        "looks good",
        "all good",
        "spot on",
        "of course",
        "why not",
        "no problem",
        "no problems",
        "not a problem",
        "no worries",
        "no bother",
        "no doubt",
        "thats it",
        "that is it",
        "ewch amdani",
        "cer amdani",
        "wrth gwrs",
        "dim problem",
        "dim prob",
        "dim probs",
        "dim problem o gwbl",
        "mae'n iawn",
        "popeth yn iawn",
        "do diolch",
        "do plis",
        "do wir",
        "rhowch wybod",
        "rho wybod",
        "report it",
        "log it",
    ]
)
_NO = folded(
    "no nope nah naw nay not dont doesnt didnt isnt wont wouldnt shouldnt cant cannot aint arent wasnt "
    "werent havent hasnt mustnt never cancel stop abort none nothing wrong incorrect skip "
    "na nac naddo nage nid ddim dim peidiwch paid peidio anghywir canslo stopio hepgor sgipio"
)
_NO_PHRASES = folded(
    [
        "changed my mind",
        "change my mind",
        "never mind",
        "nevermind",
        "forget it",
        "leave it",
        "no way",
        "not yet",
        "not now",
        "wedi newid fy meddwl",
        "newid fy meddwl",
        "dim diolch",
        "na diolch",
        "ddim eto",
        "dim eto",
        "gad e",
        "gad hi",
        "gadewch e",
        "gadewch hi",
        "gad o",
        "gadael e",
        "gadael hi",
        "ar ol meddwl",
        "thinking about it",
        "on second thoughts",
        "second thoughts",
        "hold off",
        "rather not",
        "id rather not",
    ]
)
_THANKS = folded("cheers ta sound thanks thank diolch diolchyn")  # thanks, not a yes
_UNSURE_PHRASES = folded(
    [
        "not sure",
        "dont know",
        "do not know",
        "i dont mind",
        "dont mind",
        "not bothered",
        "hold on",
        "hang on",
        "dim ots",
        "dwn i ddim",
        "wn i ddim",
        "ddim yn siwr",
        "dwi ddim yn siwr",
        "sain siwr",
        "sai n siwr",
        "dim syniad",
        "no idea",
    ]
)
_NEUTRAL_PHRASES = folded(["dim ond", "nothing else", "not only"])  # "only", not a no
_UNSURE = folded(
    "maybe perhaps possibly dunno unsure wait but except although though however unless "
    "efallai falle hwyrach ond heblaw arhoswch arhosa aros"
)
_QUESTION = folded(  # first words of a question, not an answer
    "what why how who which when where whats hows is are can could would should does did shall "
    "pam beth sut pwy pryd ble pa"
)
_LEAD = folded("hmm hm oh ah well um umm erm er so then and thats that is its it wel o")  # before a yes
_YES_LONG = re.compile(r"\by+e+s+\b")
_NO_LONG = re.compile(r"\bn+o+\b")
_SAID_YES = "+yes+"  # stands for a yes phrase (fold never makes a "+")
_SHORT_YES = frozenset({"y", "k", "kk", "do"})  # "y" only in English, "do" (Welsh yes) not in English
_SHORT_NO = frozenset({"n"})


def yes_no(answer: Any, language: str | None = None) -> bool | None:
    """True for a clear yes, False for any no, None when unclear (ask again: never act on None).

    ``answer`` is the resident's text or a ``Turn`` (its words and language). Any negation makes
    it a no ("hmm no, don't send it after all", "wait, don't send it yet", "nac ydw", "paid"),
    except in phrases that mean yes ("no problem", "dim problem", "why not"). A yes must lead the
    answer ("yes please", "ok send it", "that's right", "Ie, anfonwch e"): "the light is right by
    number 5" is no yes. A hedged yes ("yes but...", "maybe", "hold on") or a question ("is that
    right?") is unclear. One letter alone counts only in English ("y", "n"); Welsh "y" is "the".
    """
    if not isinstance(answer, str):
        language = language or answer.language
        answer = answer.query_text
    text = fold(answer)
    if not text:
        return None
    if text in _SHORT_YES and not (text == "y" and language == "cy") and not (text == "do" and language == "en"):
        return True
    if text in _SHORT_NO:
        return False
    text = _YES_LONG.sub("yes", _NO_LONG.sub("no", text))  # "yesss", "nooo"
    padded, unsure = f" {text} ", False
    for phrase in _NEUTRAL_PHRASES:
        padded = padded.replace(f" {phrase} ", " ")
    for phrase in _UNSURE_PHRASES:
        if f" {phrase} " in padded:
            padded, unsure = padded.replace(f" {phrase} ", " "), True
    for phrase in _YES_PHRASES:
        padded = padded.replace(f" {phrase} ", f" {_SAID_YES} ")
    words = padded.split()
    if any(has_phrase(padded, phrase) for phrase in _NO_PHRASES) or any(w in _NO for w in words):
        return False
    if unsure or not words or words[0] in _QUESTION or any(w in _UNSURE for w in words):
        return None
    lead = next((w for w in words if w not in _LEAD and w not in _THANKS), None)
    return True if lead == _SAID_YES or lead in _YES else None


def consent(turn: Any) -> bool | None:
    """The one rule for every confirm step before a side effect (sending a report, an email, a
    payment): True only for an unambiguous yes with no negation anywhere; False for a refusal, a
    negation or a change of mind anywhere in the words ("hmm no, don't send it after all", "wait,
    don't send it yet", "actually leave it", "na, peidiwch â'i anfon", "gad e", "ddim eto");
    None when unclear (ask again, offering both quick replies; never act on None).

    The words decide, whatever intent Dialogflow matched: a confirm intent whose words carry a
    negation is a decline. Thanks ("ta", "cheers", "sound", "diolch") are no yes, and bare "do"
    (Welsh "yes") is no yes in an English turn. ``turn`` is a ``Turn`` or the text itself."""
    return yes_no(turn)


# -- the picker ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    """What the resident picked from a list: one option (``index``), several that fit their words
    (``candidates``: ask again with these), none of them (``none``), the next page (``more``), or
    nothing understood (all empty)."""

    index: int | None = None
    candidates: tuple[int, ...] = ()
    none: bool = False
    more: bool = False


NONE = Pick(none=True)
MORE = Pick(more=True)
NOTHING = Pick()

_ORDINALS = {
    **dict.fromkeys(("first", "1st", "top", "cyntaf", "gyntaf", "1af"), 0),
    **dict.fromkeys(("second", "2nd", "ail", "2il"), 1),
    **dict.fromkeys(("third", "3rd", "trydydd", "drydydd", "trydedd", "drydedd", "3ydd", "3edd"), 2),
    **dict.fromkeys(("fourth", "4th", "pedwerydd", "bedwerydd", "pedwaredd", "bedwaredd", "4ydd", "4edd"), 3),
    **dict.fromkeys(("fifth", "5th", "pumed", "bumed", "5ed"), 4),
    **dict.fromkeys(("sixth", "6th", "chweched", "6ed"), 5),
    **dict.fromkeys(("seventh", "7th", "seithfed", "7fed"), 6),
    **dict.fromkeys(("eighth", "8th", "wythfed", "8fed"), 7),
    **dict.fromkeys(("ninth", "9th", "nawfed", "9fed"), 8),
    **dict.fromkeys(("tenth", "10th", "degfed", "10fed"), 9),
    **dict.fromkeys(("last", "bottom", "final", "olaf"), -1),
}
_BEFORE_LAST = folded(["second last", "second to last", "last but one", "penultimate", "olaf ond un"])
_FROM_THE_END = folded(["from the bottom", "from bottom", "from the end", "o'r gwaelod", "o'r diwedd"])
_FROM_THE_START = folded(["from the top", "from top", "down", "o'r top", "o'r brig"])
# English number words by value (the simulator's number entity reads the same list).
ENGLISH_NUMBERS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
)
_NUMBERS = {
    **{w: str(n) for n, w in enumerate(ENGLISH_NUMBERS) if n >= 2},
    **dict.fromkeys(("dau", "dwy"), "2"),
    **dict.fromkeys(("tri", "tair"), "3"),
    **dict.fromkeys(("pedwar", "pedair"), "4"),
    **dict.fromkeys(("pump", "pum"), "5"),
    "chwech": "6",
    "saith": "7",
    "wyth": "8",
    "naw": "9",
    "deg": "10",
    "deuddeg": "12",
    "pymtheg": "15",
    "deunaw": "18",
    "ugain": "20",
}
_SAME_WORD = {  # street abbreviations spelt out; Welsh "fflat" is a flat
    "fflat": "flat",
    "rd": "road",
    "st": "street",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "dr": "drive",
    "cl": "close",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "cres": "crescent",
    "gdns": "gardens",
    "tce": "terrace",
    "terr": "terrace",
    "pk": "park",
    "apt": "apartment",
}
_FLAT_WORDS = frozenset({"flat", "apartment", "unit", "room", "suite", "uned", "ystafell"})
# Words around a choice that say nothing about which: "it's number 12", "dwi'n byw yn rhif 12".
_FILLER = folded(
    "i im am at live living lives in on the my address its it is number no num house home please pls thanks "
    "thank you ta that thats this one mine we were our ive got me id ill take want pick choose choice go with "
    "for from list option yes yeah ok okay oh um erm hmm so "
    "rhif dwi rwy rydw rwyn dwin yn byw fy nghyfeiriad cyfeiriad yw ydy mae diolch plis ty tyr un yr y "
    "hwnnw hwn honno hon ar rhestr opsiwn dewis ni ein ie iawn"
)
# Words that may stand before an option's number: "2", "option 2", "number 2", "rhif 2".
_NUMBER_LEAD = folded("option number no num choice rhif opsiwn dewis the")
_NONE_PHRASES = folded(
    [
        "none",
        "none of these",
        "none of them",
        "none of those",
        "neither",
        "not listed",
        "isnt listed",
        "not on the list",
        "isnt on the list",
        "not in the list",
        "isnt in the list",
        "not there",
        "isnt there",
        "not here",
        "isnt here",
        "not shown",
        "isnt shown",
        "cant see it",
        "cant see mine",
        "cannot see it",
        "dont see it",
        "dont see mine",
        "cant find it",
        "cant find mine",
        "not one of these",
        "not one of them",
        "missing",
        "not any of these",
        "not any of them",
        "something else",
        "dim un o'r rhain",
        "dim un ohonyn nhw",
        "dim un ohonynt",
        "dim un",
        "nid yr un o'r rhain",
        "dim yr un",
        "ddim yma",
        "dim yma",
        "ddim ar y rhestr",
        "dim ar y rhestr",
        "ddim yn y rhestr",
        "ddim yno",
        "dim yno",
        "ddim yn gweld",
        "methu gweld",
        "methu ffeindio",
        "rhywbeth arall",
        "ar goll",
    ]
)
_NEGATION = folded("not isnt cant cannot dont doesnt aint ddim dim methu")
_UNSEEN = folded("see find listed list there here shown showing gweld ffeindio rhestr yma yna yno")
_MORE = folded("more next others other another rhagor mwy nesaf eraill")
_MORE_AROUND = folded(
    "show see me page addresses address options some any the please pls can i have give list "
    "dangos gweld y dudalen tudalen cyfeiriadau gyfeiriadau opsiynau o plis ga i"
)


def _tokens(text: str) -> list[str]:
    """Folded words, with number words as digits and street abbreviations spelt out."""
    return [_SAME_WORD.get(w, _NUMBERS.get(w, w)) for w in fold(text).split()]


def _holds(label: list[str], run: list[str]) -> bool:
    """Whether ``run`` appears in ``label`` as neighbouring words."""
    n = len(run)
    return any(label[i : i + n] == run for i in range(len(label) - n + 1))


def _found(indices: list[int]) -> Pick:
    if len(indices) == 1:
        return Pick(index=indices[0])
    return Pick(candidates=tuple(indices)) if indices else NOTHING


def _by_position(position: int, shown: Sequence[int]) -> Pick:
    if -len(shown) <= position < len(shown):
        return Pick(index=shown[position])
    return NOTHING


def _ordinal(words: list[str], text: str) -> int | None:
    """The position an ordinal says ("the second one", "yr ail", "2nd", "last", "third from the
    bottom"), when the other words say nothing else."""
    if any(has_phrase(text, p) for p in _BEFORE_LAST):
        return -2
    from_end = any(has_phrase(text, p) for p in _FROM_THE_END)
    for phrase in (*_FROM_THE_END, *_FROM_THE_START):
        text = f" {text} ".replace(f" {phrase} ", " ").strip()
    words = text.split()
    said = {_ORDINALS[w] for w in words if w in _ORDINALS}
    if len(said) != 1 or not all(w in _ORDINALS or w in _FILLER for w in words):
        return None
    position = said.pop()
    return -1 - position if from_end and position >= 0 else position


def _house_number(number: str, labels: list[list[str]]) -> list[int]:
    """The options with ``number`` as their house number, else as any number (a flat's)."""
    house = [
        i
        for i, label in enumerate(labels)
        if any(w == number and (j == 0 or label[j - 1] not in _FLAT_WORDS) for j, w in enumerate(label))
    ]
    return house or [i for i, label in enumerate(labels) if number in label]


def pick(text: str, options: Sequence[str], *, shown: Sequence[int] | None = None, filler: Iterable[str] = ()) -> Pick:
    """Which of ``options`` (as the resident saw them) the resident's words pick.

    In order: an option typed (or tapped) in full; "none of these" (``NONE``); "more" (``MORE``);
    an ordinal ("the second one", "yr ail un", "2nd", "last"); a house or flat number alone ("12",
    "I'm at number 12", "rhif 12"), else an option's own number ("2", "option 2"); the words of
    options, neighbouring first ("flat 3" is "Flat 3, 12 Demo Road", not "Flat 1, 3 Demo Road"),
    then anywhere in the option; last, one whole option inside more words ("12 Demo Road, Oxford").
    ``shown``: the options on screen, in order (positions count in these; default all).
    ``filler``: more words to ignore, besides the kit's own.
    """
    said = _tokens(text)
    if not said:
        return NOTHING
    labels = [_tokens(option) for option in options]
    exact = [i for i, label in enumerate(labels) if label == said]
    if exact:
        return _found(exact)
    joined = " ".join(said)
    if any(has_phrase(joined, phrase) for phrase in _NONE_PHRASES) or (
        any(w in _NEGATION for w in said) and any(w in _UNSEEN for w in said)
    ):
        return NONE
    if any(w in _MORE for w in said) and all(w in _MORE or w in _MORE_AROUND for w in said):
        return MORE
    shown = list(range(len(options))) if shown is None else list(shown)
    position = _ordinal(said, joined)
    if position is not None:
        return _by_position(position, shown)
    ignore = _FILLER | folded(filler)
    meant = [w for w in said if w not in ignore]
    if len(meant) == 1 and meant[0][:1].isdigit():
        found = _house_number(meant[0], labels)
        if found:
            return _found(found)
        number = said[-1]
        if number.isdigit() and int(number) > 0 and all(w in _NUMBER_LEAD for w in said[:-1]):
            return _by_position(int(number) - 1, shown)  # "2", "option 2": the option's own number
        return NOTHING
    for words in (said, meant):
        if words:
            found = [i for i, label in enumerate(labels) if _holds(label, words)]
            if found:
                return _found(found)
    wanted = set(meant)
    found = [i for i, label in enumerate(labels) if wanted and wanted <= set(label)]
    if found:
        return _found(found)
    whole = [i for i, label in enumerate(labels) if label and _holds(said, label)]  # "12 Demo Road, Oxford"
    return Pick(index=whole[0]) if len(whole) == 1 else NOTHING
