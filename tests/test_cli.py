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
    assert f"{bad}: languages: ['cy'] does not contain items matching the given schema" in lines
    assert any(line.startswith(f"{bad}: webhook.password_sha256: ") for line in lines)
    assert f"{bad}: processes.contact.opening_hours.monday: 17:00-09:00 closes before it opens" in lines
    assert any(line.startswith(f"{broken}:3: not valid YAML") for line in lines), lines
    assert f"{misnamed}: id: must be 'newport', the file name / document id" in lines
    assert lines[-1].endswith("problem(s) in 3 file(s)")


def test_faq_must_answer_in_every_language_the_council_offers(tmp_path):
    doc = yaml.safe_load((TENANTS / "cardiff.yaml").read_text())
    del doc["processes"]["faq"]["entries"][1]["answer"]["cy"]
    path = tmp_path / "cardiff.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = run("tenants", "validate", str(path))
    assert out.returncode == 1
    assert (f"{path}: processes.faq.entries[1].answer: give the Welsh too (cy), as this council offers en and cy"
            in out.stderr)


def test_request_prints_a_real_webhook_request():
    from google.cloud.dialogflow_v2.types import WebhookRequest

    out = run("request", "cardiff", "faq.ask", "--param", "topic=recycling-bags", "--param", "count=3",
              "--text", "bags", "--lang", "cy", "--context", 'faq-followup={"asked": true}')
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    parsed = WebhookRequest.from_json(out.stdout)  # strict: no unknown field
    assert parsed.session.startswith("projects/townhall-demo-cardiff/agent/sessions/")
    assert parsed.query_result.intent.display_name == "faq.ask"
    assert parsed.query_result.language_code == "cy"
    assert body["queryResult"]["parameters"] == {"topic": "recycling-bags", "count": 3}
    assert body["queryResult"]["outputContexts"][0]["name"].endswith("/contexts/faq-followup")


@pytest.mark.parametrize("args,message", [
    (["request", "nosuch", "welcome.hello"], "no tenant file"),
    (["request", "oxford", "welcome.hello", "--param", "novalue"], "write it as name=value"),
])
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
