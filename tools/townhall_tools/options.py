"""What every ``townhall`` command shares: the global options (tenants folder, library), reading
tenant files, the command error, and the one way a command is registered.

A command module exposes ``register(sub)``, where ``sub`` is the top-level subparsers object, and
registers its commands with :func:`group` and :func:`command`; ``townhall_tools.cli`` lists the
modules and calls each ``register``. Command modules import this module, never ``cli``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from townhall.library import Library, default_library_dir
from townhall.settings import FilesBackend
from townhall.yamlio import load_yaml

TENANTS_ENV = "TOWNHALL_TENANTS_DIR"
DEFAULT_TENANTS = "infra/tenants"

Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A command cannot do what was asked; the message says what was wrong and how to fix it.
    ``main`` prints it as ``townhall: <message>`` and exits with ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenants-dir", help=f"tenant files folder (default ${TENANTS_ENV} or {DEFAULT_TENANTS})")
    parser.add_argument("--library", help="process library folder (default ./library)")


def group(sub, name: str, help: str, aliases: tuple[str, ...] = ()):
    """A command with actions (``townhall NAME ACTION``): returns the subparsers for its actions."""
    return sub.add_parser(name, aliases=list(aliases), help=help).add_subparsers(dest="action", required=True)


def command(sub, name: str, run: Handler, help: str, **defaults: Any) -> argparse.ArgumentParser:
    """A command (or a group's action) that runs ``run(args)``; returns its parser for arguments."""
    parser = sub.add_parser(name, help=help, description=help)
    parser.set_defaults(func=run, **defaults)
    return parser


# -- Shared helpers ----------------------------------------------------------------------------------------


def tenants_dir(args) -> Path:
    return Path(getattr(args, "tenants_dir", None) or os.environ.get(TENANTS_ENV, DEFAULT_TENANTS))


def library_dir(args) -> Path:
    return Path(args.library) if getattr(args, "library", None) else default_library_dir()


def library(args) -> Library:
    return Library.load(Path(args.library) if getattr(args, "library", None) else None)


def tenant_files(args) -> list[Path]:
    """The files named on the command line, else every tenant file of the tenants folder."""
    if getattr(args, "files", None):
        return [Path(f) for f in args.files]
    folder = tenants_dir(args)
    files = list(FilesBackend(folder).files())
    if not files:
        raise CommandError(f"no tenant files (*.yaml) in {folder}: pass --tenants-dir, or set {TENANTS_ENV}")
    return files


def tenant_file(args, tenant_id: str) -> Path:
    path = tenants_dir(args) / f"{tenant_id}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in tenants_dir(args).glob("*.yaml"))
        raise CommandError(
            f"no tenant file {path}"
            + (f" (tenants here: {', '.join(known)})" if known else f": pass --tenants-dir, or set {TENANTS_ENV}")
        )
    return path


def read_tenant(args, tenant_id: str) -> dict:
    """A tenant file's document (a mapping), read from the tenants folder."""
    path = tenant_file(args, tenant_id)
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise CommandError(f"{path}: not a tenant file (a YAML mapping); run: townhall tenants validate {path}")
    return doc
