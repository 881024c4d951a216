"""``townhall tenants validate|new|changed`` and ``townhall settings push``.

``settings push`` writes each tenant's document (collection ``tenants``), then rewrites the tenant
index (``townhall/tenant-index``: every tenant's id, password hash and project) from the tenants
collection in one transaction, so the index the webhook checks credentials against always matches
the per-tenant documents, including tenants pushed earlier or by another run.

With ``--backend dynamodb`` (AWS, docs/aws.md) the same goes to the tenants table (one item per
tenant, and the index item ``#tenant-index``, rewritten with a conditional write);
``--create-tables`` makes both tables first where they are missing (local and test use).
"""

from __future__ import annotations

import os
import sys

from townhall.settings import INDEX_COLLECTION, INDEX_DOCUMENT, BackendError, FirestoreBackend

from .. import delivery, onboarding
from ..options import CommandError, command, group, library, library_dir, tenant_file, tenant_files, tenants_dir
from ..tenantfiles import check_files


def cmd_validate(args) -> int:
    files = tenant_files(args)
    _, errors = check_files(files, library(args), tenants_dir(args))
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 1
    print(f"{len(files)} tenant file(s) valid")
    return 0


def cmd_new(args) -> int:
    return onboarding.cmd_new(args, tenants_dir(args), library(args))


def cmd_changed(args) -> int:
    return delivery.cmd_tenants_changed(args, tenant_files(args), library_dir(args))


def cmd_push(args) -> int:
    files = [tenant_file(args, t) for t in args.tenant] if args.tenant else tenant_files(args)
    docs, errors = check_files(files, library(args), tenants_dir(args))
    if not errors:
        try:
            hashes = delivery.load_webhook_hashes(args.webhook_hashes) if args.webhook_hashes else None
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
    backend, index_name = _backend(args)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    total = len(docs)
    for i, (tenant_id, doc) in enumerate(sorted(docs.items()), 1):
        current = backend.read(tenant_id)
        state = "unchanged" if current == doc else ("created" if current is None else "updated")
        if state != "unchanged" and not args.dry_run:
            backend.write(tenant_id, doc)
        counts[state] += 1
        print(
            f"[{i}/{total}] {tenant_id}: {state}{' (dry run)' if args.dry_run and state != 'unchanged' else ''}",
            file=sys.stderr,
            flush=True,
        )
    try:
        index_state, indexed = backend.write_index(dry_run=args.dry_run, pending=docs if args.dry_run else None)
    except BackendError as e:
        print(f"{e}\nthe tenant documents are written; run settings push again to write the index", file=sys.stderr)
        return 1
    print(
        f"tenant index {index_name}: {index_state}, {indexed} tenant(s) can sign in"
        f"{' (dry run)' if args.dry_run and index_state != 'unchanged' else ''}",
        file=sys.stderr,
    )
    print(
        f"{total} tenant(s): {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged{' (dry run, nothing written)' if args.dry_run else ''}"
    )
    return 0


def _backend(args):
    """The settings backend to push to, and how its tenant index is named."""
    if getattr(args, "backend", "firestore") != "dynamodb":
        if getattr(args, "create_tables", False):
            raise CommandError("--create-tables is for --backend dynamodb", 2)
        return FirestoreBackend(), f"{INDEX_COLLECTION}/{INDEX_DOCUMENT}"
    from townhall import aws
    from townhall.aws.dynamodb import INDEX_ID, DynamoDBBackend, table_names

    from ..aws import create_tables

    tenants_table, side_effects_table = table_names()
    if args.create_tables and not args.dry_run:
        try:
            made = create_tables(aws.client("dynamodb"), tenants_table, side_effects_table)
        except Exception as e:
            raise BackendError(f"dynamodb: tables {tenants_table}, {side_effects_table} not made: {e}") from e
        for name in made:
            print(f"table {name}: created", file=sys.stderr)
    return DynamoDBBackend(tenants_table), f"{tenants_table}/{INDEX_ID}"


def register(sub) -> None:
    tenants = group(sub, "tenants", "tenant files", aliases=("tenant",))
    v = command(
        tenants,
        "validate",
        cmd_validate,
        "run every check a tenant file must pass (the core and process "
        "schemas, the process checks, ONS codes, Welsh name, placeholders), all problems at once",
    )
    v.add_argument("files", nargs="*", help="files to check (default: every file in the tenants folder)")
    new = command(tenants, "new", cmd_new, "scaffold infra/tenants/<id>.yaml for a new council (docs/onboarding.md)")
    onboarding.add_arguments(new)
    ch = command(
        tenants,
        "changed",
        cmd_changed,
        "print the councils whose agent changed since the fingerprints in --since",
        files=None,
    )
    ch.add_argument("--since", metavar="FILE", help="fingerprints JSON of the last deploy (none: every council)")
    ch.add_argument("--write", metavar="FILE", help="write the current fingerprints here (for the next run)")
    ch.add_argument("--demo", action="store_true", help="include demo tenants")

    settings = group(sub, "settings", "settings in Firestore or DynamoDB")
    push = command(
        settings,
        "push",
        cmd_push,
        "validate tenant files and write them and the tenant index to Firestore or DynamoDB (idempotent)",
        files=None,
    )
    push.add_argument("--tenant", action="append", help="only this tenant (repeatable)")
    push.add_argument("--project", help="Google Cloud project of the Firestore database")
    push.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    push.add_argument(
        "--backend",
        choices=("firestore", "dynamodb"),
        default="firestore",
        help="where settings go: Firestore (Google Cloud, the default) or DynamoDB (AWS: the table "
        "TOWNHALL_TENANTS_TABLE, default townhall-tenants; endpoint and region from the AWS environment)",
    )
    push.add_argument(
        "--create-tables",
        action="store_true",
        help="with --backend dynamodb: make the tenants and side-effect tables where missing (local and "
        "test use; in production Terraform makes them)",
    )
    push.add_argument(
        "--webhook-hashes",
        metavar="FILE",
        help="Terraform's webhook_password_sha256 output (JSON): push only those tenants, with those hashes",
    )
