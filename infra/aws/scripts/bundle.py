#!/usr/bin/env python3
"""Build the webhook's Lambda package: build/lambda/ and build/lambda.zip.

    python3 infra/aws/scripts/bundle.py [--out build/lambda] [--zip build/lambda.zip] [--no-deps]

The same allow-list as the Cloud Function bundle (infra/scripts/bundle.py: the townhall package,
each process's runtime files) plus ``lambda_main.py`` (the handler, ``lambda_main.handler``) and
``requirements-aws.txt``; then, unless ``--no-deps``, the pinned requirements installed into the
package for Lambda's Python 3.11 on x86_64 (Lambda installs nothing itself). The zip is
deterministic: sorted entries, fixed dates and modes.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _cloud_bundle():
    spec = importlib.util.spec_from_file_location("bundle", REPO / "infra" / "scripts" / "bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sources(repo: Path = REPO) -> dict[str, Path]:
    """Package path -> source file: the Cloud Function's allow-list, less its entry point, plus Lambda's."""
    found = {k: v for k, v in _cloud_bundle().sources(repo).items() if k != "main.py"}
    found["lambda_main.py"] = repo / "functions" / "lambda_main.py"
    found["requirements-aws.txt"] = repo / "requirements-aws.txt"
    return dict(sorted(found.items()))


def build(out: Path, zip_path: Path, deps: bool = True, repo: Path = REPO) -> tuple[str, int]:
    """Write the package folder and its zip; returns (the zip's SHA-256, files in it)."""
    if out.exists():
        shutil.rmtree(out)
    for name, source in sources(repo).items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    if deps:
        shutil.copyfile(repo / "requirements.txt", out / "requirements.txt")  # -r of requirements-aws.txt
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--target", str(out), "--platform", "manylinux2014_x86_64", "--implementation", "cp",
                "--python-version", "3.11", "--only-binary=:all:", "-r", str(out / "requirements-aws.txt"),
            ],
            check=True,
        )  # fmt: skip
    files = sorted(p for p in out.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(out).as_posix(), date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return hashlib.sha256(zip_path.read_bytes()).hexdigest(), len(files)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO / "build" / "lambda", help="package folder (replaced)")
    p.add_argument("--zip", type=Path, default=REPO / "build" / "lambda.zip", help="package zip")
    p.add_argument("--no-deps", action="store_true", help="the sources only (tests; a layer carries the rest)")
    args = p.parse_args(argv)
    digest, count = build(args.out, args.zip, deps=not args.no_deps)
    print(f"{args.zip}: sha256 {digest} ({count} files; folder {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
