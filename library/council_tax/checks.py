"""council_tax: checks beyond the schema, run wherever tenant settings are validated (texts in every
language the council offers are the schema's bilingual rule)."""

from __future__ import annotations

import re

from .money import to_pence

BANDS = {"england": "ABCDEFGH", "scotland": "ABCDEFGH", "wales": "ABCDEFGHI"}
FIREWALL = set('<>"\\|')  # characters GOV.UK Pay's firewall refuses (error P0920)


def nation(settings: dict, languages: list[str]) -> str:
    """The nation whose bands apply: the setting, else Wales for a council offering Welsh."""
    return settings.get("nation") or ("wales" if "cy" in languages else "england")


def _bands(settings: dict, languages: list[str]) -> list[tuple[str, str]]:
    problems = []
    where = nation(settings, languages)
    expected = BANDS[where]
    bands = settings.get("bands", {})
    missing = [b for b in expected if b not in bands]
    extra = sorted(b for b in bands if b not in expected)
    if missing:
        problems.append(
            (
                "bands",
                f"missing band {', '.join(missing)}: councils in {where.title()} "
                f"charge bands {expected[0]} to {expected[-1]}",
            )
        )
    for band in extra:
        problems.append(
            (
                f"bands.{band}",
                f"{where.title()} has no band {band} (bands {expected[0]} to {expected[-1]}); remove it or set nation",
            )
        )
    previous = None
    for band in expected:
        if band not in bands:
            continue
        try:
            charge = to_pence(bands[band])
        except ValueError as e:
            problems.append((f"bands.{band}", f'{e}; write pounds and pence such as "2345.67"'))
            continue
        if charge <= 0:
            problems.append((f"bands.{band}", "must be more than 0"))
        if previous is not None and charge <= previous[1]:
            problems.append(
                (f"bands.{band}", f"must be more than band {previous[0]}: each band costs more than the one before")
            )
        previous = (band, charge)
    return problems


def _payments(payments: dict, languages: list[str]) -> list[tuple[str, str]]:
    problems = []
    for language, text in (payments.get("description") or {}).items():
        if len(text) > 255:
            problems.append((f"payments.description.{language}", "GOV.UK Pay takes at most 255 characters"))
        if FIREWALL & set(text):
            problems.append((f"payments.description.{language}", 'GOV.UK Pay refuses < > " \\ and |; remove them'))
    reference = payments.get("account_reference")
    if reference:
        try:
            pattern = re.compile(reference["pattern"])
        except re.error as e:
            return problems + [("payments.account_reference.pattern", f"not a regular expression: {e}")]
        if pattern.fullmatch(""):
            problems.append(
                ("payments.account_reference.pattern", "matches an empty account number; describe the real format")
            )
        if not pattern.fullmatch(reference["example"]):
            problems.append(
                ("payments.account_reference.example", f"{reference['example']!r} does not match the pattern")
            )
        if FIREWALL & set(reference["example"]) or re.search(r"https?:|www\.", reference["example"], re.I):
            problems.append(
                ("payments.account_reference.example", "an account number GOV.UK Pay would refuse as a reference")
            )
    return problems


def check(settings: dict, languages: list[str]) -> list[tuple[str, str]]:
    problems = _bands(settings, languages)
    seen: set[str] = set()
    for i, discount in enumerate(settings.get("discounts", [])):
        if discount["id"] in seen:
            problems.append((f"discounts[{i}].id", f"{discount['id']!r} is used by another discount"))
        seen.add(discount["id"])
        for language, title in discount["title"].items():
            if len(title) > 60:
                problems.append((f"discounts[{i}].title.{language}", "at most 60 characters: it is shown as a button"))
    problems += _payments(settings.get("payments", {}), languages)
    return problems
