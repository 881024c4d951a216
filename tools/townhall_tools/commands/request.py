"""``townhall request``: a WebhookRequest for a tenant, to send to a webhook with curl.

``--event lambda`` prints it wrapped as a Lambda Function URL event (payload format 2.0) with the
tenant's webhook credential (a demo tenant's dev password, or ``--password-from-env``), to invoke
``functions/lambda_main.handler`` with (docs/aws.md).
"""

from __future__ import annotations

import json

from townhall import wire

from ..options import CommandError, command, library, read_tenant, tenant_file


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def intents_for(doc: dict, lib) -> list[str]:
    """The intents the tenant answers: those of the library's processes it has switched on."""
    processes = doc.get("processes") if isinstance(doc.get("processes"), dict) else {}
    return sorted(
        name
        for pid, settings in processes.items()
        if pid in lib.processes and (settings or {}).get("enabled", True) is not False
        for name in lib.processes[pid].intents
    )


def check_intent(tenant: str, intent: str, doc: dict, lib) -> None:
    valid = intents_for(doc, lib)
    if intent in valid:
        return
    process = lib.for_intent(intent)
    if process is None:
        why = f"the library has no intent {intent!r}"
    else:
        why = f"{tenant} has not switched on the process {process.id!r} ({intent!r} is one of its intents)"
    raise CommandError(f"request {tenant} {intent}: {why}. {tenant}'s intents: {', '.join(valid) or 'none'}", 2)


def cmd_request(args) -> int:
    doc = read_tenant(args, args.tenant)
    try:
        project = doc["dialogflow"]["project"]
    except (TypeError, KeyError):
        path = tenant_file(args, args.tenant)
        raise CommandError(f"{path}: dialogflow.project: missing (run: townhall tenants validate {path})") from None
    check_intent(args.tenant, args.intent, doc, library(args))
    params = {}
    for item in args.param:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise CommandError(f"--param {item!r}: write it as name=value", 2)
        params[key] = _value(value)
    contexts = {}
    for item in args.context:
        name, eq, value = item.partition("=")
        contexts[name] = _value(value) if eq else {}
        if not isinstance(contexts[name], dict):
            raise CommandError(f"--context {item!r}: write it as name or name='{{json object}}'", 2)
    body = wire.build_request(
        project,
        args.intent,
        parameters=params,
        text=args.text,
        language_code=args.lang,
        session_id=args.session_id,
        contexts=contexts,
    )
    if args.event == "lambda":
        from ..aws import basic, function_url_event
        from ..simulator.chat import ChatError, password_for

        try:
            password = password_for(tenant_file(args, args.tenant), args.password_from_env)
        except ChatError as e:
            raise CommandError(f"request {args.tenant} --event lambda: {e}", 2) from None
        headers = {"Content-Type": "application/json", "Authorization": basic(args.tenant, password)}
        body = function_url_event(json.dumps(body, ensure_ascii=False), headers)
    print(json.dumps(body, indent=2, ensure_ascii=False))
    return 0


def register(sub) -> None:
    r = command(sub, "request", cmd_request, "print a WebhookRequest for a tenant, e.g. to send with curl")
    r.add_argument("tenant")
    r.add_argument("intent", help="intent display name, e.g. contact.opening_hours (one the tenant has switched on)")
    r.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter (VALUE read as JSON when it parses, else as text)",
    )
    r.add_argument("--context", action="append", default=[], metavar="NAME[=JSON]", help="an active context")
    r.add_argument("--text", default="", help="what the resident typed")
    r.add_argument("--lang", default="en", help="language code (en, cy, en-gb...)")
    r.add_argument("--session-id", help="session id (default: a new random one)")
    r.add_argument(
        "--event",
        choices=("webhook", "lambda"),
        default="webhook",
        help="webhook: the WebhookRequest (default); lambda: a Lambda Function URL event (payload 2.0) carrying it "
        "with the tenant's credential",
    )
    r.add_argument(
        "--password-from-env",
        metavar="VAR",
        help="with --event lambda: the webhook password from this variable (demo tenants: their dev password)",
    )
