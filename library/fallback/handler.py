"""fallback: nothing matched. Say what the bot can do; after repeated misses, offer a person.

Misses are counted in the ``fallback-misses`` context with a lifespan of one turn, so any other
intent in between starts the count again ("in a row").
"""

from townhall.contract import OutputContext, Reply, Settings, Turn
from townhall.replies import how_to_reach

MISSES = "fallback-misses"


def handle(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    council = settings.council
    previous = turn.context(MISSES)
    misses = 1
    if previous is not None:
        count = previous.parameters.get("count")
        valid = isinstance(count, (int, float)) and not isinstance(count, bool) and 0 <= count <= 100
        misses = (int(count) if valid else 0) + 1
    remember = OutputContext(MISSES, 1, {"count": misses})

    if misses >= settings.process.get("offer_human_after", 2):
        reach, links = how_to_reach(council, turn.language)
        choices = [t("speak_to_someone")] if council.offers("contact") else []
        return Reply([t("offer_human"), reach], quick_replies=choices, links=links, contexts=[remember])

    labels = [service.label for service in council.services]
    reach, links = how_to_reach(council, turn.language)  # the contact route, from the first miss on
    if labels:
        return Reply(
            [t("not_understood"), f"{t('rephrase')} {', '.join(labels)}.", reach],
            quick_replies=labels,
            links=links,
            contexts=[remember],
        )
    return Reply([t("not_understood"), t("rephrase_no_menu"), reach], links=links, contexts=[remember])
