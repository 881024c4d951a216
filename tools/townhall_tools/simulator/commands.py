"""``townhall chat`` and ``townhall nlu classify|eval`` (``register``: see ``townhall_tools.options``)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from ..agent.build import BuildError, build_tenant
from ..options import command, group, library, tenants_dir
from .nlu import NluError


def _export(args):
    return build_tenant(args.tenant, tenants_dir(args), library(args))


def _language(export, wanted: str | None) -> str:
    language = wanted or export.languages[0]
    if language not in export.languages:
        raise BuildError(
            f"{export.tenant.id} offers {', '.join(export.languages)}, not {language!r}; pick one of those"
        )
    return language


def cmd_chat(args) -> int:
    from .chat import ChatError, local_webhook, password_for, run
    from .nlu import NLU
    from .session import Session

    try:
        now = datetime.fromisoformat(args.now) if args.now else None
    except ValueError:
        print(
            f"townhall: --now {args.now!r}: write a London local time as YYYY-MM-DDTHH:MM, e.g. 2026-12-24T10:00",
            file=sys.stderr,
        )
        return 2
    try:
        export = _export(args)
        language = _language(export, args.lang)
        password = password_for(tenants_dir(args) / f"{args.tenant}.yaml", args.password_from_env)
        nlus = {language: NLU(export, language)}

        def nlu_for(wanted: str):
            """The agent in another of its languages (a reply switched the conversation to it)."""
            if wanted not in export.languages:
                return None
            if wanted not in nlus:
                nlus[wanted] = NLU(export, wanted)
            return nlus[wanted]

        def chat(url: str) -> int:
            session = Session(
                nlus[language],
                url=url,
                project=export.tenant.project,
                username=export.tenant.id,
                password=password,
                now=args.now,
                nlu_for=nlu_for,
            )
            return run(session, sys.stdin, sys.stdout, debug=not args.quiet, prompt=sys.stdin.isatty())

        if args.url:
            return chat(args.url)
        if args.logs:
            print(
                f"Starting a local webhook for {args.tenant} (files backend: {tenants_dir(args)}) ...", file=sys.stderr
            )
        with local_webhook(
            tenants_dir(args),
            Path(args.library) if args.library else None,
            logs=sys.stderr if args.logs else None,
            today=now.date() if now else None,
        ) as url:
            return chat(url)
    except (BuildError, NluError, ChatError, ValueError) as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 1


def cmd_classify(args) -> int:
    from .nlu import NLU

    try:
        export = _export(args)
        nlu = NLU(export, _language(export, args.lang), args.threshold)  # None: the agent's own
    except (BuildError, NluError) as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 1
    contexts = args.context or []
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        got = nlu.understand(text, contexts, datetime.now())
        print(
            json.dumps(
                {
                    "text": text,
                    "intent": got.intent.name if got.intent else None,
                    "confidence": got.confidence,
                    "parameters": got.parameters,
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
    return 0


def cmd_heldout(args) -> int:
    from .heldout import HeldoutError, evaluate, load, render
    from .nlu import NLU

    try:
        messages = load(Path(args.heldout))
        if args.tenant:
            messages = [m for m in messages if m.tenant == args.tenant]
        if args.lang:
            messages = [m for m in messages if m.language == args.lang]
        exports: dict = {}
        nlus: dict = {}

        def nlu_for(tenant: str, language: str):
            if (tenant, language) not in nlus:
                if tenant not in exports:
                    exports[tenant] = build_tenant(tenant, tenants_dir(args), library(args))
                export = exports[tenant]
                nlus[(tenant, language)] = NLU(export, _language(export, language), args.threshold)
            return nlus[(tenant, language)]

        report = evaluate(messages, nlu_for)
    except (HeldoutError, BuildError, NluError) as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 1
    print(f"{args.heldout}: {report.total} messages, classified by each tenant's own agent build")
    print(render(report, args.verbose))
    return 0


def cmd_eval(args) -> int:
    from .nlu import evaluate

    if args.heldout:
        return cmd_heldout(args)
    if not args.tenant:
        print("townhall: nlu eval needs --tenant (or --heldout FILE)", file=sys.stderr)
        return 2
    try:
        export = _export(args)
        languages = [_language(export, args.lang)] if args.lang else list(export.languages)
    except (BuildError, NluError) as e:
        print(f"townhall: {e}", file=sys.stderr)
        return 1
    print(
        f"{args.tenant}: held out {args.holdout:.0%} of each intent's phrases (seed {args.seed}); "
        f"trained on the rest; threshold {args.threshold if args.threshold is not None else 'the agent mlMinConfidence'}"
    )
    for language in languages:
        report = evaluate(export, language, args.holdout, args.seed, args.threshold)
        print(f"\n[{language}] top-1 accuracy {report.accuracy:.1%} ({report.correct}/{report.total})")
        for process, (correct, total) in sorted(report.by_process.items()):
            print(f"  {process:<24} {correct / total:6.1%}  ({correct}/{total})")
        if report.confused:
            print("  most confused (expected -> got):")
            for (expected, got), n in report.confused.most_common(args.top):
                print(f"    {n} x {expected} -> {got}")
        if args.verbose:
            for text, expected, got, confidence in report.misses:
                print(f"    miss: {text!r}: {expected} -> {got or '(fallback)'} ({confidence:.2f})")
    return 0


def register(sub) -> None:
    c = command(
        sub,
        "chat",
        cmd_chat,
        "chat with a tenant's bot in the terminal (simulator: a development and testing tool, not Dialogflow)",
    )
    c.add_argument("tenant")
    c.add_argument("--lang", help="en or cy (default: the tenant's first language)")
    c.add_argument("--url", help="a running webhook (default: start one on a free loopback port)")
    c.add_argument(
        "--password-from-env",
        metavar="VAR",
        help="webhook secret from this variable (default $TOWNHALL_WEBHOOK_PASSWORD, or a demo tenant's dev password)",
    )
    c.add_argument(
        "--now",
        help="London local time the webhook should use, e.g. 2026-12-24T10:00 "
        "(honoured when the webhook runs with TOWNHALL_DEV_CLOCK=1); the local "
        "upstream fakes count their dates from that day too",
    )
    c.add_argument("--quiet", action="store_true", help="hide the matched intent, parameters and contexts")
    c.add_argument(
        "--logs",
        action="store_true",
        help="show the local webhook's log and the upstream fakes' access log on stderr (hidden by default)",
    )

    nlu = group(sub, "nlu", "the simulator's intent classifier")
    k = command(nlu, "classify", cmd_classify, "one utterance per stdin line -> one JSON line each")
    k.add_argument("--tenant", required=True)
    k.add_argument("--lang", help="en or cy (default: the tenant's first language)")
    k.add_argument("--context", action="append", help="an active context (repeatable)")
    k.add_argument(
        "--threshold", type=float, default=None, help="fallback below this (default: the agent's mlMinConfidence)"
    )
    e = command(
        nlu,
        "eval",
        cmd_eval,
        "accuracy on held-out training phrases, per process, most confused pairs; or on a held-out set (--heldout)",
    )
    e.add_argument("--tenant", help="the tenant (required without --heldout; with it, only this tenant's messages)")
    e.add_argument(
        "--heldout",
        metavar="FILE",
        help="score a held-out set of residents' messages (tests/heldout/*.yaml) per kind and language",
    )
    e.add_argument("--lang", help="only this language (default: every language of the tenant)")
    e.add_argument("--holdout", type=float, default=0.2, help="share of each intent's phrases held out (default 0.2)")
    e.add_argument("--seed", type=int, default=1, help="seed of the deterministic split (default 1)")
    e.add_argument(
        "--threshold", type=float, default=None, help="fallback below this (default: the agent's mlMinConfidence)"
    )
    e.add_argument("--top", type=int, default=5, help="confused pairs to show (default 5)")
    e.add_argument("--verbose", action="store_true", help="list every miss")
