"""What the bins settings' schema cannot say, for each bin process's ``checks.py`` (texts in every
language the council offers are the schema's bilingual rule, not a check here).

    def check(settings, languages):
        return settings_problems(settings, languages)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Problem = tuple[str, str]


def _source_bins(source: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, rule in enumerate(source.get("types") or []):
        yield f"source.types[{i}].bin", rule["bin"]
    for r, round_ in enumerate(source.get("rounds") or []):
        for c, item in enumerate(round_["collections"]):
            yield f"source.rounds[{r}].collections[{c}].bin", item["bin"]


def _rounds(settings: Mapping[str, Any]) -> list[Problem]:
    source, addresses = settings["source"], settings.get("addresses")
    problems: list[Problem] = []
    ids: set[str] = set()
    for i, round_ in enumerate(source["rounds"]):
        if round_["id"] in ids:
            problems.append((f"source.rounds[{i}].id", f"{round_['id']!r} is used by another round"))
        ids.add(round_["id"])
    assign = source.get("assign") or {}
    for table in ("streets", "postcodes"):
        for key, value in (assign.get(table) or {}).items():
            if value not in ids:
                problems.append((f"source.assign.{table}.{key}", f"{value!r} is not the id of a round"))
    for i, item in enumerate(source.get("exceptions") or []):
        if item.get("round") is not None and item["round"] not in ids:
            problems.append((f"source.exceptions[{i}].round", f"{item['round']!r} is not the id of a round"))
        if item["moved_to"] == item["date"]:
            problems.append((f"source.exceptions[{i}].moved_to", "is the same day as date"))
    if addresses is None and not assign.get("postcodes"):
        problems.append(
            ("source.assign.postcodes", "without an address service, say which round each postcode is on here")
        )
    if addresses is not None and addresses["type"] == "os_places" and not assign:
        problems.append(("source.assign", "OS Places gives no round: say which round streets or postcodes are on"))
    if addresses is not None and addresses["type"] == "table":
        for i, prop in enumerate(addresses["properties"]):
            if prop.get("round") is not None and prop["round"] not in ids:
                problems.append((f"addresses.properties[{i}].round", f"{prop['round']!r} is not the id of a round"))
    return problems


def settings_problems(settings: Mapping[str, Any], languages: list[str]) -> list[Problem]:
    """Problems with a bin process's ``addresses``, ``source`` and ``bins`` settings."""
    problems: list[Problem] = []
    source, addresses, bins = settings["source"], settings.get("addresses"), settings["bins"]
    for path, kind in _source_bins(source):
        if kind not in bins:
            problems.append((path, f"{kind!r} is not one of the bins under 'bins'; add it there or drop this"))
    if source["type"] == "rounds":
        problems += _rounds(settings)
    elif "{uprn}" in source["url"] and addresses is None:
        problems.append(("addresses", "the source's URL needs a {uprn}: say where addresses come from"))
    if source["type"] == "json" and source["date_format"] != "iso" and "%" not in source["date_format"]:
        problems.append(("source.date_format", "write a strptime format such as '%d/%m/%Y', or 'iso'"))
    if addresses is not None and addresses["type"] == "table" and "{uprn}" in source.get("url", ""):
        for i, prop in enumerate(addresses["properties"]):
            if "uprn" not in prop:
                problems.append(
                    (f"addresses.properties[{i}].uprn", "the source's URL needs a {uprn} for every property")
                )
    return problems
