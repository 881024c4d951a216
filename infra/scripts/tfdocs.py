#!/usr/bin/env python3
"""Write the inputs and outputs tables of each Terraform module's README.md from its .tf files.

    .venv/bin/python infra/scripts/tfdocs.py           # rewrite the tables
    .venv/bin/python infra/scripts/tfdocs.py --check   # exit 1 when a README is out of date

The tables sit between <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS --> in infra/README.md and
infra/modules/*/README.md; everything else in a README is written by hand. Needs python-hcl2
(requirements-dev.txt). tests/test_infra.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import hcl2

INFRA = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def modules(infra: Path = INFRA) -> list[Path]:
    return [infra] + sorted(p for p in (infra / "modules").iterdir() if p.is_dir())


def unquote(text: Any) -> Any:
    """python-hcl2 keeps HCL's quotes on strings and labels, and ${...} around expressions."""
    if isinstance(text, str) and len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if isinstance(text, str) and text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    return text


def parse(folder: Path) -> dict[str, list]:
    """Every top-level block of the folder's .tf files, by block type."""
    merged: dict[str, list] = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open(encoding="utf-8") as f:
            for kind, blocks in hcl2.load(f).items():
                if not kind.startswith("__"):
                    merged.setdefault(kind, []).extend(blocks)
    return merged


def named(blocks: list) -> dict[str, dict]:
    """{name: body} of labelled blocks such as variable "x" {...}."""
    return {unquote(label): body for block in blocks for label, body in block.items()}


def variables(folder: Path) -> dict[str, dict]:
    return named(parse(folder).get("variable", []))


def outputs(folder: Path) -> dict[str, dict]:
    return named(parse(folder).get("output", []))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(body: dict) -> str:
    if "default" not in body:
        return "n/a"
    value = body["default"]
    if isinstance(value, str):
        value = unquote(value)
        return "`null`" if value == "null" else f"`{json.dumps(value)}`"
    return f"`{json.dumps(value)}`"


def _type(body: dict) -> str:
    text = re.sub(r"\s+", " ", unquote(body.get("type", "any")))
    return f"`{text}`"


def render(folder: Path) -> str:
    lines = [
        BEGIN,
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, body in variables(folder).items():
        lines.append(
            f"| `{name}` | {_cell(unquote(body.get('description', '')))} | {_cell(_type(body))} | "
            f"{_cell(_default(body))} | {'no' if 'default' in body else 'yes'} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "| --- | --- |"]
    for name, body in outputs(folder).items():
        lines.append(f"| `{name}` | {_cell(unquote(body.get('description', '')))} |")
    return "\n".join(lines + [END])


def updated(readme: str, folder: Path) -> str:
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"{folder / 'README.md'}: add {BEGIN} and {END} where the tables go")
    head, rest = readme.split(BEGIN, 1)
    return head + render(folder) + rest.split(END, 1)[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only report READMEs that are out of date")
    args = p.parse_args(argv)
    stale = []
    for folder in modules():
        readme = folder / "README.md"
        text = readme.read_text(encoding="utf-8")
        new = updated(text, folder)
        if new != text:
            stale.append(readme)
            if not args.check:
                readme.write_text(new, encoding="utf-8")
    for readme in stale:
        print(f"{readme}: {'out of date' if args.check else 'updated'}", file=sys.stderr)
    if args.check and stale:
        print("run: .venv/bin/python infra/scripts/tfdocs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
