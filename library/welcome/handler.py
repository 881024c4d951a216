"""welcome: greet the resident by the council's name and offer its services as quick replies."""

from townhall.contract import Reply, Settings, Turn


def handle(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    council = settings.council
    text = [t("greeting", council=council.name)]
    note = settings.process.get("note")
    if note:
        text.append(note.get(turn.language) or note["en"])
    labels = [service.label for service in council.services]
    if labels:
        text.append(f"{t('offer')} {', '.join(labels)}. {t('ask')}")
    else:
        text.append(t("ask_anything"))
    return Reply(text, quick_replies=labels)
