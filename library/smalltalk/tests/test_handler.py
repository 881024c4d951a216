"""smalltalk: warm thanks in each language; process contexts cleared, the chosen language kept."""

from townhall.library import default_library
from townhall_tools.testing import settings_for, turn

PROCESS = default_library().processes["smalltalk"]


def test_thanks_in_each_language_clears_process_contexts_but_keeps_the_language():
    for tenant, language, word in (("oxford", "en", "welcome"), ("cardiff", "cy", "Croeso")):
        settings = settings_for("smalltalk", tenant, language=language, override={})
        contexts = {"council_tax-payment": {"payment_step": "confirm"}, "townhall-language": {"language": language}}
        reply = PROCESS.handler(turn("smalltalk.thanks", language=language, contexts=contexts), settings)
        assert word in reply.text[0]
        assert [(c.name, c.lifespan) for c in reply.contexts] == [("council_tax-payment", 0)]
