#!/usr/bin/env python3
"""Refresh the snapshot of ONS local authority district codes, infra/data/lad-codes-<date>.csv.

    python3 infra/scripts/refresh_lad_codes.py                     # download mySociety's current CSV
    python3 infra/scripts/refresh_lad_codes.py --source FILE.csv   # or read a copy you downloaded

Keeps the rows of authorities in force (current-authority True) whose code is a district code
(E06, E07, E08, E09, W06, S12, N09), writes infra/data/lad-codes-<today>.csv and removes the older
snapshot, so the pull request shows every code that came or went. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import re
import sys
import urllib.request
from pathlib import Path

SOURCE_URL = (
    "https://raw.githubusercontent.com/mysociety/uk_local_authority_names_and_codes/main/"
    "data/packages/uk_la_past_current/uk_local_authorities_current.csv"
)
DATA = Path(__file__).resolve().parents[1] / "data"
DISTRICT = re.compile(r"^(E0[6-9]|W06|S12|N09)[0-9]{6}$")
HEADER = """# ONS local authority district (LAD) codes in force: {count} districts. Used by `townhall tenant new`
# to refuse unknown codes. Snapshot taken {date} from mySociety's "UK Local Authorities (past and
# current)" data package (CC BY 4.0, mySociety; the codes are ONS's, Open Government Licence v3.0):
# rows with current-authority True and a district code. Source and how to refresh:
# infra/data/README.md
"""


def districts(text: str) -> list[tuple[str, str]]:
    """(gss code, official name) of every district in force, sorted by code."""
    rows = csv.DictReader(io.StringIO(text))
    missing = {"gss-code", "official-name", "current-authority"} - set(rows.fieldnames or [])
    if missing:
        raise SystemExit(f"source has no column {', '.join(sorted(missing))}: is it uk_local_authorities_current.csv?")
    found = {}
    for row in rows:
        code = (row["gss-code"] or "").strip()
        if row["current-authority"].strip() == "True" and DISTRICT.match(code):
            found[code] = " ".join(row["official-name"].split())
    return sorted(found.items())


def write(rows: list[tuple[str, str]], folder: Path, date: dt.date) -> Path:
    target = folder / f"lad-codes-{date.isoformat()}.csv"
    with target.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER.format(count=len(rows), date=date.isoformat()))
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["gss_code", "name"])
        writer.writerows(rows)
    for old in folder.glob("lad-codes-*.csv"):
        if old != target:
            old.unlink()
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", help=f"a local copy of the CSV (default: download {SOURCE_URL})")
    p.add_argument("--out", type=Path, default=DATA, help="folder of the snapshot (default infra/data)")
    args = p.parse_args(argv)
    if args.source:
        text = Path(args.source).read_text(encoding="utf-8")
    else:
        with urllib.request.urlopen(SOURCE_URL, timeout=60) as response:
            text = response.read().decode("utf-8")
    rows = districts(text)
    if len(rows) < 300:
        raise SystemExit(f"only {len(rows)} districts found: not writing a snapshot that small")
    target = write(rows, args.out, dt.date.today())
    print(f"{target}: {len(rows)} districts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
