"""``townhall agent build`` and ``townhall agent deploy`` (``register``: see ``townhall_tools.options``)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..options import command, group, library, tenants_dir
from .build import BuildError, build_tenant, tenant_ids
from .deploy import DeployError


def progress(done: int, total: int, label: str, width: int = 30) -> None:
    """One line on stderr, redrawn in place on a terminal and a line per step otherwise."""
    filled = width * done // max(total, 1)
    line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}"
    if sys.stderr.isatty():
        print(f"\r{line:<{width + 60}}", end="\n" if done == total else "", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


def cmd_build(args) -> int:
    lib, folder = library(args), tenants_dir(args)
    out = Path(args.out)
    if args.all == bool(args.tenant):
        print("townhall: agent build: name one TENANT or give --all", file=sys.stderr)
        return 2
    try:
        if not args.all:
            export = build_tenant(args.tenant, folder, lib)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(export.zip_bytes())
            print(f"{out}: {args.tenant}'s agent, {_summary(export)}")
            return 0
        ids = tenant_ids(folder)
        if not ids:
            print(f"townhall: no tenant files (*.yaml) in {folder}", file=sys.stderr)
            return 1
        out.mkdir(parents=True, exist_ok=True)
        for i, tenant_id in enumerate(ids, 1):
            progress(i - 1, len(ids), tenant_id)
            (out / f"{tenant_id}.zip").write_bytes(build_tenant(tenant_id, folder, lib).zip_bytes())
        progress(len(ids), len(ids), "done")
        print(f"{out}: {len(ids)} agent(s)")
        return 0
    except (BuildError, OSError) as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 1


def _summary(export) -> str:
    intents = sum(1 for _ in export.intents())
    entities = sum(1 for _ in export.entities())
    return f"{intents} intents, {entities} entities, languages {', '.join(export.languages)}"


def cmd_deploy(args) -> int:
    from .deploy import deploy, webhook_password, webhook_url

    try:
        export = build_tenant(args.tenant, tenants_dir(args), library(args))
        url = webhook_url(args.webhook_url)
        password = webhook_password(export.tenant, args.password_from_env, args.platform_project)
        deploy(export, url, password, say=lambda line: print(line, file=sys.stderr, flush=True))
    except (BuildError, DeployError) as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 1
    print(f"{args.tenant}: agent restored, fulfillment set, trained ({_summary(export)})")
    return 0


def register(sub) -> None:
    agent = group(sub, "agent", "the tenant's Dialogflow ES agent")
    b = command(agent, "build", cmd_build, "write the agent export ZIP (Dialogflow console: Restore from ZIP)")
    b.add_argument("tenant", nargs="?", help="tenant id (infra/tenants/<id>.yaml)")
    b.add_argument("--all", action="store_true", help="every tenant; --out is then a folder")
    b.add_argument("--out", required=True, help="FILE.zip for one tenant, a folder with --all")
    d = command(
        agent, "deploy", cmd_deploy, "restore the agent into the tenant's project, train it, set its fulfillment"
    )
    d.add_argument("tenant")
    d.add_argument("--webhook-url", help="the webhook's https:// URL (default $TOWNHALL_WEBHOOK_URL)")
    d.add_argument(
        "--password-from-env",
        metavar="VAR",
        help="read the webhook secret from this environment variable (default $TOWNHALL_WEBHOOK_PASSWORD, "
        "else Secret Manager townhall-<tenant>-webhook-password)",
    )
    d.add_argument(
        "--platform-project",
        help="project holding the Secret Manager secrets (default $TOWNHALL_PLATFORM_PROJECT or $GOOGLE_CLOUD_PROJECT)",
    )
