"""The ``townhall`` command: tenants, settings, requests, agents, chat and NLU (``townhall --help``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from townhall import wire

from . import delivery, onboarding
from .agent import commands as agent_commands
from .simulator import commands as simulator_commands
from townhall.library import Library, LibraryError, default_library_dir
from townhall.settings import TENANT_ID, BackendError, FilesBackend, FirestoreBackend
from townhall.tenants import validate
from townhall.yamlio import YamlError, load_yaml


def _tenants_dir(args) -> Path:
    return Path(args.tenants_dir or os.environ.get("TOWNHALL_TENANTS_DIR", "infra/tenants"))


def _library(args) -> Library:
    return Library.load(Path(args.library) if args.library else None)


def check_files(files: Sequence[Path], library: Library) -> tuple[dict, list[str]]:
    """Read and validate tenant files: ({tenant id: document}, ["file: key.path: reason", ...])."""
    docs, errors = {}, []
    for path in files:
        try:
            doc = load_yaml(path)
        except YamlError as e:
            errors.append(str(e))
            continue
        expected = path.stem
        if not TENANT_ID.match(expected):
            errors.append(f"{path}: (file name): {expected!r} is not a tenant id (a-z, 0-9, '-', 3-40 chars)")
            continue
        problems = validate(doc, library, expected_id=expected)
        errors += [f"{path}: {p}" for p in problems]
        if not problems:
            docs[expected] = doc
    return docs, errors


def _files(args) -> list[Path]:
    if args.files:
        return [Path(f) for f in args.files]
    files = list(FilesBackend(_tenants_dir(args)).files())
    if not files:
        raise SystemExit(f"townhall: no tenant files (*.yaml) in {_tenants_dir(args)}")
    return files


def cmd_tenants_validate(args) -> int:
    files = _files(args)
    _, errors = check_files(files, _library(args))
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 1
    print(f"{len(files)} tenant file(s) valid")
    return 0


def cmd_settings_push(args) -> int:
    folder = _tenants_dir(args)
    if args.tenant:
        files = [folder / f"{t}.yaml" for t in args.tenant]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            print(f"townhall: no such tenant file: {', '.join(missing)}", file=sys.stderr)
            return 1
    else:
        files = _files(args)
    docs, errors = check_files(files, _library(args))
    if not errors:
        try:
            hashes = delivery.load_webhook_hashes(Path(args.webhook_hashes)) if args.webhook_hashes else None
        except delivery.DeliveryError as e:
            errors = [str(e)]
        else:
            docs, notes, errors = delivery.apply_webhook_hashes(docs, hashes)
            for line in notes:
                print(line, file=sys.stderr)
    if errors:
        for line in errors:
            print(line, file=sys.stderr)
        print("nothing pushed: fix the problems above first", file=sys.stderr)
        return 1
    if args.project:
        os.environ["GOOGLE_CLOUD_PROJECT"] = args.project
    backend = FirestoreBackend()
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    total = len(docs)
    for i, (tenant_id, doc) in enumerate(sorted(docs.items()), 1):
        current = backend.read(tenant_id)
        state = "unchanged" if current == doc else ("created" if current is None else "updated")
        if state != "unchanged" and not args.dry_run:
            backend.write(tenant_id, doc)
        counts[state] += 1
        print(f"[{i}/{total}] {tenant_id}: {state}{' (dry run)' if args.dry_run and state != 'unchanged' else ''}",
              file=sys.stderr, flush=True)
    print(f"{total} tenant(s): {counts['created']} created, {counts['updated']} updated, "
          f"{counts['unchanged']} unchanged{' (dry run, nothing written)' if args.dry_run else ''}")
    return 0


def cmd_tenants_new(args) -> int:
    return onboarding.cmd_new(args, _tenants_dir(args), _library(args))


def cmd_tenants_changed(args) -> int:
    library_root = Path(args.library) if args.library else default_library_dir()
    return delivery.cmd_tenants_changed(args, _files(args), library_root)


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_request(args) -> int:
    path = _tenants_dir(args) / f"{args.tenant}.yaml"
    if not path.is_file():
        print(f"townhall: no tenant file {path}", file=sys.stderr)
        return 1
    doc = load_yaml(path)
    try:
        project = doc["dialogflow"]["project"]
    except (TypeError, KeyError):
        print(f"{path}: dialogflow.project: missing (run townhall tenants validate)", file=sys.stderr)
        return 1
    params = {}
    for item in args.param:
        key, eq, value = item.partition("=")
        if not eq or not key:
            print(f"townhall: --param {item!r}: write it as name=value", file=sys.stderr)
            return 2
        params[key] = _value(value)
    contexts = {}
    for item in args.context:
        name, eq, value = item.partition("=")
        contexts[name] = _value(value) if eq else {}
        if not isinstance(contexts[name], dict):
            print(f"townhall: --context {item!r}: write it as name or name='{{json object}}'", file=sys.stderr)
            return 2
    body = wire.build_request(project, args.intent, parameters=params, text=args.text,
                              language_code=args.lang, session_id=args.session_id, contexts=contexts)
    print(json.dumps(body, indent=2, ensure_ascii=False))
    return 0


def cmd_process_new(args) -> int:
    from .scaffold import ScaffoldError, new_process

    root = Path(args.library) if args.library else default_library_dir()
    try:
        folder = new_process(root, args.id, args.title, args.title_cy, args.owner)
    except ScaffoldError as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 2
    print(f"created {folder}/ : edit its phrases, replies, schema and handler (docs/processes.md), then\n"
          f"  townhall process check {args.id}  and  townhall process catalogue")
    return 0


def cmd_process_check(args) -> int:
    from .librarycheck import check_library, check_process

    library = _library(args)
    unknown = [p for p in args.ids if p not in library.processes]
    if unknown:
        print(f"townhall: no such process: {', '.join(unknown)} (the library has: {', '.join(sorted(library.processes))})",
              file=sys.stderr)
        return 2
    problems = ([p for pid in args.ids for p in check_process(library.processes[pid])] if args.ids
                else check_library(library))
    for line in problems:
        print(line, file=sys.stderr)
    print(f"{len(problems)} problem(s) in {len(args.ids) or len(library.processes)} process(es)")
    return 1 if problems else 0


def cmd_process_catalogue(args) -> int:
    from .catalogue import render

    library = _library(args)
    path = (Path(args.library) if args.library else default_library_dir()) / "README.md"
    text = render(library)
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(f"townhall: {path} is out of date; run: townhall process catalogue", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({len(library.processes)} processes)")
    return 0


def cmd_fakes_serve(args) -> int:
    from .fakes import serve

    serve(args.host, args.port)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="townhall", description="Townhall: tenants, settings, requests, agents, chat and NLU.")
    p.add_argument("--tenants-dir", help="tenant files folder (default $TOWNHALL_TENANTS_DIR or infra/tenants)")
    p.add_argument("--library", help="process library folder (default ./library)")
    sub = p.add_subparsers(dest="command", required=True)

    tenants = sub.add_parser("tenants", aliases=["tenant"], help="tenant files").add_subparsers(dest="action", required=True)
    v = tenants.add_parser("validate", help="check tenant files against the core and process schemas")
    v.add_argument("files", nargs="*", help="files to check (default: every file in the tenants folder)")
    v.set_defaults(func=cmd_tenants_validate)
    new = tenants.add_parser("new", help="scaffold infra/tenants/<id>.yaml for a new council (docs/onboarding.md)")
    onboarding.add_arguments(new)
    new.set_defaults(func=cmd_tenants_new)
    ch = tenants.add_parser("changed", help="print the councils whose agent changed since the fingerprints in --since")
    ch.add_argument("--since", metavar="FILE", help="fingerprints JSON of the last deploy (none: every council)")
    ch.add_argument("--write", metavar="FILE", help="write the current fingerprints here (for the next run)")
    ch.add_argument("--demo", action="store_true", help="include demo tenants")
    ch.set_defaults(func=cmd_tenants_changed, files=None)

    settings = sub.add_parser("settings", help="settings in Firestore").add_subparsers(dest="action", required=True)
    push = settings.add_parser("push", help="validate tenant files and write them to Firestore (idempotent)")
    push.add_argument("--tenant", action="append", help="only this tenant (repeatable)")
    push.add_argument("--project", help="Google Cloud project of the Firestore database")
    push.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    push.add_argument("--webhook-hashes", metavar="FILE",
                      help="Terraform's webhook_password_sha256 output (JSON): push only those tenants, with those hashes")
    push.set_defaults(func=cmd_settings_push, files=None)

    r = sub.add_parser("request", help="print a WebhookRequest for a tenant, e.g. to send with curl")
    r.add_argument("tenant")
    r.add_argument("intent", help="intent display name, e.g. contact.opening_hours")
    r.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter (VALUE read as JSON when it parses, else as text)")
    r.add_argument("--context", action="append", default=[], metavar="NAME[=JSON]", help="an active context")
    r.add_argument("--text", default="", help="what the resident typed")
    r.add_argument("--lang", default="en", help="language code (en, cy, en-gb...)")
    r.add_argument("--session-id", help="session id (default: a new random one)")
    r.set_defaults(func=cmd_request)

    process = sub.add_parser("process", help="the process library").add_subparsers(dest="action", required=True)
    new = process.add_parser("new", help="scaffold a new process folder that passes the library's checks")
    new.add_argument("id", help="process id = folder name, e.g. garden_waste")
    new.add_argument("--title", required=True, help="English title, e.g. 'Garden waste'")
    new.add_argument("--title-cy", help="Welsh title (default: the English one; have it translated)")
    new.add_argument("--owner", default="Townhall library maintainers", help="who maintains it")
    new.set_defaults(func=cmd_process_new)
    check = process.add_parser("check", help="run the library's checks (all processes, or the ones named)")
    check.add_argument("ids", nargs="*", metavar="ID")
    check.set_defaults(func=cmd_process_check)
    cat = process.add_parser("catalogue", help="write library/README.md from the manifests and schemas")
    cat.add_argument("--check", action="store_true", help="exit 1 when library/README.md is out of date")
    cat.set_defaults(func=cmd_process_catalogue)

    fakes = sub.add_parser("fakes", help="local fakes of the upstream APIs (the sandbox)").add_subparsers(
        dest="action", required=True)
    f = fakes.add_parser("serve", help="serve every upstream fake (the demo tenants point at port 8090)")
    f.add_argument("--host", default="127.0.0.1")
    f.add_argument("--port", type=int, default=8090)
    f.set_defaults(func=cmd_fakes_serve)

    agent_commands.register(sub)
    simulator_commands.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (LibraryError, YamlError, BackendError) as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
