"""Rewrite what is made from services.py: the lgsl-service entity entries and schema.json's code lists.

    .venv/bin/python library/signpost/generate.py

A maintainers' tool, not part of the webhook (the handler does not import it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __package__:  # imported (tests): townhall_processes.signpost.generate
    from . import services as catalogue
else:  # run as a script
    sys.path.insert(0, str(HERE))
    import services as catalogue  # noqa: E402


def schema_with_codes(schema: dict, source=catalogue) -> dict:
    """``schema`` with the code lists of ``services`` and ``county.services`` set from services.py."""
    out = json.loads(json.dumps(schema))
    page = {"$ref": "#/$defs/page"}
    out["properties"]["services"]["properties"] = {s.code: page for s in source.services()}
    out["properties"]["county"]["properties"]["services"]["properties"] = {c: page for c in source.county_codes()}
    return out


def _write(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> int:
    wrong = catalogue.problems()
    if wrong:
        print("\n".join(f"library/signpost/services.py: {w}" for w in wrong), file=sys.stderr)
        return 1
    for language in catalogue.LANGUAGES:
        _write(HERE / "entities" / f"lgsl-service_entries_{language}.json", catalogue.entity_entries(language))
    schema_path = HERE / "schema.json"
    _write(schema_path, schema_with_codes(json.loads(schema_path.read_text(encoding="utf-8"))))
    print(f"{len(catalogue.services())} services: entities and schema.json rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
