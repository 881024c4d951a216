"""The ``townhall`` command: tenants, settings, requests, agents, chat and NLU (``townhall --help``).

Each command lives in a module that exposes ``register(sub)`` (``townhall_tools.options``);
``COMMANDS`` lists them in the order ``--help`` shows them. Adding a command is adding a module
here; command modules import ``options``, never this module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from townhall.library import LibraryError
from townhall.settings import BackendError
from townhall.yamlio import YamlError

from .agent import commands as agent
from .commands import fakes, process, request, tenants
from .options import CommandError, add_global_options
from .simulator import commands as simulator

COMMANDS = (tenants, request, process, fakes, agent, simulator)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="townhall", description="Townhall: tenants, settings, requests, agents, chat and NLU."
    )
    add_global_options(p)
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as e:
        print(f"townhall: {e}", file=sys.stderr)
        return e.code
    except (LibraryError, YamlError, BackendError) as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
