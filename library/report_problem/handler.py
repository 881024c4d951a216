"""report_problem: report a street problem to the council through Open311, and get a reference.

The flow (carried in the ``report_problem-report`` context, see ``flow.py``):

    category -> the service's required questions -> location -> details -> contact (or skip)
    -> confirm (or change a part) -> submit once -> reference (and a Notify confirmation)

Categories are the council's Open311 services (``categories.py``); in a two-tier area those the
county owns go to the county's endpoint. Every turn that continues the flow reads what the
resident typed as the answer to the step last asked, whichever of the process's intents matched,
so a misheard intent never derails the report. Any upstream failure ends in a reply that says
what to do instead, with the council's contact details, and keeps the report so far.
"""

from __future__ import annotations

from townhall import postcodes
from townhall.contract import Reply, Settings, Turn
from townhall.kit import consent, email, fold, localised, phone, pick, postcode, yes_no
from townhall.replies import how_to_reach
from townhall.upstream import UpstreamError
from townhall.upstreams import notify, open311

from . import answers, categories, matching
from .categories import Category
from .flow import DATA, SKIPPED, STEP_CONTEXTS, Flow

FOOTER = "Submitted via the council's chatbot"
MIN_DETAILS = 8
MAX_PLACE = 300
DEFAULT_MAX_DETAILS = 1000


# -- replies ---------------------------------------------------------------------------------------


def _owner(settings: Settings, category: Category | None, language: str) -> str:
    if category is not None and category.tier == "county":
        return localised(settings.process.get("county_name"), language) or settings.council.name
    return settings.council.name


def _label(settings: Settings, category: Category, language: str) -> str:
    return categories.shown(settings.process, category.name, language)


def _failure(turn: Turn, settings: Settings, lead: list[str], flow: Flow | None, quick_replies=()) -> Reply:
    """What went wrong, the council's contact details, and the report kept for another try."""
    reach, links = how_to_reach(settings.council, turn.language)
    return Reply(
        [*lead, reach], quick_replies=quick_replies, links=links, contexts=flow.contexts() if flow is not None else ()
    )


def _example(settings: Settings) -> str:
    return settings.process.get("example_postcode") or "SW1A 2AA"


def _confirm_choices(t) -> list[str]:
    return [
        t("send"),
        t("decline"),
        t("change_category"),
        t("change_location"),
        t("change_details"),
        t("change_contact"),
    ]


def _cleared() -> list:
    """Contexts that end the report: nothing collected is kept."""
    from townhall.contract import OutputContext

    return [OutputContext(DATA, 0), *(OutputContext(name, 0) for name in STEP_CONTEXTS.values())]


# Openings of a message that asks for something else rather than answering the step.
_ELSEWHERE = tuple(
    fold(p)
    for p in (
        "what",
        "whats",
        "what's",
        "when",
        "whens",
        "when's",
        "why",
        "how do",
        "how can",
        "how much",
        "how long",
        "can i",
        "can you",
        "could you",
        "where do",
        "where can",
        "where is my",
        "i want to",
        "i would like to",
        "i'd like to",
        "id like to",
        "i need to apply",
        "tell me",
        "is it going to",
        "pryd",
        "beth",
        "pam",
        "sut",
        "ble mae",
        "ble alla",
        "alla i",
        "allwch chi",
        "dwi eisiau",
        "dw i eisiau",
        "dwi isie",
        "hoffwn i",
        "licen i",
    )
)


def asks_elsewhere(text: str) -> bool:
    """Whether the words ask for something else (a question, another service) rather than answer
    the step: "what's the weather", "I want to apply for planning permission", "pryd mae fy min"."""
    said = fold(text)
    return any(said == p or said.startswith(p + " ") for p in _ELSEWHERE)


def off_track(turn: Turn, settings: Settings, flow: Flow) -> Reply:
    """Text a step cannot use: say so, ask the step again, and offer to leave the report."""
    t = settings.texts
    reply = ask(turn, settings, flow)
    return Reply(
        [t("cannot_use", text=turn.query_text.strip()[:80]), *reply.text[-1:]],
        quick_replies=[*reply.quick_replies, t("leave_report")][:10],
        contexts=reply.contexts,
    )


def leave(turn: Turn, settings: Settings, flow: Flow) -> Reply:
    """The resident leaves the report before it is sent: nothing is sent, and they hear so."""
    t = settings.texts
    return Reply(
        [t("declined", owner=_owner(settings, flow.category, turn.language))],
        quick_replies=[t("report_another")],
        contexts=_cleared(),
    )


def _summary(turn: Turn, settings: Settings, flow: Flow) -> list[str]:
    t = settings.texts
    lines = [t("summary_intro"), t("summary_problem", category=_label(settings, flow.category, turn.language))]
    lines += [t("summary_answer", question=q, answer=a) for q, a in flow.shown_answers]
    lines += [t("summary_place", place=flow.place["text"]), t("summary_details", details=flow.details)]
    if isinstance(flow.contact, notify.Contact):
        key = "summary_confirmation" if notify.channels(settings.process.get("notify")) else "summary_contact"
        lines.append(t(key, contact=flow.contact.display))
    else:
        lines.append(t("summary_no_contact"))
    return ["\n".join(lines), t("ask_send", owner=_owner(settings, flow.category, turn.language))]


def ask(turn: Turn, settings: Settings, flow: Flow, lead: list[str] | None = None) -> Reply:
    """Ask for the first thing still missing (or confirm), remembering what was asked."""
    t, s = settings.texts, settings.process
    lead = list(lead or [])
    step = flow.next_step()
    if step == "category":
        return offer_categories(turn, settings, flow.with_(group=None), lead)
    if step == "contact" and s.get("ask_contact", True) is False:
        return ask(turn, settings, flow.with_(contact=SKIPPED), lead)
    flow = flow.with_(asked=step)
    choices: list[str] = []
    if step == "question":
        question = flow.questions[0]
        text = categories.shown(s, question.text, turn.language)
        hint = categories.welsh(s, question.hint, turn.language) if turn.language == "cy" else question.hint
        prompt = f"{text} ({hint})" if hint and question.type == "datetime" else text
        if question.is_list:
            choices = [categories.shown(s, name, turn.language) for _, name in question.values]
            prompt = (
                t("choose_one", question=prompt)
                if question.type == "singlevaluelist"
                else t("choose_some", question=prompt)
            )
        lead.append(prompt)
    elif step == "location":
        lead.append(t("ask_location"))
    elif step == "details":
        lead.append(t("ask_details"))
    elif step == "contact":
        channels = notify.channels(s.get("notify"))
        key = {("email", "sms"): "ask_contact_both", ("email",): "ask_contact_email", ("sms",): "ask_contact_sms"}
        lead.append(t(key.get(channels, "ask_contact_plain")))
        choices = [t("no_thanks")]
    else:  # confirm
        lead += _summary(turn, settings, flow)
        choices = _confirm_choices(t)
    return Reply(lead, quick_replies=choices, contexts=flow.contexts())


def offer_categories(
    turn: Turn,
    settings: Settings,
    flow: Flow,
    lead: list[str],
    only: tuple[Category, ...] | None = None,
    offer: categories.Offer | None = None,
) -> Reply:
    """Ask which problem it is: ``only`` these categories, or the council's menu (``offer``, or
    read now)."""
    t = settings.texts
    flow = flow.with_(asked="category", category=None, questions=(), answers={}, shown_answers=())
    if only is not None:
        labels = [_label(settings, c, turn.language) for c in only][: categories.MAX_CHOICES]
        return Reply([*lead, t("ask_category_in_group")], quick_replies=labels, contexts=flow.contexts())
    if offer is None:
        try:
            offer = categories.offer(settings.process, settings.upstream, turn.deadline)
        except UpstreamError:
            return _failure(turn, settings, [*lead, t("categories_unavailable")], flow)
    if offer.unavailable:
        lead.append(t("some_categories_unavailable"))
    return Reply(
        [*lead, t("ask_category")],
        quick_replies=categories.menu(settings.process, offer.categories, turn.language),
        contexts=flow.contexts(),
    )


# -- steps -----------------------------------------------------------------------------------------


def start(turn: Turn, settings: Settings, lead: list[str] | None = None) -> Reply:
    """A new report: take the category (and a postcode) from the first message if it names them."""
    flow = Flow()
    given = postcode(turn)
    if given:
        flow = flow.with_(place={"postcode": given, "text": given})
    entity = turn.param("category")
    if not isinstance(entity, str) and not matching.words(turn.query_text):
        return offer_categories(turn, settings, flow, list(lead or []))
    return choose_category(turn, settings, flow, lead=list(lead or []), quiet=not isinstance(entity, str))


def choose_category(
    turn: Turn, settings: Settings, flow: Flow, lead: list[str] | None = None, quiet: bool = False
) -> Reply:
    """Match what was said to the council's categories. ``quiet``: nothing matching is no news
    (a first message such as "report a problem")."""
    t, s = settings.texts, settings.process
    lead = list(lead or [])
    try:
        offer = categories.offer(s, settings.upstream, turn.deadline)
    except UpstreamError:
        return _failure(turn, settings, [*lead, t("categories_unavailable")], flow.with_(asked="category"))
    pool = offer.categories
    labels = {c: categories.labels(s, c) for c in pool}
    text = turn.query_text
    entity = turn.param("category")
    if not matching.match(text, pool, labels, strict=True):  # "the second one", "yr ail": the menu on screen
        on_screen = (
            [_label(settings, c, turn.language) for c in pool if c.group == flow.group][: categories.MAX_CHOICES]
            if flow.group
            else categories.menu(s, pool, turn.language)
        )
        picked = pick(text, on_screen)
        if picked.index is not None and fold(text) != fold(on_screen[picked.index]):
            text, entity = on_screen[picked.index], None
        elif not quiet and not isinstance(entity, str) and asks_elsewhere(text):
            lead.append(t("cannot_use", text=text.strip()[:80]))
            reply = offer_categories(turn, settings, flow, lead, offer=offer)
            return Reply(
                reply.text, quick_replies=[*reply.quick_replies, t("leave_report")][:10], contexts=reply.contexts
            )
    if matching.is_other(text):
        return _failure(
            turn,
            settings,
            [*lead, t("not_listed")],
            flow.with_(asked="category", group=None),
            quick_replies=categories.menu(s, pool, turn.language),
        )
    if offer.hidden and not matching.match(text, pool, labels, strict=True):
        elsewhere = matching.match(text, offer.hidden, {c: categories.labels(s, c) for c in offer.hidden}, strict=True)
        if len(elsewhere) == 1:  # a service the council takes through another process
            lead.append(t("not_here", category=_label(settings, elsewhere[0], turn.language)))
            return offer_categories(turn, settings, flow, lead, offer=offer)
    group = matching.group_named(text, categories.groups(s, pool))
    if group is not None:
        in_group = tuple(c for c in pool if c.group == group)
        if len(in_group) == 1:
            return chosen(turn, settings, flow, in_group[0], lead)
        return offer_categories(turn, settings, flow.with_(group=group), lead, only=in_group)
    found: list[Category] = []
    if flow.group:  # the resident was choosing within a group: look there first
        in_group = tuple(c for c in pool if c.group == flow.group)
        found = matching.match(text, in_group, labels)
    if not found and isinstance(entity, str):
        found = matching.match(entity, pool, labels)
    if not found or len(found) > 1:
        found = matching.match(text, pool, labels, strict=quiet) or found
    if len(found) == 1:
        return chosen(turn, settings, flow, found[0], lead)
    if found:
        return offer_categories(turn, settings, flow, [*lead, t("category_ambiguous")], only=tuple(found))
    if not quiet:
        lead.append(t("category_not_found", text=text.strip()[:100]))
        if offer.unavailable:
            reach, _ = how_to_reach(settings.council, turn.language)
            lead.append(reach)
    return offer_categories(turn, settings, flow, lead, offer=offer)


def chosen(turn: Turn, settings: Settings, flow: Flow, category: Category, lead: list[str]) -> Reply:
    """The category is settled: fetch its required questions, then ask what is still missing."""
    t = settings.texts
    questions: list[answers.Question] = []
    if category.metadata:
        endpoint = settings.process["endpoints"].get(category.tier)
        try:
            definition = open311.Client(settings.upstream, endpoint).definition(category.code, turn.deadline)
        except UpstreamError:
            return _failure(turn, settings, [*lead, t("questions_unavailable")], flow.with_(asked="category"))
        questions = answers.questions(definition)
    flow = flow.with_(category=category, group=None, questions=tuple(questions), answers={}, shown_answers=())
    lead.append(t("chosen", category=_label(settings, category, turn.language)))
    if category.tier == "county":
        lead.append(t("county_owns", county=_owner(settings, category, turn.language)))
    return ask(turn, settings, flow, lead)


def answer_question(turn: Turn, settings: Settings, flow: Flow) -> Reply:
    t, s = settings.texts, settings.process
    question = flow.questions[0]
    names = {name: categories.shown(s, name, turn.language) for _, name in question.values}
    try:
        value, shown = answers.answer(question, turn.query_text, turn.now.date(), names)
    except answers.InvalidAnswer as e:
        reply = ask(turn, settings, flow)
        return Reply(
            [t(f"invalid_{e.reason}"), *reply.text], quick_replies=reply.quick_replies, contexts=reply.contexts
        )
    asked = categories.shown(s, question.text, turn.language)
    flow = flow.with_(
        questions=flow.questions[1:],
        answers={**flow.answers, question.code: value},
        shown_answers=(*flow.shown_answers, (asked, shown)),
    )
    return ask(turn, settings, flow)


def _looks_like_a_postcode_attempt(text: str) -> bool:
    said = text.strip()
    return (
        0 < len(said.replace(" ", "")) <= 8
        and len(said.split()) <= 2
        and any(c.isdigit() for c in said)
        and any(c.isalpha() for c in said)
        and all(c.isalnum() or c == " " for c in said)
    )


def set_location(turn: Turn, settings: Settings, flow: Flow) -> Reply:
    t = settings.texts
    text = " ".join(turn.query_text.split())[:MAX_PLACE]
    given = postcode(turn)
    if not given and asks_elsewhere(text):
        return off_track(turn, settings, flow.with_(asked="location"))
    if given:
        bare = postcodes.normalise(text) is not None
        place = {"postcode": given, "text": given if bare or not text else text}
    elif _looks_like_a_postcode_attempt(text):
        reply = ask(turn, settings, flow)
        return Reply([t("postcode_invalid", text=text, example=_example(settings))], contexts=reply.contexts)
    elif len(fold(text)) >= 6 and len(text.split()) >= 2:
        place = {"text": text}
    else:
        reply = ask(turn, settings, flow)
        return Reply([t("location_vague", example=_example(settings))], contexts=reply.contexts)
    return ask(turn, settings, flow.with_(place=place))


def set_details(turn: Turn, settings: Settings, flow: Flow) -> Reply:
    t = settings.texts
    text = turn.query_text.strip()
    limit = settings.process.get("max_details_length", DEFAULT_MAX_DETAILS)
    if asks_elsewhere(text):
        return off_track(turn, settings, flow.with_(asked="details"))
    if len(text) < MIN_DETAILS or len(fold(text).split()) < 2:
        return Reply([t("details_short")], contexts=flow.with_(asked="details").contexts())
    if len(text) > limit:
        return Reply(
            [t("details_long", length=len(text), limit=limit)], contexts=flow.with_(asked="details").contexts()
        )
    return ask(turn, settings, flow.with_(details=text))


def set_contact(turn: Turn, settings: Settings, flow: Flow) -> Reply:
    t = settings.texts
    text = turn.query_text
    given = [v for v in (email(turn), phone(turn)) if v]  # the parameter, else the resident's own words
    if turn.action == "skip":
        return ask(turn, settings, flow.with_(contact=SKIPPED))
    try:
        contact = notify.parse_contact(given[0] if given else text)
    except notify.InvalidContact as e:
        if e.reason == "neither" and not given and yes_no(turn) is False:
            return ask(turn, settings, flow.with_(contact=SKIPPED))  # "no thanks", "i don't have an email"
        return Reply(
            [t(f"contact_{e.reason}", example=_example(settings))],
            quick_replies=[t("no_thanks")],
            contexts=flow.with_(asked="contact").contexts(),
        )
    channels = notify.channels(settings.process.get("notify"))
    if channels and contact.channel not in channels:
        return Reply(
            [t(f"contact_{channels[0]}_only")],
            quick_replies=[t("no_thanks")],
            contexts=flow.with_(asked="contact").contexts(),
        )
    return ask(turn, settings, flow.with_(contact=contact))


def at_confirm(turn: Turn, settings: Settings, flow: Flow) -> Reply:
    t = settings.texts
    part = matching.part_named(turn.query_text, turn.param("part")) if turn.action != "confirm" else None
    if turn.action == "change" or part:
        if part is None and consent(turn) is False:  # "no hang on, hold off": a change of mind, not a change
            return leave(turn, settings, flow)
        if part is None:
            return Reply(
                [t("which_change")],
                quick_replies=_confirm_choices(t)[1:],
                contexts=flow.with_(asked="confirm").contexts(),
            )
        cleared = {
            "category": {"category": None, "questions": (), "answers": {}, "shown_answers": ()},
            "location": {"place": None},
            "details": {"details": None},
            "contact": {"contact": None},
        }[part]
        return ask(turn, settings, flow.with_(**cleared))
    answer = consent(turn)  # the kit's one rule, whichever intent matched
    if answer is True:
        return submit(turn, settings, flow)
    if answer is False or turn.action == "decline":  # any no, negation or change of mind: nothing is sent
        return leave(turn, settings, flow)
    reply = ask(turn, settings, flow)  # unclear: the summary again, with both answers
    return Reply([t("confirm_unclear"), *reply.text], quick_replies=reply.quick_replies, contexts=reply.contexts)


# -- the side effect -------------------------------------------------------------------------------


def _report(settings: Settings, flow: Flow) -> open311.Report:
    contact = flow.contact if isinstance(flow.contact, notify.Contact) else None
    return open311.Report(
        service_code=flow.category.code,
        description=open311.description(flow.category.name, flow.details or "", FOOTER),
        address_string=flow.place["text"],
        attributes=dict(flow.answers),
        email=contact.address if contact and contact.channel == "email" else None,
        phone=contact.address if contact and contact.channel == "sms" else None,
    )


def submit(turn: Turn, settings: Settings, flow: Flow) -> Reply:
    """Send the report once (a repeat gets the same reference), then the confirmation."""
    t, s, up = settings.texts, settings.process, settings.upstream
    owner = _owner(settings, flow.category, turn.language)
    endpoint = s["endpoints"].get(flow.category.tier)
    if endpoint is None:  # the settings changed under the conversation
        return _failure(
            turn, settings, [t("submit_failed", owner=owner)], flow.with_(asked="confirm"), quick_replies=[t("send")]
        )
    client = open311.Client(up, endpoint)
    confirming = isinstance(flow.contact, notify.Contact) and bool(notify.channels(s.get("notify")))
    reserve = 1.2 if confirming else 0.4

    def send() -> dict:
        sent = client.submit(_report(settings, flow), turn.deadline, reserve=reserve)
        return {"reference": sent.reference, "token": sent.token, "notice": sent.notice}

    try:
        result = up.once(flow.key(turn.conversation), send, turn.deadline)
    except UpstreamError as e:
        if e.kind == "busy":
            lead = [t("submit_busy")]
        elif e.kind == "unknown":  # sent, no answer: it may be in; "send" again looks for it first
            lead = [t("submit_unknown", owner=owner)]
        elif e.permanent:  # a retry would be refused again: no "try again", the council's contact route
            reach, links = how_to_reach(settings.council, turn.language)
            return Reply(
                [t("submit_rejected", owner=owner), reach],
                quick_replies=[t("report_another")],
                links=links,
                contexts=_cleared(),
            )
        else:
            lead = [t("submit_failed", owner=owner)]
        return _failure(turn, settings, lead, flow.with_(asked="confirm"), quick_replies=[t("send")])
    reference, token = result.get("reference"), result.get("token")
    if reference is None and token:  # a batch token not resolved in time on the first turn
        try:
            reference = client.wait_for(token, turn.deadline, tries=1, reserve=reserve)
        except UpstreamError:
            reference = None
    text = _sent_text(turn, settings, flow, reference, token, result.get("notice"))
    done = flow.with_(asked="done", submitted={"reference": reference or token or "", "tier": flow.category.tier})
    return Reply(text, quick_replies=[t("report_another")], contexts=done.contexts())


def _sent_text(
    turn: Turn, settings: Settings, flow: Flow, reference: str | None, token: str | None, notice: str | None
) -> list[str]:
    t, s = settings.texts, settings.process
    owner = _owner(settings, flow.category, turn.language)
    if reference:
        text = [t("sent", owner=owner, reference=reference)]
    elif token:
        text = [t("sent_pending", owner=owner, token=token)]
    else:
        text = [t("sent_no_reference", owner=owner)]
    shown_notice = categories.shown(s, notice, turn.language) if notice else None
    if shown_notice and (turn.language == "en" or shown_notice != notice):
        text.append(shown_notice)
    if not isinstance(flow.contact, notify.Contact):
        return text
    keep = reference or token
    if not notify.channels(s.get("notify")):
        text.append(t("contact_passed_on", owner=owner, contact=flow.contact.display))
        return text
    if not keep:
        text.append(t("confirmation_not_possible", contact=flow.contact.display))
        return text
    personalisation = {"council": owner, "summary": _label(settings, flow.category, turn.language), "reference": keep}
    try:
        result = notify.confirm(settings.upstream, s.get("notify"), flow.contact, personalisation, keep, turn.deadline)
    except ValueError:  # a reference that could be personal data is never sent to Notify
        result = notify.Confirmation(False, flow.contact.channel, problem="reference")
    key = "confirmation_sent" if result.sent else "confirmation_failed"
    if result.problem == "unknown":  # sent, no answer in time: it may still arrive
        key = "confirmation_unknown"
    text.append(t(key, contact=flow.contact.display))
    return text


def after(turn: Turn, settings: Settings, flow: Flow) -> Reply:
    """The report was sent: say so again (a repeated turn), and offer another."""
    t = settings.texts
    reference = (flow.submitted or {}).get("reference")
    lead = [t("already_sent", reference=reference)] if reference else [t("already_sent_no_reference")]
    return Reply(lead, quick_replies=[t("report_another")], contexts=flow.contexts())


# -- dispatch --------------------------------------------------------------------------------------

STEP_HANDLERS = {
    "question": answer_question,
    "location": set_location,
    "details": set_details,
    "contact": set_contact,
    "confirm": at_confirm,
}


def handle(turn: Turn, settings: Settings) -> Reply:
    flow = Flow.from_context(turn.context(DATA))
    if flow is None:
        if turn.action == "report":
            return start(turn, settings)
        return start(turn, settings, lead=[settings.texts("expired")])
    if flow.asked == "done":
        if turn.action in ("report", "category") or fold(turn.query_text) == fold(settings.texts("report_another")):
            return start(turn, settings)
        if turn.action == "confirm" or consent(turn):
            return after(turn, settings, flow)  # "yes" again after sending: nothing more is sent
        return start(turn, settings)
    if turn.action == "decline" and (flow.asked != "confirm" or consent(turn) is not True):
        return leave(turn, settings, flow)  # "leave the report", "no, don't report it": at any step
    if flow.asked == "category" or flow.category is None:
        return choose_category(turn, settings, flow)
    step = flow.asked if flow.asked in STEP_HANDLERS else flow.next_step()
    if step == "question" and not flow.questions:
        return ask(turn, settings, flow)
    return STEP_HANDLERS[step](turn, settings, flow)
