"""smalltalk: thanks and goodbye, answered warmly; whatever step the resident was in is closed
(every process context is cleared) so their next message starts afresh."""

from townhall.contract import OutputContext, Reply, Settings, Turn

KEEP = ("townhall-language",)  # the language the resident chose stays chosen


def _is_system(name: str) -> bool:
    """Dialogflow's own contexts (slot filling, counters) are left alone."""
    return name.startswith("__") or "_dialog_" in name or name.endswith("_dialog_context")


def handle(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    cleared = [OutputContext(name, 0) for name in sorted(turn.contexts) if not _is_system(name) and name not in KEEP]
    return Reply([t("thanks"), t("goodbye")], contexts=cleared)
