"""The ``townhall`` command: tenants, settings and requests (``townhall --help``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from . import delivery, onboarding, wire
from .library import Library, LibraryError, default_library_dir
from .settings import TENANT_ID, BackendError, FilesBackend, FirestoreBackend
from .tenants import validate
from .yamlio import YamlError, load_yaml


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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="townhall", description="Townhall: tenants, settings and requests.")
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
