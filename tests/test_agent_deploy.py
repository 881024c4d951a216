"""``townhall agent deploy``: the real google-cloud-dialogflow client, over real gRPC, against a
fake Dialogflow API on loopback (tests/fake_dialogflow.py) that checks and records what it gets."""

from __future__ import annotations

import io
import json
import re
import zipfile
from types import SimpleNamespace

import pytest
from fake_dialogflow import FakeDialogflow, Serving
from support import PASSWORDS, PROJECTS, REPO

from townhall_tools.cli import main

URL = "https://europe-west2-townhall-platform.cloudfunctions.net/webhook"


@pytest.fixture
def fake():
    serving = Serving(FakeDialogflow(projects=set(PROJECTS.values())))
    try:
        yield serving
    finally:
        serving.stop()


@pytest.fixture
def deploy(monkeypatch, capsys):
    """Run ``townhall agent deploy ARGS`` in this process (the CLI's own main) with ``env``."""

    def run(fake: Serving, *args: str, **env: str) -> SimpleNamespace:
        for key in (
            "TOWNHALL_WEBHOOK_URL",
            "TOWNHALL_WEBHOOK_PASSWORD",
            "GOOGLE_CLOUD_PROJECT",
            "TOWNHALL_PLATFORM_PROJECT",
        ):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("TOWNHALL_DIALOGFLOW_ENDPOINT", fake.endpoint)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(REPO)
        code = main(["agent", "deploy", *args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


@pytest.mark.parametrize("tenant", sorted(PROJECTS))
def test_deploy_restores_sets_the_fulfillment_then_trains(fake, deploy, tenant):
    done = deploy(fake, tenant, "--webhook-url", URL, "--password-from-env", "SECRET", SECRET=PASSWORDS[tenant])
    assert done.returncode == 0, done.stderr
    parent = f"projects/{PROJECTS[tenant]}"
    assert fake.fake.methods() == ["RestoreAgent", "UpdateFulfillment", "TrainAgent"]
    restore, update, train = (c.request for c in fake.fake.calls)
    # No blank window: the restored ZIP leaves the webhook off (the static answers speak), the
    # fulfillment is on with its URL before training, and never on with an empty URL.
    project = PROJECTS[tenant]
    assert [s for s in fake.fake.states if s[1] == project] == [
        ("RestoreAgent", project, False, ""),
        ("UpdateFulfillment", project, True, URL),
        ("TrainAgent", project, True, URL),
    ]
    assert not [s for s in fake.fake.states if s[2] and not s[3]]
    assert restore.parent == parent and train.parent == parent
    with zipfile.ZipFile(io.BytesIO(restore.agent_content)) as zf:
        names = zf.namelist()
        agent = json.loads(zf.read("agent.json"))
    assert "intents/welcome.hello.json" in names and "intents/contact.opening_hours_usersays_en.json" in names
    assert agent["displayName"] == {"oxford": "Oxford City Council", "cardiff": "Cardiff Council"}[tenant]
    assert f"{tenant}: agent restored, fulfillment set, trained" in done.stdout
    assert agent["webhook"]["available"] is False and agent["webhook"]["url"] == ""
    fulfillment = update.fulfillment
    assert fulfillment.name == f"{parent}/agent/fulfillment"
    assert fulfillment.enabled is True
    assert fulfillment.generic_web_service.uri == URL
    assert fulfillment.generic_web_service.username == tenant
    assert fulfillment.generic_web_service.password == PASSWORDS[tenant]
    assert set(update.update_mask.paths) == {"display_name", "enabled", "generic_web_service"}
    assert PASSWORDS[tenant].encode() not in restore.agent_content


def test_password_and_url_from_the_environment(fake, deploy):
    done = deploy(fake, "oxford", TOWNHALL_WEBHOOK_URL=URL, TOWNHALL_WEBHOOK_PASSWORD=PASSWORDS["oxford"])
    assert done.returncode == 0, done.stderr
    assert fake.fake.fulfillments["townhall-demo-oxford"].generic_web_service.uri == URL


def test_a_password_that_does_not_match_the_tenant_file_sends_nothing(fake, deploy):
    done = deploy(fake, "oxford", "--webhook-url", URL, TOWNHALL_WEBHOOK_PASSWORD="not-the-secret")
    assert done.returncode == 1
    assert "does not match webhook.password_sha256" in done.stderr
    assert fake.fake.calls == []


def test_no_webhook_url_is_a_clear_error(fake, deploy):
    done = deploy(fake, "oxford", TOWNHALL_WEBHOOK_PASSWORD=PASSWORDS["oxford"])
    assert done.returncode == 1 and "--webhook-url" in done.stderr and "TOWNHALL_WEBHOOK_URL" in done.stderr
    plain = deploy(
        fake, "oxford", "--webhook-url", "http://example.org/", TOWNHALL_WEBHOOK_PASSWORD=PASSWORDS["oxford"]
    )
    assert plain.returncode == 1 and "HTTPS" in plain.stderr
    assert fake.fake.calls == []


def test_no_password_anywhere_says_how_to_give_one(fake, deploy):
    done = deploy(fake, "oxford", "--webhook-url", URL)
    assert done.returncode == 1
    assert "--password-from-env" in done.stderr and "townhall-oxford-webhook-password" in done.stderr


def test_dialogflow_refusing_is_reported(deploy):
    serving = Serving(FakeDialogflow(projects={"someone-else"}))  # no agent in the tenant's project
    try:
        done = deploy(serving, "cardiff", "--webhook-url", URL, TOWNHALL_WEBHOOK_PASSWORD=PASSWORDS["cardiff"])
    finally:
        serving.stop()
    assert done.returncode == 1
    assert "Dialogflow refused (projects/townhall-demo-cardiff)" in done.stderr and "no agent" in done.stderr


def test_a_council_whose_secret_terraform_owns_deploys_with_that_secret(fake, deploy, tmp_path):
    """Real councils' files say managed-by-terraform: the secret Terraform keeps is used as it is."""
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    text = (REPO / "infra" / "tenants" / "oxford.yaml").read_text(encoding="utf-8")
    text = re.sub(r"password_sha256: [0-9a-f]{64}", "password_sha256: managed-by-terraform", text)
    (tenants / "oxford.yaml").write_text(text, encoding="utf-8")
    done = deploy(
        fake,
        "oxford",
        "--webhook-url",
        URL,
        TOWNHALL_TENANTS_DIR=str(tenants),
        TOWNHALL_WEBHOOK_PASSWORD="generated-by-terraform",
    )
    assert done.returncode == 0, done.stderr
    assert fake.fake.fulfillments["townhall-demo-oxford"].generic_web_service.password == "generated-by-terraform"


def test_the_secret_read_is_the_one_the_tenant_module_makes():
    from townhall_tools.agent.deploy import secret_name

    module = (REPO / "infra" / "modules" / "tenant" / "main.tf").read_text(encoding="utf-8")
    assert '"webhook-password"' in module and 'secret_id = "${local.secret_prefix}-${each.key}"' in module
    assert 'secret_prefix = "townhall-${var.tenant.id}"' in module
    assert (
        secret_name("oxford", "platform")
        == "projects/platform/secrets/townhall-oxford-webhook-password/versions/latest"
    )
