"""UK bank holidays from a GOV.UK snapshot, for every process that plans around them.

    bank_holidays("england-and-wales")[date(2026, 12, 25)] == "Christmas Day"

``data/bank-holidays.json`` is a snapshot of https://www.gov.uk/bank-holidays.json (2025 to 2027,
taken 2026-11-26). Refresh it each year, before the last year it holds begins:

    curl -s https://www.gov.uk/bank-holidays.json > functions/townhall/data/bank-holidays.json

Titles are GOV.UK's, in English; processes name them in Welsh from their own messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("data") / "bank-holidays.json"
DIVISIONS = ("england-and-wales", "scotland", "northern-ireland")


@cache
def bank_holidays(division: str) -> Mapping[date, str]:
    """The bank holidays of a GOV.UK division (england-and-wales, scotland, northern-ireland)."""
    if division not in DIVISIONS:
        raise ValueError(f"unknown bank holiday division {division!r}; one of {', '.join(DIVISIONS)}")
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return {date.fromisoformat(e["date"]): e["title"] for e in data[division]["events"]}
