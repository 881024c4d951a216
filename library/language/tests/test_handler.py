"""language: a switch answers in the new language and sets townhall-language; English-only councils say so."""

from townhall.library import default_library
from townhall_tools.testing import settings_for, turn

PROCESS = default_library().processes["language"]


def _reply(tenant: str, language: str, text: str):
    settings = settings_for("language", tenant, language=language, override={})
    return PROCESS.handler(turn("language.switch", text=text, language=language), settings)


def _chosen(reply) -> tuple[str, int]:
    (context,) = [c for c in reply.contexts if c.name == "townhall-language"]
    return context.parameters["language"], context.lifespan


def test_bilingual_council_switches_to_welsh_and_back():
    reply = _reply("cardiff", "en", "can we talk in Welsh please")
    assert _chosen(reply) == ("cy", 50)
    assert "Gymraeg" in reply.text[0]
    reply = _reply("cardiff", "cy", "siarad Saesneg")
    assert _chosen(reply) == ("en", 50)
    assert "English" in reply.text[0]


def test_the_language_named_wins_and_no_name_means_the_other_one():
    assert _chosen(_reply("cardiff", "cy", "Cymraeg plis"))[0] == "cy"
    assert "already" not in _reply("cardiff", "en", "change language").text[0]
    assert _chosen(_reply("cardiff", "en", "change language"))[0] == "cy"


def test_english_only_council_says_so_in_english_and_welsh():
    reply = _reply("oxford", "en", "Cymraeg plis")
    assert _chosen(reply) == ("en", 50)
    assert "only talk in English" in reply.text[0]
    assert "Saesneg" in reply.text[1]
