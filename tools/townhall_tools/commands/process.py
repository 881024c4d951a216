"""``townhall process new|check|catalogue``: the process library."""

from __future__ import annotations

import sys

from ..options import CommandError, command, group, library, library_dir


def cmd_new(args) -> int:
    from ..scaffold import ScaffoldError, new_process

    try:
        folder = new_process(library_dir(args), args.id, args.title, args.title_cy, args.owner)
    except ScaffoldError as e:
        raise CommandError(str(e), 2) from e
    print(
        f"created {folder}/ : edit its phrases, replies, schema and handler (docs/processes.md), then\n"
        f"  townhall process check {args.id}  and  townhall process catalogue"
    )
    return 0


def cmd_check(args) -> int:
    from ..librarycheck import check_library, check_process

    lib = library(args)
    unknown = [p for p in args.ids if p not in lib.processes]
    if unknown:
        raise CommandError(
            f"no such process: {', '.join(unknown)} (the library has: {', '.join(sorted(lib.processes))})", 2
        )
    problems = [p for pid in args.ids for p in check_process(lib.processes[pid])] if args.ids else check_library(lib)
    for line in problems:
        print(line, file=sys.stderr)
    print(f"{len(problems)} problem(s) in {len(args.ids) or len(lib.processes)} process(es)")
    return 1 if problems else 0


def cmd_catalogue(args) -> int:
    from ..catalogue import render

    lib = library(args)
    path = library_dir(args) / "README.md"
    text = render(lib)
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            raise CommandError(f"{path} is out of date; run: townhall process catalogue")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({len(lib.processes)} processes)")
    return 0


def register(sub) -> None:
    process = group(sub, "process", "the process library")
    new = command(process, "new", cmd_new, "scaffold a new process folder that passes the library's checks")
    new.add_argument("id", help="process id = folder name, e.g. garden_waste")
    new.add_argument("--title", required=True, help="English title, e.g. 'Garden waste'")
    new.add_argument("--title-cy", help="Welsh title (default: the English one; have it translated)")
    new.add_argument("--owner", default="Townhall library maintainers", help="who maintains it")
    check = command(process, "check", cmd_check, "run the library's checks (all processes, or the ones named)")
    check.add_argument("ids", nargs="*", metavar="ID")
    cat = command(process, "catalogue", cmd_catalogue, "write library/README.md from the manifests and schemas")
    cat.add_argument("--check", action="store_true", help="exit 1 when library/README.md is out of date")
