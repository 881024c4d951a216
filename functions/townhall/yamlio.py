"""YAML reading for settings and library files: plain JSON-compatible data, clear errors.

Dates and times stay strings (``2026-12-24`` is not a ``date``, ``10:00`` is not 600), so a tenant file
validates and is stored in Firestore exactly as written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """Safe loading without YAML 1.1's dates and base-60 numbers (``10:00`` stays a string)."""

    def construct_yaml_int(self, node):
        return node.value if ":" in node.value else super().construct_yaml_int(node)

    def construct_yaml_float(self, node):
        return node.value if ":" in node.value else super().construct_yaml_float(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


class YamlError(Exception):
    """A YAML file cannot be read; the message names the file, line and problem."""


def parse_yaml(text: str, name: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(e, "problem", None) or str(e)
        raise YamlError(f"{where}: not valid YAML: {problem}") from e


def load_yaml(path: Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise YamlError(f"{path}: cannot be read: {e}") from e
    return parse_yaml(text, str(path))
