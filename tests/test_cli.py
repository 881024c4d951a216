"""The townhall command, run as the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import REPO, TENANTS

TOWNHALL = str(Path(sys.executable).with_name("townhall"))


def run(*args, env=None, cwd=REPO):
    return subprocess.run([TOWNHALL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def test_example_tenants_are_valid():
    out = run("tenants", "validate")
    assert out.returncode == 0, out.stderr
    assert "2 tenant file(s) valid" in out.stdout


def test_validate_reports_file_path_and_reason(tmp_path):
    doc = yaml.safe_load((TENANTS / "cardiff.yaml").read_text())
    doc["languages"] = ["cy"]
    doc["webhook"]["password_sha256"] = "secret"
    doc["processes"]["contact"]["opening_hours"]["monday"] = "17:00-09:00"
    del doc["processes"]["faq"]["entries"][0]["answer"]["cy"]
    bad = tmp_path / "cardiff.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True))
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nname: [\n")
    misnamed = tmp_path / "newport.yaml"
    shutil.copy(TENANTS / "oxford.yaml", misnamed)

    out = run("tenants", "validate", str(bad), str(broken), str(misnamed))
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert (
        f"{bad}: languages: [\"cy\"] must include 'en'; expected: Languages the council's bot speaks, English "
        'first: en, and cy (Welsh) for Welsh councils (e.g. ["en"] or ["en", "cy"])' in lines
    )
    assert any(line.startswith(f"{bad}: webhook.password_sha256: ") for line in lines)
    assert f"{bad}: processes.contact.opening_hours.monday: 17:00-09:00 closes before it opens" in lines
    assert any(line.startswith(f"{broken}:3: not valid YAML") for line in lines), lines
    assert f"{misnamed}: id: must be 'newport', the file name / document id" in lines
    assert lines[-1].endswith("problem(s) in 3 file(s)")


def _write(tmp_path, name: str, doc: dict) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


def _real(source: str = "oxford.yaml") -> dict:
    """A demo tenant's document made to look like a real council's (no `demo: true`)."""
    doc = yaml.safe_load((TENANTS / source).read_text())
    doc.pop("demo")
    return doc


def test_schema_problems_say_what_was_wrong_the_expected_form_and_an_example(tmp_path):
    doc = yaml.safe_load((TENANTS / "oxford.yaml").read_text())
    doc["gss_code"] = "E0717"
    doc["contact"]["web_form"] = "http://example.org/contact"
    doc["processes"]["contact"]["opening_hours"]["monday"] = "9am-5pm"
    doc["processes"]["contact"]["bank_holidays"] = "wales"
    del doc["name"]
    path = _write(tmp_path, "oxford.yaml", doc)
    out = run("tenants", "validate", str(path))
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    # Core and process problems together, in one run; no regular expression in sight.
    assert lines == [
        f"{path}: contact.web_form: 'http://example.org/contact' does not match the expected form; expected: The "
        "web address (https://) of the council's contact form (e.g. 'https://www.council.example/contact-us')",
        f"{path}: gss_code: 'E0717' does not match the expected form; expected: ONS local authority district code: "
        "E06/E07/E08/E09 England, W06 Wales, S12 Scotland, N09 Northern Ireland, then six digits "
        "(e.g. 'E07000178' or 'W06000015')",
        f"{path}: name: missing; expected: The council's name as residents know it (e.g. 'Oxford City Council')",
        f"{path}: processes.contact.bank_holidays: 'wales' is not one of: 'england-and-wales', 'scotland', "
        "'northern-ireland', 'none'; expected: Which GOV.UK bank holiday list closes the council: the division "
        "of its nation, or 'none' if it opens on bank holidays",
        f"{path}: processes.contact.opening_hours.monday: '9am-5pm' does not match the expected form; expected: "
        "'closed', or comma-separated 24-hour ranges such as '09:00-12:30, 13:30-17:00'",
        "5 problem(s) in 1 file(s)",
    ]
    assert "^" not in out.stderr and "[0-9]" not in out.stderr


def test_every_pattern_and_format_in_the_core_schema_is_explained():
    """So a problem can say the expected form: a description or examples beside each pattern."""
    from townhall.tenants import SCHEMA_PATH

    def walk(node, where):
        if isinstance(node, dict):
            if ("pattern" in node or "format" in node) and not (node.get("description") or node.get("examples")):
                yield where
            for key, value in node.items():
                yield from walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{where}/{i}")

    assert list(walk(json.loads(SCHEMA_PATH.read_text()), "#")) == []


def test_validate_refuses_a_gss_code_not_in_force(tmp_path):
    doc = _real()
    doc["gss_code"] = "E07000001"  # well formed, but no such district
    path = _write(tmp_path, "oxford.yaml", doc)
    out = run("tenants", "validate", str(path))
    assert out.returncode == 1
    assert f"{path}: gss_code: E07000001 is not a local authority district in force in lad-codes-" in out.stderr
    assert "e.g. E07000178 for Oxford" in out.stderr


def test_validate_refuses_a_gss_code_another_council_holds(tmp_path):
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    _write(tenants, "oxford.yaml", _real())
    twin = _real()
    twin["id"] = "oxford-two"
    path = _write(tenants, "oxford-two.yaml", twin)
    out = run("--tenants-dir", str(tenants), "tenants", "validate", str(path))
    assert out.returncode == 1
    assert (
        f"{path}: gss_code: E07000178 (Oxford City Council) is already the code of tenant 'oxford' ({tenants / 'oxford.yaml'});"
        " expected: one tenant file per council"
    ) in out.stderr
    # Demo tenants may share a real council's code.
    assert run("tenants", "validate").returncode == 0


def test_validate_refuses_a_welsh_council_without_its_welsh_name(tmp_path):
    doc = yaml.safe_load((TENANTS / "cardiff.yaml").read_text())
    del doc["name_cy"]
    path = _write(tmp_path, "cardiff.yaml", doc)
    out = run("tenants", "validate", str(path))
    assert out.returncode == 1
    assert f"{path}: name_cy: missing: the council speaks Welsh (languages include cy)" in out.stderr
    assert "(e.g. name_cy: Cyngor Caerdydd)" in out.stderr


def test_validate_refuses_placeholders_in_a_real_council_file_only(tmp_path):
    doc = _real()
    doc["contact"]["email"] = "TODO@council.example"
    path = _write(tmp_path, "oxford.yaml", doc)
    out = run("tenants", "validate", str(path))
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    # oxford's demo values are on example.org: each is a placeholder in a real council's file.
    assert (
        f"{path}: contact.email: still a placeholder (TODO or example.org) from `townhall tenant new`; "
        "expected: the council's own value (docs/tenants.md), or switch that process off with "
        "`enabled: false`" in lines
    )
    assert any(line.startswith(f"{path}: processes.faq.entries[0].links[0].url: still a placeholder") for line in lines)
    doc["demo"] = True
    assert run("tenants", "validate", str(_write(tmp_path, "oxford.yaml", doc))).returncode == 0


def test_faq_must_answer_in_every_language_the_council_offers(tmp_path):
    doc = yaml.safe_load((TENANTS / "cardiff.yaml").read_text())
    del doc["processes"]["faq"]["entries"][1]["answer"]["cy"]
    path = tmp_path / "cardiff.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = run("tenants", "validate", str(path))
    assert out.returncode == 1
    assert (
        f"{path}: processes.faq.entries[1].answer: give the Welsh too (cy), as this council offers en and cy"
        in out.stderr
    )


def test_request_prints_a_real_webhook_request():
    from google.cloud.dialogflow_v2.types import WebhookRequest

    out = run(
        "request",
        "cardiff",
        "faq.ask",
        "--param",
        "topic=recycling-bags",
        "--param",
        "count=3",
        "--text",
        "bags",
        "--lang",
        "cy",
        "--context",
        'faq-followup={"asked": true}',
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    parsed = WebhookRequest.from_json(out.stdout)  # strict: no unknown field
    assert parsed.session.startswith("projects/townhall-demo-cardiff/agent/sessions/")
    assert parsed.query_result.intent.display_name == "faq.ask"
    assert parsed.query_result.language_code == "cy"
    assert body["queryResult"]["parameters"] == {"topic": "recycling-bags", "count": 3}
    assert body["queryResult"]["outputContexts"][0]["name"].endswith("/contexts/faq-followup")


def test_request_refuses_an_intent_the_tenant_does_not_have():
    out = run("request", "oxford", "welcome.helo")
    assert out.returncode == 2 and out.stdout == ""
    assert "townhall: request oxford welcome.helo: the library has no intent 'welcome.helo'." in out.stderr
    assert (
        "oxford's intents: " in out.stderr and "welcome.hello" in out.stderr and "contact.opening_hours" in out.stderr
    )


def test_request_refuses_an_intent_of_a_process_the_tenant_has_not_switched_on(tmp_path):
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    doc = yaml.safe_load((TENANTS / "oxford.yaml").read_text())
    doc["processes"]["faq"]["enabled"] = False
    _write(tenants, "oxford.yaml", doc)
    out = run("--tenants-dir", str(tenants), "request", "oxford", "faq.ask")
    assert out.returncode == 2
    assert "oxford has not switched on the process 'faq' ('faq.ask' is one of its intents)" in out.stderr
    assert "faq.ask" not in out.stderr.split("oxford's intents: ")[1]


@pytest.mark.parametrize(
    "args,message",
    [
        (["request", "nosuch", "welcome.hello"], "no tenant file"),
        (["request", "oxford", "welcome.hello", "--param", "novalue"], "write it as name=value"),
    ],
)
def test_request_explains_mistakes(args, message):
    out = run(*args)
    assert out.returncode != 0
    assert message in out.stderr


@pytest.mark.firestore
def test_settings_push_is_validated_idempotent_and_shows_progress(firestore_env, tmp_path):
    import os

    env = {**os.environ, **firestore_env}
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    for i in range(12):  # many tenants: one progress line each
        doc = yaml.safe_load((TENANTS / "oxford.yaml").read_text())
        doc["id"] = f"council-{i:02d}"
        (tenants / f"council-{i:02d}.yaml").write_text(yaml.safe_dump(doc))
    first = run("--tenants-dir", str(tenants), "settings", "push", env=env)
    assert first.returncode == 0, first.stderr
    assert "[12/12] council-11: created" in first.stderr
    assert "12 tenant(s): 12 created, 0 updated, 0 unchanged" in first.stdout
    again = run("--tenants-dir", str(tenants), "settings", "push", env=env)
    assert "12 tenant(s): 0 created, 0 updated, 12 unchanged" in again.stdout

    doc = yaml.safe_load((tenants / "council-03.yaml").read_text())
    doc["name"] = "Renamed Council"
    (tenants / "council-03.yaml").write_text(yaml.safe_dump(doc))
    one = run("--tenants-dir", str(tenants), "settings", "push", "--tenant", "council-03", env=env)
    assert "1 tenant(s): 0 created, 1 updated, 0 unchanged" in one.stdout

    from townhall.settings import FirestoreBackend

    assert FirestoreBackend().read("council-03")["name"] == "Renamed Council"

    doc["gss_code"] = "nonsense"
    (tenants / "council-03.yaml").write_text(yaml.safe_dump(doc))
    refused = run("--tenants-dir", str(tenants), "settings", "push", env=env)
    assert refused.returncode == 1
    assert "gss_code" in refused.stderr and "nothing pushed" in refused.stderr
    assert FirestoreBackend().read("council-03")["gss_code"] != "nonsense"
