"""Reading a council tax account number and an amount from what the resident typed.

Dialogflow's parameters are only hints here: ``@sys.number`` happily reads an account number as an
amount, and a council's account number format is its own (``payments.account_reference.pattern``).
So the resident's words are read first:

- an amount is money said as money: "£120.50", "120 pounds", "50 quid", "75 punt", "80p";
- an account number is one to three neighbouring words that together match the council's pattern
  ("12345678", "1234 5678", "CT 1234567"), never a span already read as money;
- a bare number ("120") is an amount only when the bot has just asked for one (or for a
  correction), when an account number was given in the same breath ("12345678 120"), or when it
  has pence ("120.50").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .money import in_range, to_pence

NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
CURRENCY_WORDS = r"pounds?|quid|gbp|punt|bunt|phunt|punnoedd|bunnoedd|phunnoedd"
MONEY = re.compile(
    rf"£\s*(?P<pounds>{NUMBER})"
    rf"|(?<![\w.,])(?P<worded>{NUMBER})\s*(?:{CURRENCY_WORDS})\b"
    rf"|(?<![\w.,£])(?P<pence>\d{{1,3}})\s*(?:p|pence|ceiniog)\b",
    re.IGNORECASE,
)
BARE = re.compile(rf"(?<![\w.,£])(?P<number>{NUMBER})(?![\w,]|\.\d)")
WORD = re.compile(r"[A-Za-z0-9]+")
JOINERS = re.compile(r"^[ \-/]{1,3}$")  # what may separate the parts of one account number
MAX_WORDS = 3


@dataclass(frozen=True)
class Details:
    """What one message gave. ``account_problem``: something that looked like an account number
    but does not match the council's format. ``amount_problem``: "format" (not pounds and pence)
    or "range" (outside what GOV.UK Pay takes)."""

    account: str | None = None
    amount: int | None = None  # pence
    account_problem: bool = False
    amount_problem: str | None = None

    @property
    def empty(self) -> bool:
        return self.account is None and self.amount is None and not self.account_problem and self.amount_problem is None


def _spans_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _amount(text: str) -> tuple[int | None, str | None]:
    try:
        pence = to_pence(text)
    except ValueError:
        return None, "format"
    return (pence, None) if in_range(pence) else (None, "range")


def find_account(
    text: str, pattern: re.Pattern, taken: list[tuple[int, int]] = ()
) -> tuple[str, tuple[int, int]] | None:
    """The first run of 1-3 neighbouring words matching the council's account number format."""
    words = [m for m in WORD.finditer(text) if not any(_spans_overlap(m.span(), t) for t in taken)]
    for size in range(MAX_WORDS, 0, -1):  # "1234 5678" before "1234"
        for i in range(len(words) - size + 1):
            run = words[i : i + size]
            if any(not JOINERS.match(text[a.end() : b.start()]) for a, b in zip(run, run[1:])):
                continue
            raw = text[run[0].start() : run[-1].end()]
            if not any(c.isdigit() for c in raw):
                continue
            joined = "".join(w.group(0) for w in run)
            for candidate in (raw, joined, joined.upper(), raw.upper()):
                if pattern.fullmatch(candidate):
                    return candidate, (run[0].start(), run[-1].end())
    return None


def _param_account(value: Any, pattern: re.Pattern) -> str | None:
    if not isinstance(value, str):
        return None
    for candidate in (value.strip(), value.strip().upper(), re.sub(r"[\s-]", "", value).upper()):
        if candidate and pattern.fullmatch(candidate):
            return candidate
    return None


def _param_amount(value: Any) -> Any:
    if isinstance(value, Mapping):  # @sys.unit-currency: {"amount": 12.5, "currency": "GBP"}
        return value.get("amount")
    return value


def read(text: str, parameters: Mapping[str, Any], pattern: re.Pattern, expecting: str | None) -> Details:
    """The account number and amount in one message (``expecting``: what the bot last asked for:
    ``account``, ``amount``, ``confirm``, ``change`` (either) or None)."""
    text = text or ""
    amount, amount_problem = None, None
    taken: list[tuple[int, int]] = []
    for m in MONEY.finditer(text):
        taken.append(m.span())
        if amount is None and amount_problem is None:
            if m.group("pence"):
                pence = int(m.group("pence"))
                amount, amount_problem = (pence, None) if in_range(pence) else (None, "range")
            else:
                amount, amount_problem = _amount(m.group("pounds") or m.group("worded"))

    account = None
    found = find_account(text, pattern, taken)
    if found:
        account, span = found
        taken.append(span)
    else:
        account = _param_account(parameters.get("account"), pattern)

    if amount is None and amount_problem is None:
        for m in BARE.finditer(text):
            pence_given = re.search(r"\.\d\d$", m.group("number")) is not None  # "120.50" is money
            if (expecting in ("amount", "change") or found or pence_given) and not any(
                _spans_overlap(m.span(), t) for t in taken
            ):
                amount, amount_problem = _amount(m.group("number"))
                taken.append(m.span())
                break

    if amount is None and amount_problem is None and not any(c.isdigit() for c in text):
        given = _param_amount(parameters.get("amount"))
        if isinstance(given, (int, float, str)) and not isinstance(given, bool) and str(given).strip():
            amount, amount_problem = _amount(str(given))

    account_problem = False
    if account is None:
        leftover = [
            m.group(0)
            for m in WORD.finditer(text)
            if any(c.isdigit() for c in m.group(0)) and not any(_spans_overlap(m.span(), t) for t in taken)
        ]
        if leftover and (
            expecting in (None, "account", "confirm") or any(sum(c.isdigit() for c in w) >= 5 for w in leftover)
        ):
            account_problem = True
        elif leftover and expecting == "amount" and amount is None and amount_problem is None:
            amount_problem = "format"
    return Details(account, amount, account_problem, amount_problem)
