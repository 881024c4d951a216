"""language: carry the conversation on in Welsh or English, as the resident asks.

The reply is written in the new language and sets the context ``townhall-language``
(``language`` = ``en`` or ``cy``, lifespan 50). The webhook reads that context to pick each later
turn's language when the council offers it, and the agent's clients (the simulator's chat) send
their queries in it. A council that offers only English says so kindly, in English and Welsh.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from townhall.contract import OutputContext, Reply, Settings, Turn
from townhall.kit import fold, has_phrase
from townhall.yamlio import load_yaml

FOLDER = Path(__file__).resolve().parent
CONTEXT = "townhall-language"
LIFESPAN = 50
WORDS = {
    "cy": tuple(fold(w) for w in ("welsh", "cymraeg", "gymraeg", "nghymraeg", "cymrae", "cymreig", "welsch")),
    "en": tuple(fold(w) for w in ("english", "saesneg", "sasneg", "saesnaeg", "inglish", "englsh")),
}


@lru_cache(maxsize=4)
def _messages(language: str) -> dict[str, str]:
    """The process's replies in ``language``: a switch answers in the new language, not the turn's."""
    return dict(load_yaml(FOLDER / "messages" / f"{language}.yaml") or {})


def wanted(text: str, current: str) -> str:
    """The language asked for: the one named in the words, else the other of English and Welsh."""
    folded = fold(text or "")
    named = [lang for lang, words in WORDS.items() if any(has_phrase(folded, w) for w in words)]
    if len(named) == 1:
        return named[0]
    return "en" if current == "cy" else "cy"


def handle(turn: Turn, settings: Settings) -> Reply:
    current = turn.language if turn.language in ("en", "cy") else "en"
    target = wanted(turn.query_text, current)
    offered = settings.council.languages
    if target not in offered:
        t = settings.texts
        keep = OutputContext(CONTEXT, LIFESPAN, {"language": current})
        if target == "cy":
            return Reply([t("english_only"), t("english_only_cy")], contexts=[keep])
        return Reply([t("already")], contexts=[keep])
    m = _messages(target)
    text = [m["already"]] if target == current else [m["switched"], m["ask"]]
    return Reply(text, contexts=[OutputContext(CONTEXT, LIFESPAN, {"language": target})])
