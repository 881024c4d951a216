"""welcome: greet the resident by the council's name and offer its services as quick replies;
start again or cancel at any step of any process (every active context is cleared)."""

from townhall.contract import OutputContext, Reply, Settings, Turn
from townhall.kit import localised


def _is_system(name: str) -> bool:
    """Dialogflow's own contexts (slot filling, counters) are left alone."""
    return name.startswith("__") or "_dialog_" in name or name.endswith("_dialog_context")


def _cleared(turn: Turn) -> list[OutputContext]:
    return [OutputContext(name, 0) for name in sorted(turn.contexts) if not _is_system(name)]


def handle(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    council = settings.council
    labels = [service.label for service in council.services]
    offer = f"{t('offer')} {', '.join(labels)}." if labels else ""
    if turn.action == "start_again":
        text = [t("start_again"), f"{offer} {t('ask')}" if labels else t("ask_anything")]
        return Reply(text, quick_replies=labels, contexts=_cleared(turn))
    if turn.action == "cancel":
        text = [t("cancelled"), f"{t('anything_else')} {offer}".strip()]
        return Reply(text, quick_replies=labels, contexts=_cleared(turn))

    text = [t("greeting", council=council.name)]
    note = settings.process.get("note")
    if note:
        text.append(localised(note, turn.language))
    if labels:
        text.append(f"{offer} {t('ask')}")
    else:
        text.append(t("ask_anything"))
    return Reply(text, quick_replies=labels)
