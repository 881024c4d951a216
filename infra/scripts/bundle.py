#!/usr/bin/env python3
"""Build the webhook's Cloud Functions source bundle: build/function/ and build/function.zip.

    python3 infra/scripts/bundle.py [--out build/function] [--zip build/function.zip]

Layout of the bundle (what Cloud Functions builds and runs), an allow-list:

    main.py            functions/main.py, entry points `webhook` and `chat`
    townhall/          the runtime package, functions/townhall: its modules and data files, and the
                       chat gateway's widget files (townhall/gateway/static/)
    library/<id>/      each process's runtime files: manifest.yaml, schema.json, messages/*.yaml,
                       handler.py, checks.py, and the process modules those two import
    requirements.txt   the pinned runtime requirements, requirements.txt

Nothing else goes in: no tooling (tools/townhall_tools), no fakes, tests, conversation scripts,
Dialogflow intents and entities (training phrases) or READMEs, so an edit to any of those never
redeploys the webhook. The runtime finds library/ beside townhall/ (townhall/library.py,
default_library_dir), so the bundle runs as it is. The zip is deterministic (sorted entries, fixed
dates and modes): the same sources give the same bytes, so Terraform names the uploaded object by
its SHA-256 and an unchanged bundle never redeploys the function. Standard library only;
tests/test_bundle.py serves a request from a bundle with nothing but its own requirements installed.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import shutil
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# The runtime package's files, by pattern (relative to functions/townhall).
RUNTIME_FILES = ("**/*.py", "schemas/*.json", "messages/*.yaml", "data/*.json", "upstreams/*/*.json")
# The chat gateway's own replies and the widget it serves (its demo page is local only: left out).
RUNTIME_FILES += ("gateway/messages/*.yaml", "gateway/static/*.js", "gateway/static/*.css")
# A process's runtime files besides the modules they import (relative to library/<id>).
PROCESS_FILES = ("manifest.yaml", "schema.json", "messages/*.yaml")
PROCESS_ENTRY_MODULES = ("handler", "checks")  # imported by townhall/library.py


def _local_imports(path: Path) -> set[str]:
    """The process's own modules that ``path`` imports (``from .x import y``, ``from . import x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def process_modules(folder: Path) -> list[Path]:
    """handler.py, checks.py and every module of the folder they import, however indirectly."""
    todo = [name for name in PROCESS_ENTRY_MODULES if (folder / f"{name}.py").is_file()]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = folder / f"{name}.py"
        if not path.is_file():
            raise SystemExit(
                f"bundle: {folder / PROCESS_ENTRY_MODULES[0]}.py or a module it imports needs {path}, which is missing"
            )
        seen.add(name)
        todo += sorted(_local_imports(path) - seen)
    return [folder / f"{name}.py" for name in sorted(seen)]


def sources(repo: Path = REPO) -> dict[str, Path]:
    """Bundle path -> source file, for every file the bundle holds."""
    found = {"main.py": repo / "functions" / "main.py", "requirements.txt": repo / "requirements.txt"}
    runtime = repo / "functions" / "townhall"
    for pattern in RUNTIME_FILES:
        for path in runtime.glob(pattern):
            if "__pycache__" not in path.parts:
                found[f"townhall/{path.relative_to(runtime).as_posix()}"] = path
    for manifest in sorted((repo / "library").glob("*/manifest.yaml")):
        folder = manifest.parent
        files = [p for pattern in PROCESS_FILES for p in folder.glob(pattern)] + process_modules(folder)
        for path in files:
            found[f"library/{folder.name}/{path.relative_to(folder).as_posix()}"] = path
    missing = [str(p) for p in found.values() if not p.is_file()]
    if missing:
        raise SystemExit(f"bundle: missing {', '.join(missing)}: run this from a full checkout")
    return dict(sorted(found.items()))


def build(out: Path, zip_path: Path, repo: Path = REPO) -> str:
    """Write the bundle folder and its zip; returns the zip's SHA-256."""
    files = sources(repo)
    if out.exists():
        shutil.rmtree(out)
    for name, source in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, source in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return hashlib.sha256(zip_path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO / "build" / "function", help="bundle folder (replaced)")
    p.add_argument("--zip", type=Path, default=REPO / "build" / "function.zip", help="bundle zip")
    args = p.parse_args(argv)
    digest = build(args.out, args.zip)
    print(f"{args.zip}: sha256 {digest} ({len(sources())} files; folder {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
