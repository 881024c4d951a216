"""``townhall agent build``: the agent export ZIP of each tenant, from the library on disk."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from support import PASSWORDS, REPO, TENANTS

from townhall.library import Library
from townhall_tools.agent.build import BuildError, build_tenant
from townhall_tools.simulator.entities import SUPPORTED_SYSTEM

LIBRARY_DIR = REPO / "library"
TOWNHALL = str(Path(sys.executable).with_name("townhall"))
TENANT_IDS = sorted(p.stem for p in TENANTS.glob("*.yaml"))


def townhall(*args, **kw):
    return subprocess.run([TOWNHALL, *args], cwd=REPO, capture_output=True, text=True, timeout=120, **kw)


def read_zip(data: bytes) -> dict[str, object]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: json.loads(zf.read(name)) for name in zf.namelist()}


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(LIBRARY_DIR)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, dict]:
    """Every example tenant's ZIP, built by the command line as an operator would."""
    out = tmp_path_factory.mktemp("agents")
    done = townhall("agent", "build", "--all", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{len(TENANT_IDS)}/{len(TENANT_IDS)}" in done.stderr  # the progress bar reached the end
    return {t: read_zip((out / f"{t}.zip").read_bytes()) for t in TENANT_IDS}


@pytest.mark.parametrize("tenant", TENANT_IDS)
def test_the_zip_holds_the_tenants_processes_in_its_languages(built, library, tenant):
    doc = yaml.safe_load((TENANTS / f"{tenant}.yaml").read_text())
    files = built[tenant]
    enabled = [p for p, s in doc["processes"].items() if (s or {}).get("enabled", True)]
    expected = {f"intents/{name}.json" for p in enabled for name in library.processes[p].intents}
    assert {f for f in files if f.startswith("intents/") and "_usersays_" not in f} == expected
    for name in expected:
        intent = files[name]
        assert intent["webhookUsed"] is True, name
        assert {m["lang"] for m in intent["responses"][0]["messages"]} == set(doc["languages"]), name
        stem = name[len("intents/") : -len(".json")]
        for language in doc["languages"]:
            if not intent["fallbackIntent"]:
                phrases = files[f"intents/{stem}_usersays_{language}.json"]
                assert len(phrases) >= 10 and all(p.get("lang", language) == language for p in phrases)
    languages = {f.rsplit("_", 1)[1][:-5] for f in files if "_usersays_" in f or "_entries_" in f}
    assert languages == set(doc["languages"])
    agent = files["agent.json"]
    assert agent["displayName"] == doc["name"]
    assert [agent["language"], *agent["supportedLanguages"]] == doc["languages"]
    assert agent["defaultTimezone"] == "Europe/London" and files["package.json"] == {"version": "1.0.0"}
    assert agent["disableInteractionLogs"] and agent["disableStackdriverLogs"]  # residents' words not kept


@pytest.mark.parametrize("tenant", TENANT_IDS)
def test_welcome_and_fallback_are_the_librarys(built, tenant):
    intents = [v for k, v in built[tenant].items() if k.startswith("intents/") and "_usersays_" not in k]
    assert [i["name"] for i in intents if any(e["name"] == "WELCOME" for e in i["events"])] == ["welcome.hello"]
    # The agent's one default fallback; a process may add fallbacks scoped to its own contexts.
    assert [i["name"] for i in intents if i["fallbackIntent"] and not i["contexts"]] == ["fallback.unknown"]


def test_faq_topic_entries_come_from_the_councils_own_questions(built):
    doc = yaml.safe_load((TENANTS / "cardiff.yaml").read_text())
    for language in ("en", "cy"):
        entries = built["cardiff"][f"entities/faq-topic_entries_{language}.json"]
        assert [e["value"] for e in entries] == [e["id"] for e in doc["processes"]["faq"]["entries"]]
        bins = {fold(s) for e in built["cardiff"][f"entities/bin-type_entries_{language}.json"] for s in e["synonyms"]}
        for entry, written in zip(entries, doc["processes"]["faq"]["entries"], strict=True):
            said = [written["question"][language], *written["keywords"][language]]
            # the council's words, less those its own bins claim ("recycling bags" is a bin)
            assert entry["synonyms"] == [s for s in said if fold(s) not in bins]
    oxford = {e["value"] for e in built["oxford"]["entities/faq-topic_entries_en.json"]}
    assert oxford == {"garden-waste", "bulky-waste", "parking-permit"}


def fold(text: str) -> str:
    return " ".join(text.casefold().replace("?", " ").split())


def phrases(files: dict, intent: str, language: str) -> list[list[dict]]:
    return [row["data"] for row in files.get(f"intents/{intent}_usersays_{language}.json", [])]


@pytest.mark.parametrize("tenant", ["oxford", "cardiff"])
def test_every_annotation_points_at_a_value_the_council_has(built, tenant):
    """Read from the built ZIPs: each custom-entity annotation is a synonym of the council's own
    entries; faq.ask's examples are the council's own topics; bin-type holds only its own bins."""
    files = built[tenant]
    doc = yaml.safe_load((TENANTS / f"{tenant}.yaml").read_text())
    for language in doc["languages"]:
        synonyms = {}
        for k, v in files.items():
            if k.startswith("entities/") and k.endswith(f"_entries_{language}.json"):
                name = k[len("entities/") : -len(f"_entries_{language}.json")]
                synonyms[name] = {fold(s) for e in v for s in [e["value"], *e["synonyms"]]}
        for k in files:
            if "_usersays_" not in k or not k.endswith(f"_{language}.json"):
                continue
            for row in files[k]:
                for part in row["data"]:
                    name = part.get("meta", "").lstrip("@")
                    if name in ("bin-type", "faq-topic"):  # the entities a council's settings fill
                        assert fold(part["text"]) in synonyms[name], (tenant, k, row["data"])
        topics = {
            fold(s): e["value"] for e in files[f"entities/faq-topic_entries_{language}.json"] for s in e["synonyms"]
        }
        annotated = [
            topics[fold(p["text"])] for data in phrases(files, "faq.ask", language) for p in data if p.get("meta")
        ]
        assert set(annotated) == {e["id"] for e in doc["processes"]["faq"]["entries"]}  # every topic, only those
        bins = [e["value"] for e in files[f"entities/bin-type_entries_{language}.json"]]
        assert bins == sorted(doc["processes"]["bin_collection"]["bins"])
        claimed: dict[str, str] = {}
        for name in ("bin-type", "faq-topic"):
            for e in files[f"entities/{name}_entries_{language}.json"]:
                for s in e["synonyms"]:
                    assert claimed.setdefault(fold(s), name) == name, f"{s!r} is both {claimed[fold(s)]} and {name}"
    garden = next(e for e in files["entities/bin-type_entries_en.json"] if e["value"] == "garden")
    own = doc["processes"]["bin_collection"]["bins"]["garden"]
    assert garden["synonyms"][: 1 + len(own.get("words", {}).get("en", []))] == [
        own["name"]["en"],
        *own.get("words", {}).get("en", []),
    ]
    assert "glass" not in {e["value"] for e in files["entities/bin-type_entries_en.json"]}


def test_welsh_phrases_annotate_no_system_entity_dialogflow_may_not_extract(built, library):
    unreliable = {"@sys.number", "@sys.email", "@sys.phone-number"}
    files = built["cardiff"]
    welsh = [p for k, v in files.items() if k.endswith("_usersays_cy.json") for row in v for p in row["data"]]
    assert welsh and not [p for p in welsh if p.get("meta") in unreliable]
    # the library does annotate them in Welsh (the words are kept, only the annotation goes)
    shipped = [
        (f, part["text"])
        for f in LIBRARY_DIR.glob("*/intents/*_usersays_cy.json")
        for row in json.loads(f.read_text())
        for part in row["data"]
        if part.get("meta") in unreliable
    ]
    texts = {
        "".join(p["text"] for p in row["data"])
        for k, v in files.items()
        if k.endswith("_usersays_cy.json")
        for row in v
    }
    for f, said in shipped:
        if f"intents/{f.name}" in files:
            assert any(said in t for t in texts), (f.name, said)
    english = [p for k, v in files.items() if k.endswith("_usersays_en.json") for row in v for p in row["data"]]
    assert any(p.get("meta") in unreliable for p in english)  # English keeps them


def test_a_phrase_pointing_at_a_value_the_council_lacks_stops_the_build(tmp_path):
    from townhall_tools.agent.build import check_annotations

    export = build_tenant("oxford", TENANTS, Library.load(LIBRARY_DIR))
    path = "intents/bin_collection.next_usersays_en.json"
    export.files[path] = [
        *export.files[path],
        {"data": [{"text": "when is the "}, {"text": "glass box", "meta": "@bin-type", "alias": "bin"}]},
    ]
    with pytest.raises(BuildError, match=r"'when is the glass box' annotates 'glass box' as @bin-type"):
        check_annotations(export)


@pytest.mark.parametrize("tenant", TENANT_IDS)
def test_no_secret_goes_into_the_zip(tmp_path, tenant):
    out = tmp_path / f"{tenant}.zip"
    assert townhall("agent", "build", tenant, "--out", str(out)).returncode == 0
    with zipfile.ZipFile(out) as zf:
        text = "".join(zf.read(n).decode() for n in zf.namelist())
    doc = yaml.safe_load((TENANTS / f"{tenant}.yaml").read_text())
    for secret in (PASSWORDS[tenant], doc["webhook"]["password_sha256"], "password"):
        assert secret not in text
    demo = yaml.safe_load((REPO / "examples" / "demo-secrets.yaml").read_text())
    for value in (demo.get(tenant) or {}).values():
        assert str(value) not in text


def test_the_zip_is_deterministic(tmp_path, library):
    first = build_tenant("cardiff", TENANTS, library).zip_bytes()
    again = build_tenant("cardiff", TENANTS, Library.load(LIBRARY_DIR)).zip_bytes()
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(again).hexdigest()
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_every_system_entity_the_library_uses_is_simulated(library):
    used = {}
    for process in library.processes.values():
        for path in sorted((process.folder / "intents").glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = (
                data
                if isinstance(data, list)
                else [
                    {
                        "data": [
                            {"meta": p.get("dataType", "")}
                            for r in data.get("responses", [])
                            for p in r.get("parameters", [])
                        ]
                    }
                ]
            )
            for row in rows:
                for part in row.get("data", []):
                    meta = str(part.get("meta", ""))
                    if meta.startswith("@sys."):
                        used.setdefault(meta[1:], path.relative_to(REPO).as_posix())
    unsupported = {e: where for e, where in used.items() if e not in SUPPORTED_SYSTEM}
    assert not unsupported, (
        f"system entities the simulator does not handle: {unsupported}; "
        "add them to tools/townhall_tools/simulator/entities.py"
    )


# -- errors ----------------------------------------------------------------------------------------


@pytest.fixture
def copied(tmp_path) -> Path:
    folder = tmp_path / "library"
    shutil.copytree(LIBRARY_DIR, folder, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    return folder


def _add_entity(process_folder: Path, name: str, entries: list, regexp: bool = True) -> None:
    folder = process_folder / "entities"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"id": "e", "name": name, "isRegexp": regexp, "isEnum": False}))
    for language in ("en", "cy"):
        (folder / f"{name}_entries_{language}.json").write_text(json.dumps(entries))


def test_an_entity_two_processes_ship_alike_is_written_once(copied):
    entries = [{"value": "[A-Z]{2}[0-9]{6}", "synonyms": []}]
    _add_entity(copied / "contact", "demo-code", entries)
    _add_entity(copied / "faq", "demo-code", entries)
    export = build_tenant("cardiff", TENANTS, Library.load(copied))
    names = [e["name"] for e in export.entities()]
    assert names.count("demo-code") == 1 and "faq-topic" in names
    assert export.entries("demo-code", "cy") == entries


def test_a_shared_entity_comes_once_from_library_shared(built):
    """uk-postcode and bin-type live once in library/_shared/entities/; each user names them
    (bin-type's entries are then the council's own bins: test_every_annotation_points_at_...)."""
    shared = REPO / "library" / "_shared" / "entities"
    for tenant, files in built.items():
        for name in ("uk-postcode", "bin-type"):
            assert files[f"entities/{name}.json"] == json.loads((shared / f"{name}.json").read_text()), tenant
            for language in files["agent.json"]["supportedLanguages"] + [files["agent.json"]["language"]]:
                if name == "bin-type":
                    library_values = {
                        e["value"] for e in json.loads((shared / f"{name}_entries_{language}.json").read_text())
                    }
                    assert {e["value"] for e in files[f"entities/{name}_entries_{language}.json"]} <= library_values
                    continue
                assert files[f"entities/{name}_entries_{language}.json"] == json.loads(
                    (shared / f"{name}_entries_{language}.json").read_text()
                ), (tenant, name, language)


def test_a_shared_entity_named_but_missing_fails_naming_the_manifest(copied):
    manifest = copied / "which_council" / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("entities: [uk-postcode]", "entities: [uk-postcode, uk-town]"))
    with pytest.raises(
        BuildError,
        match=r"library/which_council/manifest.yaml: entities: names 'uk-town', but there "
        r"is no library/_shared/entities/uk-town.json",
    ):
        build_tenant("oxford", TENANTS, Library.load(copied))


def test_conflicting_entities_fail_naming_both_files(copied):
    _add_entity(copied / "contact", "demo-code", [{"value": "[A-Z]+", "synonyms": []}])
    _add_entity(copied / "faq", "demo-code", [{"value": "[0-9]+", "synonyms": []}])
    with pytest.raises(
        BuildError,
        match=r"'demo-code' is defined differently by library/contact/entities/"
        r"demo-code.json and library/faq/entities/demo-code.json",
    ):
        build_tenant("oxford", TENANTS, Library.load(copied))


def test_agent_py_must_return_entries_of_a_shipped_entity(copied, tmp_path):
    # a fresh interpreter: the copy's faq/agent.py is not the one this process imported
    (copied / "faq" / "agent.py").write_text("def entities(settings, language):\n    return {'nope': []}\n")
    done = townhall("--library", str(copied), "agent", "build", "oxford", "--out", str(tmp_path / "o.zip"))
    assert done.returncode == 1
    assert "library/faq/agent.py: entities()['nope']" in done.stderr


def test_a_tenant_without_welcome_or_fallback_is_refused(tmp_path, library):
    doc = yaml.safe_load((TENANTS / "oxford.yaml").read_text())
    del doc["processes"]["fallback"]
    (tmp_path / "oxford.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(BuildError, match="no a fallback intent|no a WELCOME|fallback intent"):
        build_tenant("oxford", tmp_path, library)


def test_bad_input_is_a_clear_error(tmp_path):
    unknown = townhall("agent", "build", "newport", "--out", str(tmp_path / "x.zip"))
    assert unknown.returncode == 1 and "no tenant file" in unknown.stderr and "oxford" in unknown.stderr
    (tmp_path / "broken.yaml").write_text("id: broken\nname: [\n")
    broken = townhall("--tenants-dir", str(tmp_path), "agent", "build", "broken", "--out", str(tmp_path / "b.zip"))
    assert broken.returncode == 1 and "broken.yaml" in broken.stderr
    neither = townhall("agent", "build", "--out", str(tmp_path / "y.zip"))
    assert neither.returncode == 2 and "--all" in neither.stderr


@pytest.mark.parametrize("tenant", ["oxford", "cardiff"])
def test_every_intent_answers_statically_with_the_councils_contact_details(built, tenant):
    """What Dialogflow shows when the webhook cannot be reached: never nothing."""
    files = built[tenant]
    doc = yaml.safe_load((TENANTS / f"{tenant}.yaml").read_text())
    contact = doc["contact"]
    intents = [v for k, v in files.items() if k.startswith("intents/") and "_usersays_" not in k]
    assert intents
    for intent in intents:
        for language in doc["languages"]:
            texts = [
                s
                for r in intent["responses"]
                for m in r["messages"]
                if m["lang"] == language and str(m["type"]) == "0"
                for s in m["speech"]
            ]
            assert texts, (intent["name"], language)
            for text in texts:
                assert contact["phone"] in text and contact["email"] in text, (intent["name"], language, text)
        welsh = [s for r in intent["responses"] for m in r["messages"] if m["lang"] == "cy" for s in m["speech"]]
        assert all("ffôn" in s for s in welsh)


@pytest.mark.parametrize("tenant", ["oxford", "cardiff"])
def test_a_restored_zip_alone_never_calls_a_webhook_without_a_url(built, tenant):
    webhook = built[tenant]["agent.json"]["webhook"]
    assert webhook["available"] is False and webhook["url"] == ""
