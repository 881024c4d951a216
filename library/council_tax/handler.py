"""council_tax: charges per band, discounts, moving home, and paying through GOV.UK Pay.

Charges, discounts and moving home are answered from the council's settings. Paying is a short
flow carried in the context ``council_tax-payment`` (``payment_account``, ``payment_pence``,
``payment_step``): the account number and the amount are asked for, checked against the council's
format and GOV.UK Pay's limits, and confirmed; then one GOV.UK Pay payment is made for the
conversation and those details (``Upstream.once``, and GOV.UK Pay's ``Idempotency-Key`` derived
from the same key) and its link offered. ``council_tax-paid`` remembers that the link was shown,
so asking again offers the same link, or says it has been paid, or makes a new one if that payment
failed or expired. Context values are checked again on every turn: a context is only a hint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from townhall.contract import Link, OutputContext, Reply, Settings, Turn
from townhall.kit import consent, fold, has_phrase, localised, with_english
from townhall.replies import how_to_reach
from townhall.upstream import UpstreamError

from . import details
from .client import PayClient, payment_body
from .money import MAX_PENCE, MIN_PENCE, in_range, instalments, pounds, to_pence

FOLDER = Path(__file__).resolve().parent
PAYMENT = "council_tax-payment"
PAID = "council_tax-paid"
LIFESPAN = 5
LINK_LIFETIME = timedelta(minutes=85)  # GOV.UK Pay expires an unpaid payment after 90 minutes
MAX_ATTEMPTS = 3  # payments made for the same details in one conversation after failed ones
# "band D", Welsh "ym mand D", "fand D"; then "D band" (not "a band": that is the article).
BAND_FIRST = re.compile(r"\b(?:band|mand|fand)[\s-]*([a-i])\b(?!['\u2019])", re.IGNORECASE)
BAND_AFTER = re.compile(r"\b([b-i])[\s-]*band\b", re.IGNORECASE)
MAX_CHOICES = 10
STEPS = ("account", "amount", "confirm", "change", "retry")
USER_CANCELLED = "P0030"  # GOV.UK Pay: the resident cancelled the payment on its page
CHANGE_WORDS = tuple(fold(w) for w in ("change", "wrong", "correct", "edit", "newid", "anghywir", "cywiro"))


# -- settings, prepared once per settings load and language -----------------------------------------


@dataclass(frozen=True)
class Prepared:
    bands: dict[str, int]  # band letter -> a year's charge in pence, A first
    discount_words: dict[str, tuple[str, ...]]  # the council's discount id -> words residents use for it
    standard_words: dict[str, tuple[str, ...]]  # the same for every discount the library knows
    move_words: dict[str, tuple[str, ...]]  # into / out / within -> words
    account: re.Pattern | None  # the council's account number format, when GOV.UK Pay is set up


def _entity(name: str, language: str) -> dict[str, list[str]]:
    """An entity's entries shipped with the process: value -> synonyms (this language and English)."""
    found: dict[str, list[str]] = {}
    for lang in with_english(language):
        path = FOLDER / "entities" / f"{name}_entries_{lang}.json"
        if path.is_file():
            for entry in json.loads(path.read_text(encoding="utf-8")):
                found.setdefault(entry["value"], []).extend(entry["synonyms"])
    return found


def prepare(settings: Settings) -> Prepared:
    s, language = settings.process, settings.texts.language
    order = "ABCDEFGHI"
    bands = {band: to_pence(s["bands"][band]) for band in order if band in s["bands"]}
    standard = _entity("council-tax-discount", language)
    discount_words: dict[str, list[str]] = {}
    for discount in s["discounts"]:
        words = [*standard.get(discount["id"], []), *discount["title"].values()]
        for lang in with_english(language):
            words += (discount.get("keywords") or {}).get(lang, [])
        discount_words[discount["id"]] = words
    pattern = s["payments"].get("account_reference", {}).get("pattern")
    return Prepared(
        bands,
        _words(discount_words),
        _words(standard),
        _words(_entity("council-tax-move", language)),
        re.compile(pattern) if pattern else None,
    )


def _words(entries: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {
        value: tuple(sorted({fold(w) for w in words} - {""}, key=len, reverse=True)) for value, words in entries.items()
    }


def _prepared(settings: Settings) -> Prepared:
    return settings.prepared if isinstance(settings.prepared, Prepared) else prepare(settings)


def _said(words: tuple[str, ...], text: str) -> int:
    """The length of the longest of ``words`` (folded) said in folded ``text`` (0 if none)."""
    for word in words:  # longest first
        if has_phrase(text, word):
            return len(word)
    return 0


def _best(table: Mapping[str, tuple[str, ...]], text: str) -> str | None:
    folded = fold(text)
    scores = {key: _said(words, folded) for key, words in table.items()}
    best = max(scores, key=scores.get, default=None)
    return best if best is not None and scores[best] else None


# -- overview, charges, discounts, moving home -----------------------------------------------------


def _menu(settings: Settings) -> list[str]:
    t = settings.texts
    return [t("menu_charges"), t("menu_discounts"), t("menu_moving"), t("menu_pay")]


def overview(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    return Reply([t("overview"), t("overview_ask")], quick_replies=_menu(settings))


def _band(turn: Turn) -> str | None:
    """The band the resident named: a letter counts only beside "band" ("band D", "D band", Welsh
    "ym mand D"), so "how much will I pay" and "Faint sydd arna i?" name no band. The words decide;
    Dialogflow's parameter ("Band D") is read only for a turn without words."""
    text = turn.query_text or ""
    if not text.strip():
        given = turn.param("band")
        m = (
            re.fullmatch(r"(?:(?:band|mand|fand)[\s-]*)?([a-i])", given.strip(), re.IGNORECASE)
            if isinstance(given, str)
            else None
        )
        return m.group(1).upper() if m else None
    m = BAND_FIRST.search(text) or BAND_AFTER.search(text)
    return m.group(1).upper() if m else None


def charges(turn: Turn, settings: Settings) -> Reply:
    t, s, p = settings.texts, settings.process, _prepared(settings)
    year = s["financial_year"]
    precepts = s.get("precepts")
    note = [localised(precepts["note"], turn.language)] if precepts else []
    links = []
    if s.get("charges_link"):
        links.append(Link(t("charges_link"), s["charges_link"]))
    if precepts and precepts.get("link"):
        links.append(Link(t("precepts_link"), precepts["link"]))
    band = _band(turn)
    if band in p.bands:
        charge = p.bands[band]
        first, rest = instalments(charge, s["instalments"])
        count = s["instalments"]
        paid_in = (
            t("instalments_even", count=count, amount=pounds(rest))
            if first == rest
            else t("instalments_uneven", count=count, first=pounds(first), rest_count=count - 1, amount=pounds(rest))
        )
        text = [t("band_charge", band=band, amount=pounds(charge), year=year), paid_in, *note, t("discounts_can_help")]
        return Reply(text, quick_replies=[t("menu_discounts"), t("menu_pay")], links=links)
    letters = list(p.bands)
    lead = [t("no_such_band", band=band, first=letters[0], last=letters[-1])] if band else []
    table = "\n".join(
        [
            t("charges_intro", year=year),
            *(t("band_line", band=b, amount=pounds(charge)) for b, charge in p.bands.items()),
        ]
    )
    if s.get("find_band_link"):
        links.insert(0, Link(t("find_band_link"), s["find_band_link"]))
    return Reply(
        [*lead, table, *note, t("which_band")], quick_replies=[t("band_chip", band=b) for b in letters], links=links
    )


def discounts(turn: Turn, settings: Settings) -> Reply:
    t, s, p = settings.texts, settings.process, _prepared(settings)
    language = turn.language
    given = turn.param("discount")
    wanted = given if isinstance(given, str) and given else None
    entry = next((d for d in s["discounts"] if d["id"] == wanted), None)
    if entry is None:
        found = _best(p.discount_words, turn.query_text or "")
        entry = next((d for d in s["discounts"] if d["id"] == found), None)
    if entry is not None:
        title = localised(entry["title"], language)
        text = [localised(entry["summary"], language), t("discount_who", who=localised(entry["who"], language))]
        return Reply(
            text,
            quick_replies=[t("other_discounts"), t("menu_pay")],
            links=[Link(t("discount_link", title=title), entry["link"])],
        )
    asked = wanted is not None or _best(p.standard_words, turn.query_text or "") is not None
    lead = [t("discount_unknown")] if asked else []
    titles = [localised(d["title"], language) for d in s["discounts"][:MAX_CHOICES]]
    return Reply([*lead, t("discounts_intro")], quick_replies=titles)


def moving(turn: Turn, settings: Settings) -> Reply:
    t, s, p = settings.texts, settings.process["moving_home"], _prepared(settings)
    given = turn.param("move")
    direction = given if given in ("into", "out", "within") else _best(p.move_words, turn.query_text or "")
    if direction is None:
        return Reply([t("moving_ask")], quick_replies=[t("move_into_chip"), t("move_out_chip"), t("move_within_chip")])
    note = localised(s.get("note"), turn.language)
    return Reply(
        [t(f"moving_{direction}"), *([note] if note else [])],
        links=[Link(t("moving_link"), s.get(direction) or s["link"])],
        quick_replies=[t("menu_discounts"), t("menu_charges")],
    )


# -- money owed, arrears, balances ----------------------------------------------------------------

ADVICE = {  # free national debt advice, and the page each defaults to (the schema documents them)
    "citizens_advice": "https://www.citizensadvice.org.uk/debt-and-money/",
    "stepchange": "https://www.stepchange.org/",
    "money_helper": "https://www.moneyhelper.org.uk/en/money-troubles/dealing-with-debt",
}
LETTERS = tuple(
    fold(w)
    for w in (
        "reminder",
        "reminders",
        "remider",
        "summons",
        "summonsed",
        "court",
        "magistrates",
        "bailiff",
        "bailiffs",
        "enforcement",
        "final notice",
        "liability order",
        "nodyn atgoffa",
        "llythyr atgoffa",
        "gwys",
        "wys",
        "llys",
        "beiliaid",
        "beili",
        "hysbysiad terfynol",
    )
)


def _person(settings: Settings, turn: Turn) -> tuple[str, tuple[Link, ...], list[str]]:
    """The council's contact route, and a "speak to someone" quick reply where contact is on."""
    reach, links = how_to_reach(settings.council, turn.language)
    chips = [settings.texts("speak_to_someone")] if settings.council.offers("contact") else []
    return reach, links, chips


def arrears(turn: Turn, settings: Settings) -> Reply:
    """Behind, owing, cannot pay, a reminder or summons: arrangements, support, free advice, a person."""
    t, s = settings.texts, settings.process
    help_ = s.get("arrears") or {}
    folded = fold(turn.query_text or "")
    text = [t("arrears")]
    if any(has_phrase(folded, w) for w in LETTERS):
        text.append(t("arrears_letter"))
    links = []
    if help_.get("arrangements_link"):
        links.append(Link(t("arrangements_link"), help_["arrangements_link"]))
    support = help_.get("support_link") or next(
        (d["link"] for d in s["discounts"] if d["id"] == "council-tax-reduction"), None
    )
    if support:
        text.append(t("arrears_support"))
        links.append(Link(t("support_link"), support))
    text.append(t("arrears_advice"))
    advice = help_.get("advice") or {}
    links += [Link(t(f"{name}_link"), advice.get(name) or default) for name, default in ADVICE.items()]
    reach, contact_links, chips = _person(settings, turn)
    text.append(reach)
    return Reply(text, quick_replies=[*chips, t("menu_discounts")], links=[*links, *contact_links])


def balance(turn: Turn, settings: Settings) -> Reply:
    """ "How much do I owe?": the bot cannot see accounts; the online account, or ask a person."""
    t, s = settings.texts, settings.process
    text, links = [t("balance")], []
    if s.get("online_account"):
        text.append(t("balance_online"))
        links.append(Link(t("online_account_link"), s["online_account"]))
    reach, contact_links, chips = _person(settings, turn)
    text.append(reach)
    return Reply(text, quick_replies=[t("menu_pay"), *chips], links=[*links, *contact_links])


# -- paying -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    account: str | None = None
    pence: int | None = None
    step: str | None = None  # what the bot last asked for: account, amount, confirm, change or retry
    replace: str | None = None  # a payment the resident cancelled and agreed to replace, once asked

    def context(self) -> OutputContext:
        values = {
            "payment_account": self.account,
            "payment_pence": self.pence,
            "payment_step": self.step,
            "payment_replace": self.replace,
        }
        return OutputContext(PAYMENT, LIFESPAN, {k: v for k, v in values.items() if v is not None})


def _pence(value: Any) -> int | None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value != int(value)
    ):
        return None
    return int(value) if in_range(int(value)) else None


def _valid_account(value: Any, pattern: re.Pattern) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def _state(turn: Turn, pattern: re.Pattern) -> State:
    """The flow so far, from the payment context; anything that no longer checks out is dropped."""
    context = turn.context(PAYMENT)
    if context is None:
        return State()
    params = context.parameters
    step = params.get("payment_step")
    replace = params.get("payment_replace")
    return State(
        _valid_account(params.get("payment_account"), pattern),
        _pence(params.get("payment_pence")),
        step if step in STEPS else None,
        replace if isinstance(replace, str) and re.fullmatch(r"[A-Za-z0-9]{1,64}", replace) else None,
    )


def _paid(turn: Turn, state: State) -> bool:
    """Whether this conversation has already been shown a payment link for these details."""
    context = turn.context(PAID)
    if context is None or state.account is None or state.pence is None:
        return False
    params = context.parameters
    return params.get("payment_account") == state.account and _pence(params.get("payment_pence")) == state.pence


def _page(settings: Settings, turn: Turn) -> Reply:
    t = settings.texts
    return Reply([t("pay_page")], links=[Link(t("pay_page_link"), settings.process["payments"]["page"])])


def _next_step(settings: Settings, state: State, said: details.Details, example: str) -> Reply:
    """Ask for what is missing or wrong, or ask to confirm."""
    t = settings.texts
    if said.account_problem and state.account is None:
        return Reply([t("bad_account", example=example)], contexts=[State(None, state.pence, "account").context()])
    if said.amount_problem is not None and said.amount is None:
        key = "bad_amount_range" if said.amount_problem == "range" else "bad_amount_format"
        reply = t(key, min=pounds(MIN_PENCE), max=pounds(MAX_PENCE))
        return Reply([reply], contexts=[State(state.account, None, "amount").context()])
    if state.account is None:
        return Reply([t("ask_account", example=example)], contexts=[State(None, state.pence, "account").context()])
    if state.pence is None:
        return Reply([t("ask_amount")], contexts=[State(state.account, None, "amount").context()])
    confirmed = State(state.account, state.pence, "confirm")
    return Reply(
        [t("confirm", amount=pounds(state.pence), account=state.account)],
        quick_replies=_confirm_chips(settings),
        contexts=[confirmed.context()],
    )


def _confirm_chips(settings: Settings) -> list[str]:
    t = settings.texts
    return [t("confirm_yes"), t("confirm_no"), t("confirm_change")]


def _declined(settings: Settings) -> Reply:
    """No, or a change of mind: the flow ends and nothing is sent to GOV.UK Pay."""
    t = settings.texts
    return Reply(
        [t("declined"), t("declined_later")],
        quick_replies=_menu(settings),
        contexts=[OutputContext(PAYMENT, 0), OutputContext(PAID, 0)],
    )


def _gather(turn: Turn, settings: Settings, state: State) -> Reply:
    s = settings.process["payments"]
    pattern = _prepared(settings).account
    said = details.read(turn.query_text, turn.parameters, pattern, state.step)
    if said.account_problem or said.account:
        state = State(said.account or None, state.pence, state.step)
    if said.amount is not None or said.amount_problem:
        state = State(state.account, said.amount, state.step)
    if said.empty and state.step == "confirm":
        folded = fold(turn.query_text or "")
        if consent(turn) is False and not any(has_phrase(folded, w) for w in CHANGE_WORDS):
            return _declined(settings)  # "no", "don't bother": a refusal, not a correction
        return Reply([settings.texts("change")], contexts=[State(state.account, state.pence, "change").context()])
    return _next_step(settings, state, said, s["account_reference"]["example"])


def pay(turn: Turn, settings: Settings) -> Reply:
    """'Pay my council tax', perhaps with the details: start (or restart) the flow."""
    if not settings.process["payments"].get("base_url"):
        return _page(settings, turn)
    return _gather(turn, settings, State())


def pay_details(turn: Turn, settings: Settings) -> Reply:
    """The resident gives or corrects the account number or amount."""
    if not settings.process["payments"].get("base_url"):
        return _page(settings, turn)
    return _gather(turn, settings, _state(turn, _prepared(settings).account))


def _key(turn: Turn, state: State) -> str:
    return f"council_tax:pay:{turn.conversation}:{state.account}:{state.pence}"


def _idempotency_key(council: str, key: str) -> str:
    """GOV.UK Pay's Idempotency-Key for a once-key: hex, so only letters and digits."""
    return hashlib.sha256(f"{council}:{key}".encode()).hexdigest()


def _chat_payment_id(api_key: str, key: str) -> str:
    """Our own id for the payment, appended to return_url: unguessable without the API key."""
    return hmac.new(api_key.encode(), f"return:{key}".encode(), hashlib.sha256).hexdigest()[:32]


def _with_id(url: str, chat_id: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}chat_payment={chat_id}"


def _make_payment(turn: Turn, settings: Settings, state: State) -> tuple[str, dict]:
    """(how to answer, the payment {payment_id, next_url, created}) for confirmed details.

    ``ready``: a payment made now, or this same request repeated; ``again``: the link this
    conversation was already shown, still open; ``paid``: that payment has been paid; ``renewed``:
    GOV.UK Pay no longer knows the earlier payment (404), so a new one was made; ``cancelled``: the
    resident cancelled the earlier payment on GOV.UK Pay's page, and nothing is made until they say
    they want a new one (``state.replace`` names the payment they agreed to replace)."""
    s, up, deadline = settings.process["payments"], settings.upstream, turn.deadline
    api_key = up.secret(s["api_key_secret"])
    client = PayClient(up.http, s["base_url"], api_key)
    language = turn.language if turn.language in ("en", "cy") else "en"
    shown = _paid(turn, state)
    shown_id = turn.context(PAID).parameters.get("payment_id") if shown else None  # the link last given
    base = key = _key(turn, state)
    gone = False  # GOV.UK Pay answered 404 for the payment this conversation was given
    for _ in range(MAX_ATTEMPTS):
        made: list[bool] = []

        def create(key: str = key, made: list[bool] = made) -> dict:
            chat_id = _chat_payment_id(api_key, key)
            body = payment_body(
                amount=state.pence,
                reference=state.account,
                description=localised(s["description"], language),
                language=language,
                return_url=_with_id(s["return_url"], chat_id),
                metadata={"chat_payment": chat_id},
            )
            payment = client.create(body, idempotency_key=_idempotency_key(settings.council.id, key), deadline=deadline)
            made.append(True)
            return {"payment_id": payment.payment_id, "next_url": payment.next_url, "created": turn.now.isoformat()}

        # An attempt whose answer never came is looked up by re-sending with the same
        # Idempotency-Key: GOV.UK Pay answers with the payment it made, never a second one.
        result = up.once(key, create, deadline, check=create)
        if made:
            return ("renewed" if gone else "ready"), result
        old = turn.now - datetime.fromisoformat(result["created"]) > LINK_LIFETIME
        if not shown and not old:
            return "ready", result  # the same request again (Dialogflow retrying): the same answer
        try:
            payment = client.get(result["payment_id"], deadline=deadline)
        except UpstreamError as e:
            if e.kind == "status" and e.status == 404:  # definitely gone: never offer its dead link again
                gone = True
                key = f"{base}:after:{result['payment_id']}"
                continue
            if old:
                raise
            return "again", result  # cannot tell: the link we gave is the best there is
        if payment.status == "success":
            return "paid", result
        if not payment.finished:
            return "again", result
        if payment.code == USER_CANCELLED and result["payment_id"] == shown_id != state.replace:
            return "cancelled", result  # say so, and make a new one only when they ask for it
        key = f"{base}:after:{result['payment_id']}"  # failed, cancelled or expired: a new payment
    raise UpstreamError("busy", "too many payments for the same details in one conversation")


def _is_retry(turn: Turn, settings: Settings) -> bool:
    """The "try the payment again" quick reply, offered after a failure that may pass."""
    return fold(turn.query_text or "") == fold(settings.texts("retry_chip"))


def pay_confirm(turn: Turn, settings: Settings) -> Reply:
    """The resident's answer to the summary: a payment is made only after an unambiguous yes
    (``kit.consent``: a negation anywhere is a decline; unclear asks again)."""
    t, s = settings.texts, settings.process["payments"]
    if not s.get("base_url"):
        return _page(settings, turn)
    state = _state(turn, _prepared(settings).account)
    if state.account is None or state.pence is None:  # the flow was left, or never started
        return _next_step(settings, state, details.Details(), s["account_reference"]["example"])
    answer = consent(turn)
    if answer is False:
        return _declined(settings)
    if answer is None and not (state.step == "retry" and _is_retry(turn, settings)):
        summary = State(state.account, state.pence, "confirm", state.replace)
        return Reply(
            [t("confirm_unclear"), t("confirm", amount=pounds(state.pence), account=state.account)],
            quick_replies=_confirm_chips(settings),
            contexts=[summary.context()],
        )
    confirmed = State(state.account, state.pence, "confirm", state.replace)
    try:
        outcome, payment = _make_payment(turn, settings, confirmed)
    except (UpstreamError, ValueError) as e:
        reach, links = how_to_reach(settings.council, turn.language)
        if isinstance(e, UpstreamError) and e.permanent:
            # refused for good (a bad key, a refused value): no retry, and no "can't reach" either
            return Reply(
                [t("pay_refused"), reach],
                links=[Link(t("pay_page_link"), s["page"]), *links],
                contexts=[OutputContext(PAYMENT, 0)],
            )
        # Sent but unanswered ("unknown"): the payment may exist; trying again asks GOV.UK Pay with
        # the same Idempotency-Key, so it finds that payment and never makes a second one.
        unknown = isinstance(e, UpstreamError) and e.kind == "unknown"
        return Reply(
            [t("pay_unknown" if unknown else "pay_failed"), reach],
            quick_replies=[t("retry_chip")],
            links=[Link(t("pay_page_link"), s["page"]), *links],
            contexts=[State(state.account, state.pence, "retry").context()],
        )
    amount = pounds(state.pence)
    paid = OutputContext(
        PAID,
        LIFESPAN,
        {
            "payment_account": state.account,
            "payment_pence": state.pence,
            "payment_id": payment["payment_id"],
            "next_url": payment["next_url"],
        },
    )
    if outcome == "paid":
        return Reply(
            [t("already_paid", amount=amount, account=state.account)],
            links=[Link(t("pay_page_link"), s["page"])],
            contexts=[State(state.account, None, "amount").context(), paid],
        )
    if outcome == "cancelled":
        replace = State(state.account, state.pence, "confirm", payment["payment_id"])
        return Reply(
            [t("payment_cancelled", amount=amount, account=state.account), t("payment_replace_ask")],
            quick_replies=[t("confirm_yes"), t("confirm_no")],
            contexts=[replace.context(), paid],
        )
    lead = [t("payment_renewed")] if outcome == "renewed" else []
    key = "payment_again" if outcome == "again" else "payment_ready"
    return Reply(
        [*lead, t(key, amount=amount, account=state.account)],
        links=[Link(t("payment_link", amount=amount), payment["next_url"])],
        contexts=[State(state.account, state.pence, "confirm").context(), paid],
    )


def pay_decline(turn: Turn, settings: Settings) -> Reply:
    """A refusal or a change of mind ("No, don't", "forget it"): nothing is sent. Words that are a
    clear yes (no negation anywhere) were matched here by mistake: the summary is asked again."""
    if not settings.process["payments"].get("base_url"):
        return _page(settings, turn)
    state = _state(turn, _prepared(settings).account)
    if consent(turn) is True and state.account is not None and state.pence is not None:
        t = settings.texts
        summary = State(state.account, state.pence, "confirm", state.replace)
        return Reply(
            [t("confirm_unclear"), t("confirm", amount=pounds(state.pence), account=state.account)],
            quick_replies=_confirm_chips(settings),
            contexts=[summary.context()],
        )
    return _declined(settings)


ACTIONS = {
    "overview": overview,
    "charges": charges,
    "discounts": discounts,
    "moving": moving,
    "arrears": arrears,
    "balance": balance,
    "pay": pay,
    "pay_details": pay_details,
    "pay_confirm": pay_confirm,
    "pay_decline": pay_decline,
}


def handle(turn: Turn, settings: Settings) -> Reply:
    return ACTIONS[turn.action](turn, settings)
