#!/usr/bin/env python3
"""Write the inputs and outputs tables of infra/aws/README.md and infra/aws/modules/*/README.md
(infra/scripts/tfdocs.py's tables, for the AWS folders).

    .venv/bin/python infra/aws/scripts/tfdocs.py [--check]
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

AWS = Path(__file__).resolve().parents[1]


def _tfdocs():
    spec = importlib.util.spec_from_file_location("tfdocs", AWS.parent / "scripts" / "tfdocs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def folders() -> list[Path]:
    return [AWS] + sorted(p for p in (AWS / "modules").iterdir() if p.is_dir())


def main(argv: list[str]) -> int:
    tfdocs, stale = _tfdocs(), []
    for folder in folders():
        readme = folder / "README.md"
        text = readme.read_text(encoding="utf-8")
        new = tfdocs.updated(text, folder)
        if new != text:
            stale.append(readme)
            if "--check" not in argv:
                readme.write_text(new, encoding="utf-8")
    for readme in stale:
        print(f"{readme}: {'out of date' if '--check' in argv else 'updated'}", file=sys.stderr)
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
