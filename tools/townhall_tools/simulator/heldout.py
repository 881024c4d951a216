"""Scoring the simulator on a held-out set of residents' messages (``tests/heldout/*.yaml``).

The set is written apart from the library's training phrases and never used to tune them or the
simulator. Each message names its tenant and language (from its group), a ``kind`` (plain, typo,
long, indirect, out_of_scope, chatter, angry, mixed), the processes whose answer would be right
(``expect``), the one right intent where it is unambiguous (``intent``), and the contexts active
when the resident types it (``contexts``, a mid-flow answer). See docs/simulator.md.

A message is classified by the same agent build as ``townhall chat`` (``agent.build``) through the
simulator's NLU, with its contexts active. It counts as right when the intent matched belongs to
one of the expected processes (a text that falls back belongs to ``fallback``) and, where an
``intent`` is given, is that intent. Expected processes the tenant's agent does not carry are
dropped first; when none is left, the message is right only if it falls back (or reaches
``signpost``/``fallback`` if those were expected).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from townhall.yamlio import YamlError, load_yaml

KINDS = ("plain", "typo", "long", "indirect", "out_of_scope", "chatter", "angry", "mixed")
OUT_OF_SCOPE_OK = {"fallback", "signpost"}
WHEN = datetime(2026, 12, 1, 10, 0)


class HeldoutError(Exception):
    """The held-out file is not readable or not in the documented form; the message says where."""


@dataclass(frozen=True)
class Message:
    tenant: str
    language: str
    text: str
    kind: str
    expect: tuple[str, ...]
    intent: str | None = None
    contexts: tuple[str, ...] = ()


@dataclass
class Outcome:
    message: Message
    got: str | None  # intent name, None = fell back
    confidence: float
    right: bool


@dataclass
class HeldoutReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def tally(self, key: Callable[[Outcome], Any], where: Callable[[Outcome], bool] = lambda o: True) -> dict:
        table: dict[Any, list[int]] = {}
        for o in self.outcomes:
            if where(o):
                row = table.setdefault(key(o), [0, 0])
                row[0] += o.right
                row[1] += 1
        return table

    @property
    def correct(self) -> int:
        return sum(o.right for o in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    def out_of_scope(self) -> tuple[int, int]:
        """(reached fallback or signpost, out-of-scope messages)."""
        scoped = [o for o in self.outcomes if o.message.kind == "out_of_scope"]
        return sum(process_of(o.got) in OUT_OF_SCOPE_OK for o in scoped), len(scoped)


def process_of(intent: str | None) -> str:
    return intent.split(".", 1)[0] if intent else "fallback"


def load(path: Path) -> list[Message]:
    try:
        doc = load_yaml(Path(path))
    except YamlError as e:
        raise HeldoutError(str(e)) from e
    except OSError as e:
        raise HeldoutError(f"{path}: not readable ({e})") from e
    if not isinstance(doc, Mapping) or not isinstance(doc.get("groups"), list):
        raise HeldoutError(f"{path}: expected a mapping with 'groups: [{{tenant, lang, messages}}]'")
    out = []
    for g, group in enumerate(doc["groups"]):
        where = f"{path}: groups[{g}]"
        if not isinstance(group, Mapping) or not group.get("tenant") or not group.get("lang"):
            raise HeldoutError(f"{where}: needs tenant, lang and messages")
        for m, msg in enumerate(group.get("messages") or []):
            at = f"{where}.messages[{m}]"
            if not isinstance(msg, Mapping) or not str(msg.get("text", "")).strip():
                raise HeldoutError(f"{at}: needs a text")
            kind = msg.get("kind")
            if kind not in KINDS:
                raise HeldoutError(f"{at}: kind {kind!r} is not one of {', '.join(KINDS)}")
            expect = msg.get("expect")
            if not isinstance(expect, list) or not expect:
                raise HeldoutError(f"{at}: expect must be a non-empty list of processes")
            intent = msg.get("intent")
            if intent and process_of(intent) not in expect:
                raise HeldoutError(f"{at}: intent {intent!r} is not of an expected process {expect}")
            out.append(
                Message(
                    str(group["tenant"]),
                    str(group["lang"]),
                    str(msg["text"]),
                    kind,
                    tuple(str(e) for e in expect),
                    str(intent) if intent else None,
                    tuple(str(c).lower() for c in msg.get("contexts") or ()),
                )
            )
    return out


def judge(message: Message, got: str | None, carried: Iterable[str]) -> bool:
    """Is ``got`` (an intent, None = fallback) a right answer to ``message`` for an agent that
    carries the processes ``carried``?"""
    carried = set(carried) | {"fallback"}
    expect = [p for p in message.expect if p in carried]
    reached = process_of(got)
    if not expect:  # the agent has none of the right processes: only an honest fallback will do
        return reached == "fallback"
    if reached not in expect:
        return False
    return (
        not message.intent
        or process_of(message.intent) not in carried
        or got == message.intent
        or (got is None and message.intent.startswith("fallback."))
    )


def evaluate(messages: list[Message], nlu_for: Callable[[str, str], Any]) -> HeldoutReport:
    """Classify every message with ``nlu_for(tenant, language)`` (an ``nlu.NLU``)."""
    report = HeldoutReport()
    for message in messages:
        nlu = nlu_for(message.tenant, message.language)
        got = nlu.understand(message.text, message.contexts, WHEN)
        name = got.intent.name if got.intent else None
        if got.intent is not None and got.intent.fallback and not got.intent.input_contexts:
            name = None  # the agent's own fallback intent matched: it falls back
        carried = {process_of(i.name) for i in nlu.intents}
        report.outcomes.append(Outcome(message, name, got.confidence, judge(message, name, carried)))
    return report


def render(report: HeldoutReport, verbose: bool = False) -> str:
    def pct(row):
        return f"{row[0] / row[1]:6.1%} ({row[0]}/{row[1]})" if row[1] else "     - (0/0)"

    lines = [f"held-out top-1: {pct([report.correct, report.total])}"]
    reached, scoped = report.out_of_scope()
    lines.append(f"out of scope reaching fallback or signpost: {pct([reached, scoped])}")
    by_lang = report.tally(lambda o: (o.message.tenant, o.message.language))
    lines.append("\nper tenant and language:")
    for (tenant, language), row in sorted(by_lang.items()):
        lines.append(f"  {tenant:<10} {language:<3} {pct(row)}")
    languages = sorted({o.message.language for o in report.outcomes})
    lines.append("\nper kind:")
    header = f"  {'kind':<14}{'all':>18}" + "".join(f"{lang:>18}" for lang in languages)
    lines.append(header)
    by_kind = report.tally(lambda o: o.message.kind)
    by_kind_lang = report.tally(lambda o: (o.message.kind, o.message.language))
    for kind in KINDS:
        if kind not in by_kind:
            continue
        cells = [pct(by_kind[kind])] + [pct(by_kind_lang.get((kind, lang), [0, 0])) for lang in languages]
        lines.append(f"  {kind:<14}" + "".join(f"{c:>18}" for c in cells))
    off = report.tally(lambda o: o.message.kind != "plain")
    lines.append(f"  {'off-script':<14}{pct(off.get(True, [0, 0])):>18}")
    if verbose:
        lines.append("\nmisses:")
        for o in report.outcomes:
            if not o.right:
                m = o.message
                want = m.intent or "|".join(m.expect)
                ctx = f" [{', '.join(m.contexts)}]" if m.contexts else ""
                lines.append(
                    f"  {m.tenant}/{m.language} {m.kind}: {m.text!r}{ctx}: {want} -> "
                    f"{o.got or '(fallback)'} ({o.confidence:.2f})"
                )
    return "\n".join(lines)
