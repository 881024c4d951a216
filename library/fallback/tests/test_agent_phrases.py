"""fallback: its out-of-scope phrases reach each council's agent export as the fallback intent's
training phrases (Dialogflow ES reads them as negative examples), in every language it offers."""

import io
import json
import zipfile
from pathlib import Path

from townhall.library import Library
from townhall_tools.agent.build import build_tenant

REPO = Path(__file__).resolve().parents[3]


def _texts(archive: zipfile.ZipFile, language: str) -> set[str]:
    rows = json.loads(archive.read(f"intents/fallback.unknown_usersays_{language}.json"))
    return {"".join(part["text"] for part in row["data"]) for row in rows}


def test_out_of_scope_phrases_reach_the_agent_zip():
    library = Library.load(REPO / "library")
    for tenant, languages in (("oxford", ("en",)), ("cardiff", ("en", "cy"))):
        export = build_tenant(tenant, REPO / "infra" / "tenants", library)
        with zipfile.ZipFile(io.BytesIO(export.zip_bytes())) as archive:
            intent = json.loads(archive.read("intents/fallback.unknown.json"))
            assert intent["fallbackIntent"] is True
            texts = {language: _texts(archive, language) for language in languages}
    assert {"what's the weather today?", "tell me a joke", "are you a robot"} <= texts["en"]
    assert {"sut mae'r tywydd heddiw?", "wyt ti'n robot"} <= texts["cy"]
    assert len(texts["en"]) >= 50 and len(texts["cy"]) >= 40
