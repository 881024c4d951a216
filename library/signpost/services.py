"""signpost's service list: ``services.yaml`` (LGSL code, tier, names, what residents call it).

The files made from it are shipped, not built at run time, so that they can be read and reviewed:
``entities/lgsl-service_entries_<lang>.json`` (the ``lgsl-service`` entity: value = LGSL code,
synonyms = the service's words) and the code lists of ``schema.json`` (which codes a council may
configure, and which a county may). After editing ``services.yaml`` rewrite them with

    .venv/bin/python library/signpost/services.py

(``tests/test_services.py`` fails while they are out of date).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from townhall.yamlio import load_yaml

HERE = Path(__file__).resolve().parent
TIERS = ("district", "county", "all")
LANGUAGES = ("en", "cy")
COUNTY_TIERS = ("county", "all")  # the services a two-tier county (or any tier) provides


@dataclass(frozen=True)
class Service:
    lgsl: int
    label: str  # the ESD label when the code was added (maintainers only)
    tier: str  # district, county or all
    name: dict  # {en, cy}
    words: dict  # {en: [...], cy: [...]}

    @property
    def code(self) -> str:
        """The code as settings key it: a string ("487")."""
        return str(self.lgsl)


class ServiceListError(Exception):
    """services.yaml is not as described at its top; the message says where and how."""


@cache
def services() -> tuple[Service, ...]:
    """Every service of services.yaml, in its order (checked)."""
    data = load_yaml(HERE / "services.yaml")
    found, seen = [], set()
    for i, row in enumerate(data.get("services") or []):
        where = f"services.yaml: services[{i}]"
        if not isinstance(row.get("lgsl"), int) or row["lgsl"] <= 0:
            raise ServiceListError(f"{where}: lgsl must be a positive whole number (the LGSL code)")
        if row["lgsl"] in seen:
            raise ServiceListError(f"{where}: LGSL {row['lgsl']} is listed twice; keep one entry per code")
        seen.add(row["lgsl"])
        if row.get("tier") not in TIERS:
            raise ServiceListError(f"{where}: tier must be one of {', '.join(TIERS)}")
        for key in ("name", "words"):
            if not all(row.get(key, {}).get(lang) for lang in LANGUAGES):
                raise ServiceListError(f"{where}: {key} needs both en and cy")
        found.append(Service(row["lgsl"], row.get("label", ""), row["tier"], row["name"], row["words"]))
    return tuple(found)


def by_code() -> dict[str, Service]:
    return {s.code: s for s in services()}


def entity_entries(language: str) -> list[dict]:
    """The lgsl-service entity's entries in ``language``: value = code, synonyms = the words."""
    return [{"value": s.code, "synonyms": list(dict.fromkeys(s.words[language]))} for s in services()]


def county_codes() -> list[str]:
    return [s.code for s in services() if s.tier in COUNTY_TIERS]


def schema_with_codes(schema: dict) -> dict:
    """``schema`` with the code lists of ``services`` and ``county.services`` set from services.yaml."""
    out = json.loads(json.dumps(schema))
    page = {"$ref": "#/$defs/page"}
    out["properties"]["services"]["properties"] = {s.code: page for s in services()}
    out["properties"]["county"]["properties"]["services"]["properties"] = {code: page for code in county_codes()}
    return out


def _write(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    for language in LANGUAGES:
        _write(HERE / "entities" / f"lgsl-service_entries_{language}.json", entity_entries(language))
    schema_path = HERE / "schema.json"
    _write(schema_path, schema_with_codes(json.loads(schema_path.read_text(encoding="utf-8"))))
    print(f"{len(services())} services: entities and schema.json rewritten")


if __name__ == "__main__":
    main()
