"""Onboarding a council: ``townhall tenant new`` writes a valid, commented ``infra/tenants/<id>.yaml``.

The new file lists every process of the library, switched off (``enabled: false``) with the
library's example settings and a comment on what each setting means, so a council sees all it can
switch on. Its GSS code must be a district in force in the shipped snapshot of ONS codes
(``infra/data/lad-codes-<date>.csv``). The webhook secret is not in the file: Terraform makes it,
and the file says ``managed-by-terraform`` where the hash goes (docs/operations.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from townhall.library import Library, Process, resolve
from townhall.settings import TENANT_ID
from townhall.yamlio import YamlError, load_yaml

from .delivery import WEBHOOK_PLACEHOLDER
from .paths import REPO

SCHEMA_MODELINE = "# yaml-language-server: $schema=../../functions/townhall/schemas/tenant.schema.json"
DISTRICT = re.compile(r"^(E0[6-9]|W06|S12|N09)[0-9]{6}$")
PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
TODO = "TODO"
PLACEHOLDER_CONTACT = "https://example.org/TODO-the-council-contact-page"
_SNAPSHOT = re.compile(r"^lad-codes-(\d{4}-\d{2}-\d{2})\.csv$")
_WIDTH = 96


class OnboardingError(Exception):
    """The new tenant cannot be made as asked; the message says what was wrong and how to fix it."""


# -- ONS district codes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictCodes:
    path: Path
    date: str
    names: Mapping[str, str]  # GSS code -> official name


def find_district_codes(tenants_dir: Path) -> Path:
    """The newest ``lad-codes-<date>.csv`` in the ``data`` folder beside the tenants folder, or in
    the repository this package sits in, or in ``./infra/data``."""
    folders = [Path(tenants_dir).parent / "data", REPO / "infra" / "data", Path("infra") / "data"]
    for folder in folders:
        found = sorted(p for p in folder.glob("lad-codes-*.csv") if _SNAPSHOT.match(p.name))
        if found:
            return found[-1]
    raise OnboardingError(
        "no snapshot of ONS district codes (lad-codes-<date>.csv) in "
        + ", ".join(str(f) for f in dict.fromkeys(folders))
        + ": pass --lad-codes FILE (infra/data/README.md says how to make one)"
    )


def load_district_codes(path: Path) -> DistrictCodes:
    match = _SNAPSHOT.match(Path(path).name)
    try:
        with Path(path).open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    except OSError as e:
        raise OnboardingError(f"{path}: cannot be read ({e.strerror})") from e
    names = {row.get("gss_code", ""): row.get("name", "") for row in rows}
    if not names or not all(DISTRICT.match(code) for code in names):
        raise OnboardingError(f"{path}: expected a header gss_code,name and one district code per row")
    return DistrictCodes(Path(path), match.group(1) if match else "undated", names)


# -- Checks ------------------------------------------------------------------------------------------------


def suggest_id(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")[:40].rstrip("-")


def existing_tenants(tenants_dir: Path) -> dict[str, Any]:
    out = {}
    for path in sorted(Path(tenants_dir).glob("*.yaml")):
        try:
            out[path.stem] = load_yaml(path)
        except YamlError:
            out[path.stem] = None
    return out


def default_project(tenant_id: str) -> str:
    return f"townhall-{tenant_id}"


def check_new(tenant_id: str, gss: str, project: str | None, tenants_dir: Path, codes: DistrictCodes) -> list[str]:
    """Everything wrong with the request, each with how to fix it; empty when the tenant can be made.
    ``project`` None means the default, townhall-<id>."""
    problems = []
    if not TENANT_ID.match(tenant_id):
        hint = suggest_id(tenant_id)
        problems.append(
            f"tenant id {tenant_id!r}: use 3 to 40 lower-case letters, digits and hyphens, starting with a "
            f"letter and not ending with a hyphen" + (f" (e.g. {hint})" if TENANT_ID.match(hint) else "")
        )
    elif (Path(tenants_dir) / f"{tenant_id}.yaml").exists():
        problems.append(
            f"tenant id {tenant_id!r} is taken: {Path(tenants_dir) / f'{tenant_id}.yaml'} exists. "
            "Edit that file, or choose another id"
        )
    if not DISTRICT.match(gss):
        problems.append(
            f"GSS code {gss!r}: an ONS local authority district code is E06, E07, E08, E09, W06, S12 or "
            "N09 and six digits, e.g. E07000178 (Oxford); county councils (E10) are not districts"
        )
    elif gss not in codes.names:
        problems.append(
            f"GSS code {gss} is not a district in force in {codes.path} (ONS codes as of {codes.date}). "
            "Check the code at https://geoportal.statistics.gov.uk; if the council is newer than the "
            "snapshot, refresh it first (infra/data/README.md)"
        )
    else:
        for other, doc in existing_tenants(tenants_dir).items():
            if isinstance(doc, dict) and doc.get("gss_code") == gss and not doc.get("demo"):
                problems.append(
                    f"GSS code {gss} ({codes.names[gss]}) already belongs to tenant {other!r} "
                    f"({Path(tenants_dir) / f'{other}.yaml'}): one council, one tenant file"
                )
    if project is None and TENANT_ID.match(tenant_id):
        project = default_project(tenant_id)
    if project is not None and not PROJECT.match(project):
        problems.append(
            f"Dialogflow project {project!r} is not a valid Google Cloud project id (6 to 30 lower-case "
            "letters, digits and hyphens, starting with a letter): pass --project with the council's project"
        )
    return problems


def unfinished(doc: Mapping[str, Any]) -> list[str]:
    """Values a scaffold left for the council to fill (TODO or example.org) in the core keys and the
    processes switched on: ``["contact.web_form", ...]``. Empty for a finished file."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        elif isinstance(value, str) and (TODO in value or "example.org" in value):
            found.append(path)

    for key, value in doc.items():
        if key == "processes" and isinstance(value, dict):
            for pid, settings in value.items():
                if isinstance(settings, dict) and settings.get("enabled", True):
                    walk(settings, f"processes.{pid}")
        else:
            walk(value, key)
    return found


# -- The scaffold -----------------------------------------------------------------------------------------


def _comment(text: str, indent: int = 0) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(
        " ".join(text.split()), _WIDTH - indent - 2, initial_indent=pad + "# ", subsequent_indent=pad + "# "
    )


def _scalar(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, width=1000).removesuffix("...\n").strip()


def _block(key: str, value: Any, indent: int) -> list[str]:
    text = yaml.safe_dump(
        {key: value}, allow_unicode=True, sort_keys=False, default_flow_style=False, width=_WIDTH - indent
    )
    return [" " * indent + line for line in text.splitlines()]


def _english_only(value: Any) -> Any:
    """Drop Welsh texts (``cy`` beside ``en``) from example settings, for councils without Welsh."""
    if isinstance(value, dict):
        keep = {k: _english_only(v) for k, v in value.items()}
        if "en" in keep and "cy" in keep:
            del keep["cy"]
        return keep
    if isinstance(value, list):
        return [_english_only(v) for v in value]
    return value


def _describe(schema: Mapping[str, Any], key: str) -> str:
    prop = (schema.get("properties") or {}).get(key) or {}
    description = prop.get("description")
    if not description and isinstance(prop.get("$ref"), str):  # a local or shared definition's (registry)
        description = (resolve(schema, prop["$ref"]) or {}).get("description")
    required = key in (schema.get("required") or [])
    return (description or f"See the process README for {key}.") + (" (required)" if required else "")


def _example(process: Process) -> dict:
    path = process.folder / "example.yaml"
    example = load_yaml(path) if path.exists() else {}
    return example if isinstance(example, dict) else {}


TWO_TIER_ONLY = "x-townhall-two-tier-only"  # a settings key only two-tier districts (E07) fill in


def _two_tier(gss: str) -> bool:
    """A two-tier district (E07): its county council runs schools, social care, highways..."""
    return gss.startswith("E07")


def _process_lines(process: Process, welsh: bool, two_tier: bool = True) -> list[str]:
    manifest = process.manifest
    lines = [""]
    lines += _comment(f"--- {manifest['title']['en']} ({process.id} {manifest['version']}) ---", 2)
    if manifest.get("summary"):
        lines += _comment(manifest["summary"], 2)
    lines += _comment(
        f"Settings: library/{process.id}/README.md. The values below are the library's "
        "examples: replace them before you delete `enabled: false`.",
        2,
    )
    lines.append(f"  {process.id}:")
    lines.append("    enabled: false")
    example = _example(process)
    properties = process.schema.get("properties") or {}
    for key, value in (example if welsh else _english_only(example)).items():
        if not two_tier and isinstance(properties.get(key), Mapping) and properties[key].get(TWO_TIER_ONLY):
            continue  # e.g. signpost's county: a unitary council runs every service itself
        lines += _comment(_describe(process.schema, key), 4)
        lines += _block(key, value, 4)
    return lines


def scaffold(
    tenant_id: str,
    name: str,
    gss: str,
    codes: DistrictCodes,
    library: Library,
    *,
    welsh: bool = False,
    name_cy: str | None = None,
    project: str,
    contact: Mapping[str, str | None] | None = None,
    today: dt.date | None = None,
) -> str:
    """The text of a new tenant file (valid as it stands; TODO marks what the council must fill)."""
    today = today or dt.date.today()
    contact = {k: v for k, v in (contact or {}).items() if v}
    lines = [
        SCHEMA_MODELINE,
        f"# Tenant file of {name} ({gss}), made by `townhall tenant new` on {today.isoformat()}.",
        "# Schema: functions/townhall/schemas/tenant.schema.json plus each process's library/<id>/schema.json",
        f"# Check it: townhall tenants validate infra/tenants/{tenant_id}.yaml (every key: docs/tenants.md).",
        "# Values marked TODO must be the council's own before the pull request is merged; the whole path",
        "# from here to live is docs/onboarding.md.",
        "",
    ]
    lines += _comment(
        "Tenant id: the file name, the webhook's username and part of every secret's name "
        "(townhall-<id>-...). It never changes."
    )
    lines.append(f"id: {tenant_id}")
    lines += _comment("The council's name as residents know it (used in replies).")
    lines.append(f"name: {_scalar(name)}")
    if welsh:
        lines += _comment("The council's name in Welsh (used in Welsh replies).")
        lines.append(f"name_cy: {_scalar(name_cy)}" if name_cy else f"# name_cy: {TODO} the council's Welsh name")
    lines += _comment(f"ONS local authority district code: {codes.names[gss]} in {codes.path.name}.")
    lines.append(f"gss_code: {gss}")
    lines += _comment("Languages the bot speaks, English first; cy is Welsh.")
    lines.append(f"languages: [{', '.join(['en', 'cy'] if welsh else ['en'])}]")
    lines.append("dialogflow:")
    lines += _comment(
        "Google Cloud project of the council's Dialogflow ES agent: Terraform creates the "
        "agent there, and its sessions identify the council to the webhook. The project "
        "must exist before the pull request is merged (docs/onboarding.md).",
        2,
    )
    lines.append(f"  project: {project}")
    lines.append("webhook:")
    lines += _comment(
        "The webhook secret is made by Terraform and kept in Secret Manager; its SHA-256 "
        "reaches the council's settings when CI deploys. Leave this value as it is "
        '(docs/operations.md, "Rotate a webhook secret").',
        2,
    )
    lines.append(f"  password_sha256: {WEBHOOK_PLACEHOLDER}")
    lines += _comment(
        "How residents reach a person: at least one of phone, email or web_form; web "
        "addresses are https. The bot offers these whenever it cannot help."
    )
    lines.append("contact:")
    examples = {
        "phone": '"01234 567890"',
        "email": "enquiries@council.example",
        "web_form": "https://www.council.example/contact-us",
        "website": "https://www.council.example",
    }
    if not any(contact.get(k) for k in ("phone", "email", "web_form")):
        lines += _comment(f"{TODO}: the council's own contact details in place of this placeholder.", 2)
        contact["web_form"] = PLACEHOLDER_CONTACT
    for key in ("phone", "email", "web_form", "website"):
        lines.append(f"  {key}: {_scalar(contact[key])}" if contact.get(key) else f"  # {key}: {examples[key]}")
    lines.append("")
    lines += _comment(
        "Processes: a key here switches a process on, with its settings. Each process of the "
        "library is listed below, switched off by `enabled: false`."
    )
    lines.append("processes:")
    for pid in sorted(library.processes):
        lines += _process_lines(library.processes[pid], welsh, _two_tier(gss))
    return "\n".join(lines) + "\n"


# -- Command ------------------------------------------------------------------------------------------------


def add_arguments(new) -> None:
    new.add_argument("id", help="tenant id: the file name and the webhook's username, e.g. oxford")
    new.add_argument("--name", required=True, help="the council's name as residents know it")
    new.add_argument("--gss", required=True, metavar="CODE", help="ONS local authority district code, e.g. E07000178")
    new.add_argument("--welsh", action="store_true", help="the council offers Welsh (languages: [en, cy])")
    new.add_argument("--name-cy", help="the council's Welsh name (with --welsh)")
    new.add_argument("--project", help="Google Cloud project of the council's agent (default townhall-<id>)")
    for key in ("phone", "email", "web-form", "website"):
        new.add_argument(f"--{key}", help=f"contact {key.replace('-', ' ')} for residents")
    new.add_argument(
        "--lad-codes", metavar="FILE", help="snapshot of ONS district codes (default infra/data/lad-codes-<newest>.csv)"
    )


def cmd_new(args, tenants_dir: Path, library: Library) -> int:
    try:
        codes = load_district_codes(Path(args.lad_codes) if args.lad_codes else find_district_codes(tenants_dir))
    except OnboardingError as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 1
    problems = check_new(args.id, args.gss, args.project, tenants_dir, codes)
    if args.name_cy and not args.welsh:
        problems.append("--name-cy is only used with --welsh: add --welsh, or leave --name-cy out")
    if problems:
        for problem in problems:
            print(f"townhall: {problem}", file=sys.stderr)
        print("no tenant file written", file=sys.stderr)
        return 1
    text = scaffold(
        args.id,
        args.name,
        args.gss,
        codes,
        library,
        welsh=args.welsh,
        name_cy=args.name_cy,
        project=args.project or default_project(args.id),
        contact={"phone": args.phone, "email": args.email, "web_form": args.web_form, "website": args.website},
    )
    path = Path(tenants_dir) / f"{args.id}.yaml"
    path.write_text(text, encoding="utf-8")
    if args.gss.startswith("W06") and not args.welsh:
        print(
            f"townhall: note: {args.gss} is a Welsh council, which normally offers Welsh: consider --welsh",
            file=sys.stderr,
        )
    print(f"{path}: written ({len(library.processes)} processes listed, all switched off)")
    print(
        f"next: fill in the TODOs, switch processes on, then: townhall tenants validate {path}"
        " (the rest: docs/onboarding.md)"
    )
    return 0
