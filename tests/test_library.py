"""The process library's own checks (townhall_tools.librarycheck), over every folder under library/.

The checks run on the real library (one test per process and check) and on broken copies of it,
to prove that each kind of check fires.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from townhall.library import Library, resolve, schema_files, schema_id, schema_registry
from townhall.yamlio import load_yaml
from townhall_tools.librarycheck import (
    PROCESS_CHECKS,
    _normal,
    check_claims,
    check_entity_owners,
    check_phrase_overlap,
    check_refs,
    phrases,
    refs,
)

LIBRARY = Path(__file__).resolve().parents[1] / "library"
PROCESS_IDS = sorted(p.parent.name for p in LIBRARY.glob("*/manifest.yaml"))

# Quick replies a process sends from its messages that lead to an intent (possibly another
# process's): the label must train that intent, or tapping it would miss.
MESSAGE_QUICK_REPLIES = {
    ("fallback", "speak_to_someone"): "contact.human",
    ("faq", "another"): "faq.list",
    ("bin_collection", "more_addresses"): "bin_collection.address",
    ("bin_collection", "not_listed"): "bin_collection.address",
    ("bin_collection", "report_missed"): "missed_bin.report",
    ("missed_bin", "more_addresses"): "missed_bin.address",
    ("missed_bin", "not_listed"): "missed_bin.address",
    ("missed_bin", "yes_report"): "missed_bin.confirm",
    ("missed_bin", "no_report"): "missed_bin.decline",
    ("missed_bin", "no_thanks"): "missed_bin.contact",
}


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(LIBRARY)


def _report(problems: list[str]) -> str:
    return "\n".join(["", *problems])


# --- the real library ----------------------------------------------------------------------------


def test_library_has_processes(library):
    assert PROCESS_IDS, f"no */manifest.yaml under {LIBRARY}"
    assert sorted(library.processes) == PROCESS_IDS


@pytest.mark.parametrize("check", sorted(PROCESS_CHECKS))
@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_process(library, process_id, check):
    problems = PROCESS_CHECKS[check](library.processes[process_id])
    assert not problems, _report(problems)


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_every_manifest_intent_is_routed_to_its_process(library, process_id):
    process = library.processes[process_id]
    assert process.intents, f"library/{process_id}/manifest.yaml: list at least one intent"
    for name in process.intents:
        assert library.for_intent(name) is process, f"{name!r} does not route to library/{process_id}"


def test_no_intent_is_claimed_twice(library):
    problems = check_claims(library)
    assert not problems, _report(problems)


def test_no_phrase_trains_two_intents(library):
    problems = check_phrase_overlap(library)
    assert not problems, _report(problems)


def test_every_entity_is_kept_once(library):
    problems = check_entity_owners(library)
    assert not problems, _report(problems)


def test_every_ref_in_every_schema_resolves(library):
    """Process schemas and the shared schemas they refer to: each $ref points at a schema."""
    schemas = {f"library/{p.id}/schema.json": p.schema for p in library.processes.values()}
    schemas |= {schema_id(path): json.loads(path.read_text(encoding="utf-8")) for path in schema_files()}
    shared = [(where, ref) for where, schema in schemas.items() for _, ref in refs(schema) if not ref.startswith("#")]
    assert len(shared) >= 10, shared  # the bins, Notify, Open311 and text definitions are referred to, not copied
    for where, schema in schemas.items():
        assert not check_refs(schema, where), _report(check_refs(schema, where))
        for _, ref in refs(schema):
            assert isinstance(resolve(schema, ref), dict), (where, ref)


def test_a_ref_to_nothing_is_named_with_the_shared_schemas():
    schema = {
        "properties": {
            "a": {"$ref": "https://townhall.example/upstreams/bins/settings.schema.json#/$defs/nope"},
            "b": {"$ref": "#/$defs/missing"},
        }
    }
    problems = check_refs(schema, "library/x/schema.json")
    assert [p.split(" resolves")[0] for p in problems] == [
        "library/x/schema.json: $ref 'https://townhall.example/upstreams/bins/settings.schema.json#/$defs/nope' "
        "at /properties/a",
        "library/x/schema.json: $ref '#/$defs/missing' at /properties/b",
    ]
    assert "https://townhall.example/schemas/text.schema.json" in problems[0]


def test_the_shared_text_definition_shows_a_valid_bilingual_example(library):
    text = schema_registry().contents("https://townhall.example/schemas/text.schema.json")["$defs"]["text"]
    assert text["bilingual"] is True and text["examples"]
    validator = library.processes["faq"].validator_for(("en", "cy"))
    entry = {"id": "garden-waste", "answer": {"en": "Yes", "cy": "Ydy"}}
    for example in text["examples"]:
        assert validator.is_valid({"entries": [{**entry, "question": example}]})
    assert not validator.is_valid({"entries": [{**entry, "question": {"en": "Garden waste"}}]})
    assert library.processes["faq"].validator.is_valid({"entries": [{**entry, "question": {"en": "Garden waste"}}]})


@pytest.mark.parametrize(("source", "intent"), sorted(MESSAGE_QUICK_REPLIES.items()))
def test_message_quick_replies_train_their_intent(library, source, intent):
    process_id, key = source
    process, target = library.processes[process_id], library.for_intent(intent)
    assert target is not None, f"{intent!r} is not an intent of any process; fix MESSAGE_QUICK_REPLIES"
    for language, messages in process.messages.items():
        label = messages[key]
        trained = {_normal(t) for t in phrases(target, intent, language) or []}
        assert _normal(label) in trained, (
            f"library/{process_id}/messages/{language}.yaml: quick reply {key}={label!r} is not a training "
            f"phrase of {intent}; add it to library/{target.id}/intents/{intent}_usersays_{language}.json"
        )


# --- broken copies: each check fires -------------------------------------------------------------


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _phrase_text(row: dict) -> str:
    return "".join(part["text"] for part in row["data"])


def _remove_file(relative: str):
    return lambda folder: (folder / relative).unlink()


def _append_line(relative: str, line: str):
    def breaker(folder: Path) -> None:
        path = folder / relative
        path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")

    return breaker


def _drop_key(relative: str, key: str):
    def breaker(folder: Path) -> None:
        path = folder / relative
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(x for x in lines if not x.startswith(key + ":")) + "\n", encoding="utf-8")

    return breaker


def _replace(relative: str, old: str, new: str):
    def breaker(folder: Path) -> None:
        path = folder / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{relative} no longer holds {old!r}; update this breakage"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return breaker


def _change_json(relative: str, change):
    return lambda folder: _edit_json(folder / relative, change)


def _keep_three(rows: list) -> None:
    del rows[3:]


def _duplicate_first(rows: list) -> None:
    rows.append(dict(rows[0], id="copy"))


def _drop_menu_phrase(folder: Path) -> None:
    label = _normal(load_yaml(folder / "contact" / "manifest.yaml")["menu"]["en"])
    _edit_json(
        folder / "contact" / "intents" / "contact.details_usersays_en.json",
        lambda rows: rows.__setitem__(slice(None), [r for r in rows if _normal(_phrase_text(r)) != label]),
    )


def _copy_intent(folder: Path) -> None:
    shutil.copy(folder / "faq" / "intents" / "faq.list.json", folder / "faq" / "intents" / "faq.other.json")


# name: (how to break a copy of the library, process, check, words the problem must contain)
BREAKAGES = {
    "missing example.yaml": (_remove_file("welcome/example.yaml"), "welcome", "files", "welcome/example.yaml: missing"),
    "example does not validate": (
        _append_line("fallback/example.yaml", "surprise: 1"),
        "fallback",
        "schema",
        "fallback/example.yaml",
    ),
    "Welsh message lacks a placeholder": (
        _replace("welcome/messages/cy.yaml", "{council}", "y cyngor"),
        "welcome",
        "messages",
        "lacks {council}",
    ),
    "Welsh placeholder misspelt": (
        _replace("polling_station/messages/cy.yaml", "Mae {postcode} wedi", "Mae {postcod} wedi"),
        "polling_station",
        "messages",
        "polling_station/messages/cy.yaml: 'pick_address' has placeholders {postcod}, messages/en.yaml's "
        "'pick_address' has {postcode} (lacks {postcode}; {postcod} is not one of them)",
    ),
    "Welsh placeholder extra": (
        _replace("welcome/messages/cy.yaml", "{council}.", "{council} {name}."),
        "welcome",
        "messages",
        "{name} is not one of them",
    ),
    "shared entity not named": (
        _replace("which_council/manifest.yaml", "entities: [uk-postcode]", "entities: []"),
        "which_council",
        "entities",
        "which_council.lookup uses @uk-postcode, a shared entity "
        "(library/_shared/entities/uk-postcode.json); name it there: entities: [uk-postcode]",
    ),
    "named shared entity missing": (
        _replace("which_council/manifest.yaml", "entities: [uk-postcode]", "entities: [uk-postcode, uk-postcod]"),
        "which_council",
        "entities",
        "names 'uk-postcod', but there is no library/_shared/entities/uk-postcod.json",
    ),
    "own entity missing": (
        _remove_file("faq/entities/faq-topic.json"),
        "faq",
        "entities",
        "faq/entities/faq-topic.json: missing",
    ),
    "uses: lacks an imported client": (
        _replace("report_problem/manifest.yaml", "uses: [notify, open311]", "uses: [open311]"),
        "report_problem",
        "uses",
        "imports townhall.upstreams.notify, which library/report_problem/manifest.yaml does not name; "
        "add it: uses: [notify, open311]",
    ),
    "uses: names a client not imported": (
        _replace("which_council/manifest.yaml", "uses: [postcodes]", "uses: [postcodes, bins]"),
        "which_council",
        "uses",
        "uses: names 'bins', but no Python file of the process imports townhall.upstreams.bins; "
        "remove it: uses: [postcodes]",
    ),
    "uses: names no such client": (
        _replace("which_council/manifest.yaml", "uses: [postcodes]", "uses: [postcodes, pay]"),
        "which_council",
        "uses",
        "uses: names 'pay', which is not a shared client",
    ),
    "schema refers to nothing": (
        _replace(
            "bin_collection/schema.json", 'settings.schema.json#/$defs/source"', 'settings.schema.json#/$defs/sources"'
        ),
        "bin_collection",
        "schema",
        "$defs/sources' at /properties/source resolves to nothing",
    ),
    "Welsh message missing a key": (_drop_key("faq/messages/cy.yaml", "more"), "faq", "messages", "missing key 'more'"),
    "intent file missing": (
        _remove_file("contact/intents/contact.open_now.json"),
        "contact",
        "intents",
        "contact/intents/contact.open_now.json: missing",
    ),
    "intent not sent to the webhook": (
        _change_json("faq/intents/faq.list.json", lambda d: d.update(webhookUsed=False)),
        "faq",
        "intents",
        "webhookUsed",
    ),
    "too few Welsh phrases": (
        _change_json("contact/intents/contact.human_usersays_cy.json", _keep_three),
        "contact",
        "intents",
        "contact.human_usersays_cy.json: 3 phrases",
    ),
    "duplicate phrase": (
        _change_json("welcome/intents/welcome.hello_usersays_en.json", _duplicate_first),
        "welcome",
        "intents",
        "repeats",
    ),
    "stray intent file": (_copy_intent, "faq", "stray_intents", "faq/intents/faq.other.json"),
    "menu label not trained": (_drop_menu_phrase, "contact", "menu", "'Contact the council'"),
}


@pytest.fixture
def copied(tmp_path) -> Path:
    folder = tmp_path / "library"
    shutil.copytree(LIBRARY, folder, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    return folder


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_copy_fails(copied, breakage):
    breaker, process_id, check, expected = BREAKAGES[breakage]
    assert not [p for p in PROCESS_CHECKS[check](Library.load(copied).processes[process_id]) if expected in p]
    breaker(copied)
    problems = PROCESS_CHECKS[check](Library.load(copied).processes[process_id])
    assert any(expected in p for p in problems), f"{breakage}: no problem mentions {expected!r}: {problems}"


def test_two_processes_claiming_one_intent_fails(copied):
    library = Library.load(copied)
    # load_process refuses a foreign prefix on disk, so claim it in memory, as a registry bug would.
    library.processes["fallback"].manifest["intents"].append({"name": "contact.human"})
    problems = check_claims(library)
    assert any(
        "'contact.human' is claimed by library/contact/manifest.yaml, library/fallback/manifest.yaml" in p
        for p in problems
    ), problems


def test_a_phrase_in_two_intents_fails(copied):
    _edit_json(
        copied / "contact" / "intents" / "contact.open_now_usersays_en.json",
        lambda rows: rows.append(dict(rows[0], id="copy", data=[{"text": "opening hours", "userDefined": False}])),
    )
    problems = check_phrase_overlap(Library.load(copied))
    assert any("'opening hours' trains contact.open_now, contact.opening_hours" in p for p in problems), problems


def test_an_entity_kept_twice_or_named_by_nobody_fails(copied):
    assert check_entity_owners(Library.load(copied)) == []
    (copied / "which_council" / "entities").mkdir()
    for name in ("uk-postcode.json", "uk-postcode_entries_en.json", "uk-postcode_entries_cy.json"):
        shutil.copy(copied / "_shared" / "entities" / name, copied / "which_council" / "entities" / name)
    shutil.copy(copied / "faq" / "entities" / "faq-topic.json", copied / "council_tax" / "entities" / "faq-topic.json")
    shutil.copy(copied / "faq" / "entities" / "faq-topic.json", copied / "_shared" / "entities" / "faq-topic2.json")
    problems = check_entity_owners(Library.load(copied))
    assert problems == [
        "entity 'faq-topic' is defined in library/council_tax/entities/faq-topic.json, library/faq/entities/"
        "faq-topic.json; keep one copy in library/_shared/entities/ and name it in each manifest's entities:",
        "entity 'uk-postcode' is defined in library/which_council/entities/uk-postcode.json, library/_shared/"
        "entities/uk-postcode.json; keep one copy in library/_shared/entities/ and name it in each manifest's "
        "entities:",
        "library/_shared/entities/faq-topic2.json: no process names it in its manifest's entities:; remove it or "
        "name it where it is used",
    ]
    assert any(
        "'uk-postcode' is also the shared entity" in p
        for p in PROCESS_CHECKS["entities"](Library.load(copied).processes["which_council"])
    )
