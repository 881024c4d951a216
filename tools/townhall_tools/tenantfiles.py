"""Every check a tenant file must pass before it is merged: the one definition that ``townhall
tenants validate``, ``townhall settings push`` and the test suite (CI) share.

Per file, all at once:
- it is YAML, and its name is a tenant id;
- the settings: the core schema and each enabled process's schema and checks
  (``townhall.tenants.validate``, what the webhook also checks on every load);
- against the repository: the GSS code is a district in force in the ONS snapshot
  (``infra/data/lad-codes-<date>.csv``); a council that speaks Welsh gives its Welsh name; and,
  for a real council (not ``demo: true``), no other council's file holds its GSS code and no
  scaffold placeholder (TODO, example.org) is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from townhall.library import Library
from townhall.settings import TENANT_ID
from townhall.tenants import Problem, validate
from townhall.yamlio import YamlError, load_yaml

from .onboarding import DISTRICT, DistrictCodes, OnboardingError, find_district_codes, load_district_codes, unfinished


def check_files(
    files: Sequence[Path], library: Library, tenants_dir: Path | None = None, codes: DistrictCodes | None = None
) -> tuple[dict, list[str]]:
    """Read and check tenant files: ({tenant id: document}, ["file: key.path: reason", ...]).

    ``tenants_dir``: the folder of every council's file, for the one-council-one-file check
    (default: the folder of the first file). ``codes``: the ONS snapshot (default: the newest one
    beside the tenants folder or in the repository)."""
    files = [Path(f) for f in files]
    folder = Path(tenants_dir) if tenants_dir else (files[0].parent if files else Path("."))
    docs, errors, read = {}, [], {}
    for path in files:
        try:
            doc = load_yaml(path)
        except YamlError as e:
            errors.append(str(e))
            continue
        if not TENANT_ID.match(path.stem):
            errors.append(
                f"{path}: (file name): {path.stem!r} is not a tenant id; expected: 3 to 40 lower-case "
                "letters, digits and hyphens, starting with a letter (e.g. oxford.yaml)"
            )
            continue
        read[path] = doc
    if read and codes is None:
        try:
            codes = load_district_codes(find_district_codes(folder))
        except OnboardingError as e:
            errors.append(f"townhall: {e}")
    others = _holders(folder, read)
    for path, doc in read.items():
        problems = validate(doc, library, expected_id=path.stem)
        if isinstance(doc, dict):
            problems += repository_problems(doc, codes, others, path)
        errors += [f"{path}: {p}" for p in problems]
        if not problems:
            docs[path.stem] = doc
    return docs, errors


def _holders(folder: Path, read: Mapping[Path, Any]) -> dict[str, list[tuple[str, Path]]]:
    """GSS code -> [(tenant id, file)] of every non-demo tenant file, in the folder and checked."""
    found: dict[Path, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            found[path.resolve()] = load_yaml(path)
        except YamlError:
            continue  # reported when that file itself is checked
    found.update({path.resolve(): doc for path, doc in read.items()})
    holders: dict[str, list[tuple[str, Path]]] = {}
    for path, doc in found.items():
        if isinstance(doc, dict) and not doc.get("demo") and isinstance(doc.get("gss_code"), str):
            holders.setdefault(doc["gss_code"], []).append((path.stem, path))
    return holders


def repository_problems(
    doc: Mapping[str, Any], codes: DistrictCodes | None, holders: Mapping[str, list[tuple[str, Path]]], path: Path
) -> list[Problem]:
    """What a tenant file needs beyond its schemas: the checks that need the repository."""
    problems = []
    gss = doc.get("gss_code")
    if isinstance(gss, str) and DISTRICT.match(gss) and codes is not None:
        if gss not in codes.names:
            problems.append(
                Problem(
                    "gss_code",
                    (
                        f"{gss} is not a local authority district in force in {codes.path.name} (ONS codes as of "
                        f"{codes.date}); expected: the council's current district code, as listed there (e.g. E07000178 "
                        "for Oxford). Check it at https://geoportal.statistics.gov.uk; if the council is newer than "
                        "the snapshot, refresh it first (infra/data/README.md)"
                    ),
                )
            )
        elif not doc.get("demo"):
            clash = sorted(f"{tid!r} ({p})" for tid, p in holders.get(gss, []) if tid != path.stem)
            if clash:
                problems.append(
                    Problem(
                        "gss_code",
                        (
                            f"{gss} ({codes.names[gss]}) is already the code of tenant {', '.join(clash)}; expected: "
                            "one tenant file per council. Edit that file instead, or correct this code"
                        ),
                    )
                )
    languages = doc.get("languages")
    if isinstance(languages, list) and "cy" in languages and not doc.get("name_cy"):
        problems.append(
            Problem(
                "name_cy",
                (
                    "missing: the council speaks Welsh (languages include cy), so Welsh replies need its Welsh name; "
                    "expected: the council's name in Welsh (e.g. name_cy: Cyngor Caerdydd)"
                ),
            )
        )
    if not doc.get("demo"):
        for where in unfinished(doc):
            problems.append(
                Problem(
                    where,
                    (
                        "still a placeholder (TODO or example.org) from `townhall tenant new`; expected: the council's "
                        "own value (docs/tenants.md), or switch that process off with `enabled: false`"
                    ),
                )
            )
    return problems
