"""callback: a resident asks the council to ring them back.

With a ``form_url`` in the settings the resident is sent to the council's own callback form.
Otherwise the bot asks, one at a time, for a name, a phone number, a good time to call and what
it is about (a phone number in the first message is kept: "can you ring me back on 01632 960123"),
shows a summary, and sends the request to the council's team through GOV.UK Notify only after an
unambiguous yes. Every step keeps what was collected in the ``callback`` context; a refusal or a
change of mind at any step ends the journey with nothing sent.

The request goes to ``team_email`` with the council's Notify email template (personalisation
``council``, ``summary``, ``reference``), once per conversation and request: the reference is a
digest of the conversation and the details, and ``notify.confirm`` sends through
``upstream.once`` keyed on it, so a repeated "yes" or a Dialogflow retry sends nothing more.
"""

from __future__ import annotations

import hashlib
import re

from townhall.contract import Link, OutputContext, Reply, Settings, Texts, Turn
from townhall.kit import consent as kit_consent
from townhall.kit import fold, phone
from townhall.replies import how_to_reach
from townhall.upstreams import notify

CONTEXT = "callback"
LIFESPAN = 3
DECLINE_WORDS = 6  # a longer "decline" while a detail is asked for is taken as the detail ("I don't know why...")
STEPS = ("name", "phone", "time", "topic")
LIMITS = {"name": 100, "phone": 20, "time": 100, "topic": 300}
# Words before a name residents often add: "my name is", "it's", "fy enw i yw", "Siân ydw i".
_NAME_LEAD = re.compile(
    r"^(?:(?:hi|hello|helo|shwmae)[,!. ]+)?(?:my name is|my names|my name's|name is|name's|names|"
    r"i am|im|i'm|it is|its|it's|this is|call me|ask for|fy enw i yw|fy enw i ydy|fy enw yw|"
    r"fy enw i|enw|ydw i|dw i)\s+",
    re.IGNORECASE,
)
_NAME_TAIL = re.compile(r"\s+(?:ydw i|dw i|yw fy enw|ydy fy enw|here|thanks|thank you|diolch)[.!]*$", re.IGNORECASE)


def phone_in(turn: Turn) -> str | None:
    """The UK phone number given this turn (``townhall.kit.phone``: ``@sys.phone-number``, else
    the words, as Dialogflow often extracts none in Welsh), written to be read back
    ("01632 960123"), or None."""
    digits = phone(turn)
    if digits is None:
        return None
    return f"{digits[:5]} {digits[5:]}" if len(digits) == 11 else f"{digits[:4]} {digits[4:]}"


def _name(text: str) -> str:
    name = _NAME_LEAD.sub("", text.strip()).strip(" .,!")
    return _NAME_TAIL.sub("", name).strip(" .,!")


def _details(turn: Turn) -> dict[str, str]:
    """What was collected, kept in the context under ``given_<step>``: never under an intent's
    parameter name, which Dialogflow would overwrite with whatever the next message carries."""
    context = turn.context(CONTEXT)
    kept = dict(context.parameters) if context else {}
    return {k: kept[f"given_{k}"] for k in STEPS if isinstance(kept.get(f"given_{k}"), str) and kept[f"given_{k}"]}


def _keep(details: dict[str, str], step: str) -> OutputContext:
    return OutputContext(CONTEXT, LIFESPAN, {**{f"given_{k}": v for k, v in details.items()}, "step": step})


def _ask(t: Texts, details: dict[str, str], step: str, lead: list[str] | None = None) -> Reply:
    return Reply([*(lead or []), t(f"ask_{step}")], contexts=[_keep(details, step)])


def _next(t: Texts, details: dict[str, str], lead: list[str] | None = None) -> Reply:
    for step in STEPS:
        if step not in details:
            return _ask(t, details, step, lead)
    return Reply(
        [*(lead or []), t("summary", **details), t("ask_send")],
        quick_replies=[t("yes_send"), t("no_send")],
        contexts=[_keep(details, "confirm")],
    )


def _declined(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    reach, links = how_to_reach(settings.council, turn.language)
    return Reply([t("not_sent"), reach], links=links, contexts=[OutputContext(CONTEXT, 0)])


def consent(turn: Turn) -> bool | None:
    """The resident's answer to "shall I send it?": the kit's one rule (``townhall.kit.consent``:
    the words decide, True only for an unambiguous yes), and stricter still on a decline intent:
    its words read as unclear are a no, and read as a yes are asked again, never sent."""
    said = kit_consent(turn)
    if turn.action == "decline" and said is not False:
        return False if said is None else None
    return said


def request(turn: Turn, settings: Settings) -> Reply:
    t, s = settings.texts, settings.process
    form = s.get("form_url")
    if form:
        return Reply([t("use_form")], links=[Link(t("form_link"), form)])
    details = {}
    number = phone_in(turn)
    if number:
        details["phone"] = number
    return _next(t, details, [t("intro")])


def answer(turn: Turn, settings: Settings) -> Reply:
    """An answer to the question asked (the ``step`` kept in the context)."""
    t = settings.texts
    context = turn.context(CONTEXT)
    if context is None:  # the context expired: start again
        return request(turn, settings)
    details, step = _details(turn), context.parameters.get("step")
    if step == "confirm":
        return confirm(turn, settings)
    if step not in STEPS:
        return _next(t, details)
    text = " ".join(turn.query_text.split())
    if turn.action == "decline" and len(text.split()) <= DECLINE_WORDS:
        return _declined(turn, settings)  # "no, forget it", "actually don't bother" when asked for a detail
    if step == "phone":
        number = phone_in(turn)
        if number is None:
            return _ask(t, details, "phone", [t("not_a_phone")])
        details["phone"] = number
    else:
        value = _name(text) if step == "name" else text
        if not fold(value) or turn.action == "confirm":
            return _ask(t, details, step)
        if len(value) > LIMITS[step]:
            return _ask(t, details, step, [t("too_long", most=LIMITS[step])])
        details[step] = value
    return _next(t, details)


def reference(turn: Turn, details: dict[str, str]) -> str:
    """A stable reference for this request: the same conversation and details give the same one,
    and it holds nothing personal (a digest)."""
    digest = hashlib.sha256("\n".join([turn.conversation, *(details[k] for k in STEPS)]).encode("utf-8"))
    return "CB-" + digest.hexdigest()[:8].upper()


def confirm(turn: Turn, settings: Settings) -> Reply:
    t, s = settings.texts, settings.process
    details = _details(turn)
    if len(details) < len(STEPS):
        return _next(t, details)
    decision = consent(turn)
    if decision is False:
        return _declined(turn, settings)
    if decision is None:
        return Reply(
            [t("unclear"), t("ask_send")],
            quick_replies=[t("yes_send"), t("no_send")],
            contexts=[_keep(details, "confirm")],
        )
    ref = reference(turn, details)
    summary = t("team_summary", **details, language=t("language_name"))
    result = None
    if settings.upstream is not None and s.get("team_email") and s.get("notify"):
        result = notify.confirm(
            settings.upstream,
            s["notify"],
            s["team_email"],
            {"council": settings.council.name, "summary": summary, "reference": ref},
            ref,
            turn.deadline,
        )
    if result is None or not result.sent:
        reach, links = how_to_reach(settings.council, turn.language)
        # "unknown": sent, no answer in time. It may have reached the team; a "yes" looks it up by
        # its reference first and never sends it twice.
        failed = "send_unknown" if result is not None and result.problem == "unknown" else "send_failed"
        return Reply(
            [t(failed), reach],
            quick_replies=[t("yes_send"), t("no_send")],
            links=links,
            contexts=[_keep(details, "confirm")],
        )
    return Reply(
        [t("sent", phone=details["phone"], time=details["time"], reference=ref)],
        contexts=[OutputContext(CONTEXT, 0), OutputContext("callback-sent", 2, {"reference": ref})],
    )


def handle(turn: Turn, settings: Settings) -> Reply:
    context = turn.context(CONTEXT)
    step = context.parameters.get("step") if context else None
    if turn.action == "request":
        if step in STEPS:  # asked again mid-way: carry on where we were
            return _next(settings.texts, _details(turn))
        return request(turn, settings)
    if turn.action in ("confirm", "decline") and step == "confirm":
        return confirm(turn, settings)
    if context is None and turn.action == "decline":
        return _declined(turn, settings)
    return answer(turn, settings)
