"""Keep the bins settings blocks identical in every process schema that uses them.

``settings.schema.json`` here holds the ``$defs`` (named ``bins.*``) of the settings both bin
processes share. Each process's ``schema.json`` carries a copy, so a process folder stays a
self-contained, readable schema. After editing the fragment, copy it into every schema that uses it:

    .venv/bin/python -m townhall_tools.binschema --write

Without ``--write`` it lists the schemas whose copy differs (exit 1), as tests/test_bins_schema.py does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FRAGMENT = Path(__import__("townhall.upstreams.bins").upstreams.bins.__file__).with_name("settings.schema.json")
PREFIX = "bins."


def shared_defs() -> dict:
    return json.loads(FRAGMENT.read_text(encoding="utf-8"))["$defs"]


def users(library: Path) -> list[Path]:
    """Every process schema that defines any ``bins.*`` block."""
    found = []
    for path in sorted(Path(library).glob("*/schema.json")):
        defs = json.loads(path.read_text(encoding="utf-8")).get("$defs") or {}
        if any(name.startswith(PREFIX) for name in defs):
            found.append(path)
    return found


def synced(schema: dict) -> dict:
    """The schema with its ``bins.*`` definitions replaced by the fragment's."""
    own = {k: v for k, v in (schema.get("$defs") or {}).items() if not k.startswith(PREFIX)}
    return {**schema, "$defs": {**own, **shared_defs()}}


def stale(library: Path) -> list[Path]:
    return [p for p in users(library) if synced(json.loads(p.read_text(encoding="utf-8"))) !=
            json.loads(p.read_text(encoding="utf-8"))]


def main(argv: list[str] | None = None) -> int:
    from townhall.library import default_library_dir

    argv = sys.argv[1:] if argv is None else argv
    library = default_library_dir()
    paths = stale(library)
    if "--write" in argv:
        for path in paths:
            schema = synced(json.loads(path.read_text(encoding="utf-8")))
            path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"updated {path}")
        return 0
    for path in paths:
        print(f"{path}: its bins.* $defs differ from {FRAGMENT}; run python -m townhall_tools.binschema --write")
    return 1 if paths else 0


if __name__ == "__main__":
    raise SystemExit(main())
