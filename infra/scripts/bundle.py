#!/usr/bin/env python3
"""Build the webhook's Cloud Functions source bundle: build/function/ and build/function.zip.

    python3 infra/scripts/bundle.py [--out build/function] [--zip build/function.zip]

Layout of the bundle (what Cloud Functions builds and runs):

    main.py            functions/main.py, entry point `webhook`
    townhall/          the runtime package, functions/townhall
    library/           every process folder of library/, without its tests
    requirements.txt   the pinned runtime requirements, requirements.txt

The runtime finds library/ beside townhall/ (townhall/library.py, default_library_dir), so the
bundle runs as it is. The zip is deterministic (sorted entries, fixed dates and modes): the same
sources give the same bytes, so Terraform names the uploaded object by its SHA-256 and an unchanged
bundle never redeploys the function. Standard library only; tests/test_bundle.py serves a request
from a bundle with nothing but its own requirements installed.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIPPED = {"__pycache__", "tests", ".pytest_cache", ".hypothesis"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def sources(repo: Path = REPO) -> dict[str, Path]:
    """Bundle path -> source file, for every file the bundle holds."""
    found = {"main.py": repo / "functions" / "main.py", "requirements.txt": repo / "requirements.txt"}
    for top, folder in (("townhall", repo / "functions" / "townhall"), ("library", repo / "library")):
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not SKIPPED.intersection(relative.parts) and path.suffix != ".pyc":
                found[f"{top}/{relative.as_posix()}"] = path
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
