"""``townhall process new ID``: a new process folder that already passes the library's checks.

The folder is a working starting point, not a finished process: one intent (``<id>.ask``) whose
handler answers with a settings-driven introduction, training phrases made from the title (replace
them with how residents really ask), English and Welsh replies, a schema with its example, a unit
test, a scripted conversation and a README to fill in. docs/processes.md says what to do next.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

ID = re.compile(r"^[a-z][a-z0-9_]{1,38}[a-z0-9]$")

EN_PHRASES = [
    "{t}",
    "{t} please",
    "help with {t}",
    "i need help with {t}",
    "can you help me with {t}",
    "i want to ask about {t}",
    "question about {t}",
    "tell me about {t}",
    "info on {t}",
    "information about {t}",
    "{t} help",
    "how does {t} work",
    "what do i need to know about {t}",
    "i have a query about {t}",
    "where do i find out about {t}",
    "{t}?",
    "need some info on {t}",
    "can i ask about {t}",
    "looking for {t}",
    "hi, {t} question",
    "quick question on {t}",
]
CY_PHRASES = [
    "{t}",
    "{t} os gwelwch yn dda",
    "help gyda {t}",
    "dwi angen help gyda {t}",
    "gwybodaeth am {t}",
    "cwestiwn am {t}",
    "dwedwch wrtha i am {t}",
    "sut mae {t} yn gweithio",
    "ymholiad am {t}",
    "{t}?",
    "chwilio am {t}",
]


class ScaffoldError(Exception):
    """The scaffold cannot be made; the message says why and how to fix it."""


def _uuid(kind: str, text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"townhall:{kind}:{text}"))


def _json(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _intent(name: str) -> dict:
    return {
        "id": _uuid("intent", name),
        "name": name,
        "auto": True,
        "contexts": [],
        "responses": [
            {
                "resetContexts": False,
                "action": name,
                "affectedContexts": [],
                "parameters": [],
                "messages": [{"type": "0", "lang": "en", "condition": "", "speech": []}],
                "speech": [],
            }
        ],
        "priority": 500000,
        "webhookUsed": True,
        "webhookForSlotFilling": False,
        "fallbackIntent": False,
        "events": [],
        "conditionalResponses": [],
        "condition": "",
        "conditionalFollowupEvents": [],
    }


def _usersays(name: str, language: str, templates: list[str], title: str) -> list[dict]:
    rows = []
    for template in templates:
        text = template.format(t=title.lower())
        rows.append(
            {
                "id": _uuid("usersays", f"{name}:{language}:{text}"),
                "data": [{"text": text, "userDefined": False}],
                "isTemplate": False,
                "count": 0,
                "lang": language,
                "updated": 0,
            }
        )
    return rows


def files(process_id: str, title: str, title_cy: str, owner: str) -> dict[str, str]:
    """Relative path -> content of the new folder."""
    from .librarycheck import shared_clients

    ask = f"{process_id}.ask"
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{process_id} settings",
        "type": "object",
        "additionalProperties": False,
        "required": ["intro"],
        "properties": {
            "intro": {
                "description": "What the bot says about this service, per language (en required, cy for Welsh councils).",
                # the shared text: every language the council offers (docs/processes.md, "Settings schema")
                "$ref": "https://townhall.example/schemas/text.schema.json#/$defs/text",
                "properties": {"en": {"maxLength": 1000}, "cy": {"maxLength": 1000}},
            },
        },
    }
    return {
        "manifest.yaml": f"""# Process manifest: the folder name is the id; see docs/processes.md for every key.
id: {process_id}
version: 0.1.0
title:
  en: {title}
  cy: {title_cy}
owner: {owner}
summary: {title}. (Say in one sentence what residents can do with this process.)
# The shared clients its code imports, from functions/townhall/upstreams/ ({", ".join(shared_clients())}):
# `townhall process check` compares this list with the imports.
uses: []
# The shared Dialogflow entities its intents use, from library/_shared/entities/ (e.g. uk-postcode).
entities: []
intents:
  - name: {ask}
    description: The resident asks about {title.lower()}.
""",
        "schema.json": _json(schema),
        "example.yaml": f"""# Example settings for {process_id} (demo values); checked against schema.json.
intro:
  en: This is where the council explains {title.lower()}.
  cy: Dyma lle mae'r cyngor yn esbonio {title_cy.lower()}.
""",
        "messages/en.yaml": 'more_help: "If you need more help, contact us."\n',
        "messages/cy.yaml": 'more_help: "Os oes angen rhagor o help arnoch chi, cysylltwch â ni."\n',
        f"intents/{ask}.json": _json(_intent(ask)),
        f"intents/{ask}_usersays_en.json": _json(_usersays(ask, "en", EN_PHRASES, title)),
        f"intents/{ask}_usersays_cy.json": _json(_usersays(ask, "cy", CY_PHRASES, title_cy)),
        "handler.py": f'''"""{process_id}: {title}. A pure handler: handle(turn, settings) -> Reply (docs/processes.md)."""

from townhall.contract import Reply, Settings, Turn
from townhall.replies import how_to_reach


def handle(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    intro = settings.process["intro"]
    reach, links = how_to_reach(settings.council, turn.language)
    return Reply([intro.get(turn.language) or intro["en"], t("more_help"), reach], links=links)
''',
        "tests/test_handler.py": f'''"""{process_id}: the handler, with the example settings."""

from townhall.library import default_library
from townhall_tools.testing import settings_for, turn
from townhall.yamlio import load_yaml

PROCESS = default_library().processes["{process_id}"]
EXAMPLE = load_yaml(PROCESS.folder / "example.yaml")


def test_ask_answers_with_the_intro_in_each_language():
    for tenant, language in (("oxford", "en"), ("cardiff", "cy")):
        settings = settings_for("{process_id}", tenant, language=language, override=EXAMPLE)
        reply = PROCESS.handler(turn("{ask}", language=language), settings)
        assert reply.text[0] == EXAMPLE["intro"][language]
''',
        "conversations/ask.yaml": f"""description: The resident asks about {title.lower()} and gets the council's introduction
turns:
  - say: "{title.lower()}"
    intent: {ask}
""",
        "README.md": f"""# {process_id}

{title}. (For council teams and maintainers: what residents can do, what the bot answers.)

## Intents

| intent | what residents say | what the bot answers |
| --- | --- | --- |
| `{ask}` | "{title.lower()}", "help with {title.lower()}" | the council's `intro`, then how to reach the council |

## Settings

`processes.{process_id}` in `infra/tenants/<id>.yaml`: see `schema.json`; `example.yaml` is a valid example.

| key | meaning |
| --- | --- |
| `intro` | what the bot says about this service, per language (`en` required, `cy` for Welsh councils) |

## Contexts

None yet.

## Owner

{owner} (`manifest.yaml`).

## Testing

```sh
.venv/bin/python -m pytest library/{process_id}
```
""",
    }


def new_process(
    library_dir: Path,
    process_id: str,
    title: str,
    title_cy: str | None = None,
    owner: str = "Townhall library maintainers",
) -> Path:
    if not ID.match(process_id):
        raise ScaffoldError(
            f"{process_id!r} is not a process id: use 3-40 characters a-z, 0-9 and '_', "
            "starting with a letter (e.g. 'garden_waste')"
        )
    folder = Path(library_dir) / process_id
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists: choose another id, or edit that process")
    title = " ".join(title.split())
    if not title:
        raise ScaffoldError("give a --title, e.g. --title 'Garden waste'")
    title_cy = " ".join((title_cy or title).split())
    for relative, content in files(process_id, title, title_cy, owner).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return folder
