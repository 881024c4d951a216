"""``townhall fakes serve``: local fakes of every upstream API (the sandbox ``make run`` serves)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..options import CommandError, command, group, tenants_dir


def cmd_serve(args) -> int:
    from ..fakes import serve

    today = None
    if args.today:
        try:
            today = dt.date.fromisoformat(args.today)
        except ValueError:
            raise CommandError(f"--today {args.today!r}: write a date as YYYY-MM-DD, e.g. 2026-04-20", 2) from None
    sandbox = Path(args.sandbox_tenants) if args.sandbox_tenants else None
    serve(
        args.host,
        args.port,
        today=today,
        tenants=tenants_dir(args) if sandbox else None,
        sandbox=sandbox,
        quiet=args.quiet,
    )
    return 0


def register(sub) -> None:
    fakes = group(sub, "fakes", "local fakes of the upstream APIs (the sandbox)")
    f = command(fakes, "serve", cmd_serve, "serve every upstream fake (make run starts them)")
    f.add_argument("--host", default="127.0.0.1")
    f.add_argument("--port", type=int, default=8090)
    f.add_argument(
        "--sandbox-tenants",
        metavar="DIR",
        help="also write copies of the tenant files here, their upstream addresses pointing at these "
        "fakes (make run serves the webhook from them)",
    )
    f.add_argument(
        "--today",
        metavar="YYYY-MM-DD",
        help="the day the fakes' calendars count from (elections, collections; default: today)",
    )
    f.add_argument("--quiet", action="store_true", help="no access log lines")
