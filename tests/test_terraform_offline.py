"""`terraform init`, `validate` and `plan` of infra/, offline: real Terraform against the google and
random providers' schemas kept in infra/testing/schema/ (read from the providers' source), served
by the project's stand-in provider (infra/testing/provider/standin.py). Planted errors must fail,
and the planned agent must agree with the agent ZIP `townhall agent build` makes.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from support import REPO, TENANTS

from townhall.library import Library
from townhall_tools.agent.build import build_tenant

INFRA = REPO / "infra"


def _offline():
    spec = importlib.util.spec_from_file_location("offline", INFRA / "testing" / "offline.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["offline"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


offline = _offline()


def _report(results) -> str:
    return "\n\n".join(f"$ {r.command} (exit {r.returncode})\n{r.output}" for r in results)


@pytest.fixture(scope="module")
def planned():
    results = offline.check()
    assert all(r.ok for r in results), _report(results)
    assert [r.command.split()[1] for r in results] == ["init", "validate", "plan", "show"]
    shown = json.loads(results[-1].output[results[-1].output.index("{") :])
    return results, shown


def test_validate_passes_and_plan_creates_the_platform_and_every_council(planned):
    results, shown = planned
    assert "Success! The configuration is valid." in results[1].output
    summary = offline.summary(results)
    creates = offline.planned_creates(results)
    print(f"\noffline plan: {summary} ({len(creates)} resources to add, 0 errors)")
    assert re.fullmatch(rf"Plan: {len(creates)} to add, 0 to change, 0 to destroy\.", summary), summary
    tenants = sorted(p.stem for p in TENANTS.glob("*.yaml"))
    for address in [
        "module.platform.google_cloudfunctions2_function.webhook",
        "module.platform.google_firestore_database.settings",
        "module.platform.google_logging_metric.turns",
        'module.platform.google_monitoring_alert_policy.turns["credentials"]',
        "module.platform.google_storage_bucket.access_logs",
        *[f'module.tenant["{t}"].google_dialogflow_agent.agent' for t in tenants],
        *[f'module.tenant["{t}"].google_dialogflow_fulfillment.webhook' for t in tenants],
        *[f'module.tenant["{t}"].random_password.webhook' for t in tenants],
    ]:
        assert address in creates, address
    # Every resource type planned has its schema in the repository (the plan could not exist otherwise).
    kinds = {c["type"] for c in shown["resource_changes"]}
    schemas = {}
    for provider in ("google", "random"):
        document = json.loads(offline.schema_file(provider).read_text(encoding="utf-8"))
        schemas.update(next(iter(document["provider_schemas"].values()))["resource_schemas"])
    assert kinds <= set(schemas)


def test_first_apply_order_apis_before_what_needs_them(planned):
    """Every platform resource that calls a Google API waits for the enabled APIs, and the
    tenants' secrets wait for the platform's (the project they name comes from an output that
    depends on them)."""
    _, shown = planned
    config = shown["configuration"]["root_module"]["module_calls"]
    platform = config["platform"]["module"]["resources"]
    waits = {
        r["address"]: r.get("depends_on", []) + [ref for e in r.get("expressions", {}).values() for ref in _refs(e)]
        for r in platform
    }
    apis = "google_project_service.apis"
    for address in waits:
        if address.startswith("google_") and not address.startswith("google_project_service."):  # random_* call no API
            assert _waits_for_apis(address, waits, apis), f"{address} does not wait for the platform's APIs"
    output = config["platform"]["module"]["outputs"]["project"]
    assert apis in output.get("depends_on", [])
    # ...and the tenants take their platform project from that output, not from the variable.
    platform_input = config["tenant"]["expressions"]["platform"].get("references", [])
    assert "module.platform.project" in platform_input and "var.platform_project" not in platform_input
    tenant = config["tenant"]["module"]["resources"]
    agent = next(r for r in tenant if r["address"] == "google_dialogflow_agent.agent")
    assert "google_project_service.apis" in agent["depends_on"]


def _refs(expression) -> list[str]:
    if isinstance(expression, dict):
        out = list(expression.get("references", []))
        for value in expression.values():
            if isinstance(value, dict | list):
                out += _refs(value)
        return out
    if isinstance(expression, list):
        return [ref for item in expression for ref in _refs(item)]
    return []


def _waits_for_apis(address: str, waits: dict, apis: str, depth: int = 0) -> bool:
    """The resource depends on the APIs, or references a resource of the module that does."""
    deps = waits.get(address, [])
    if any(d == apis or d.startswith(apis + "[") for d in deps):
        return True
    if depth > 6:
        return False
    for other in waits:
        if other != address and any(d == other or d.startswith(other + ".") for d in deps):
            if _waits_for_apis(other, waits, apis, depth + 1):
                return True
    return False


@pytest.fixture(scope="module")
def zips() -> dict[str, dict]:
    library = Library.load(REPO / "library")
    out = {}
    for path in sorted(TENANTS.glob("*.yaml")):
        data = build_tenant(path.stem, TENANTS, library).zip_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            out[path.stem] = json.loads(zf.read("agent.json"))
    return out


def _planned_agents(shown: dict) -> dict[str, dict]:
    """Tenant id -> the planned values of its google_dialogflow_agent, from `terraform show -json`."""
    return {
        re.search(r'\["(.+)"\]', r["address"]).group(1): r["values"]
        for module in shown["planned_values"]["root_module"]["child_modules"]
        for r in module.get("resources", [])
        if r["type"] == "google_dialogflow_agent"
    }


def test_terraform_and_the_built_zip_agree_on_the_agent(planned, zips):
    """What `townhall agent deploy` restores and what the next plan sets are the same agent:
    language, names, description, time zone, classification threshold and logging; the edition and
    the deletion policy come from the tenant file with their safe defaults."""
    _, shown = planned
    values = _planned_agents(shown)
    assert set(values) == set(zips) and values
    for tenant, agent in zips.items():
        planned_agent = values[tenant]
        doc = yaml.safe_load((TENANTS / f"{tenant}.yaml").read_text(encoding="utf-8"))
        assert planned_agent["default_language_code"] == agent["language"], tenant
        assert planned_agent["supported_language_codes"] == agent["supportedLanguages"], tenant
        assert planned_agent["display_name"] == agent["displayName"], tenant
        assert planned_agent["description"] == agent["description"], tenant
        assert planned_agent["time_zone"] == agent["defaultTimezone"], tenant
        assert planned_agent["classification_threshold"] == agent["mlMinConfidence"], tenant
        assert planned_agent["enable_logging"] is (not agent["disableInteractionLogs"]) is False, tenant
        edition = doc["dialogflow"].get("edition", "essentials")
        assert planned_agent["tier"] == {"essentials": "TIER_ENTERPRISE", "trial": "TIER_STANDARD"}[edition]
        assert planned_agent["deletion_policy"] == doc["dialogflow"].get("deletion_policy", "abandon").upper()
        assert "edition" not in doc["dialogflow"] or doc["dialogflow"]["edition"] in ("essentials", "trial")


def _replace(relative: str, old: str, new: str):
    def mutate(infra: Path) -> None:
        path = infra / relative
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, (relative, old)
        path.write_text(text.replace(old, new), encoding="utf-8")

    return mutate


PLANTED = {
    "unknown argument": (
        _replace(
            "modules/tenant/main.tf",
            "  time_zone                = var.agent.time_zone\n",
            '  time_zone                = var.agent.time_zone\n  timezone_name = "Europe/London"\n',
        ),
        r'An argument named "timezone_name" is not expected here',
    ),
    "misspelt nested block argument": (
        _replace("modules/platform/main.tf", '    entry_point     = "webhook"', '    entrypoint      = "webhook"'),
        r'An argument named "entrypoint" is not expected here',
    ),
    "missing required argument": (
        _replace("modules/tenant/main.tf", '  secret_id = "${local.secret_prefix}-${each.key}"\n', ""),
        r'The argument "secret_id" is required, but no definition was found',
    ),
    "edition the tenant module does not know": (
        _replace(
            "tenants/oxford.yaml",
            "  project: townhall-demo-oxford\n",
            "  project: townhall-demo-oxford\n  edition: gold\n",
        ),
        r"dialogflow\.edition must be essentials .* or trial",
    ),
    "value outside the provider's enumeration": (
        _replace("agent-settings.json", '"essentials": "TIER_ENTERPRISE"', '"essentials": "TIER_ESSENTIALS"'),
        r"expected tier to be one of \[.*?\], got TIER_ESSENTIALS",
    ),
}


@pytest.mark.parametrize("planted", sorted(PLANTED))
def test_planted_errors_are_caught(planted):
    """The negative control: each planted mistake fails `terraform validate` (or, for a value only
    known from data, `plan`), naming what is wrong."""
    mutate, message = PLANTED[planted]
    results = offline.check(mutate)
    failed = results[-1]
    assert not failed.ok, f"{planted} was not caught:\n{_report(results)}"
    assert re.search(message, " ".join(failed.output.split())), failed.output
    print(f"\n{planted}: {failed.command} failed: {re.search(message, ' '.join(failed.output.split())).group()}")


def test_a_tenant_files_edition_and_deletion_policy_reach_the_planned_agent():
    """The demo tenant files leave both to their defaults: a council choosing the trial edition and
    deletion gets TIER_STANDARD and DELETE, and the other council keeps the defaults."""
    mutate = _replace(
        "tenants/cardiff.yaml",
        "  project: townhall-demo-cardiff\n",
        "  project: townhall-demo-cardiff\n  edition: trial\n  deletion_policy: delete\n",
    )
    results = offline.check(mutate)
    assert all(r.ok for r in results), _report(results)
    shown = json.loads(results[-1].output[results[-1].output.index("{") :])
    agents = _planned_agents(shown)
    assert (agents["cardiff"]["tier"], agents["cardiff"]["deletion_policy"]) == ("TIER_STANDARD", "DELETE")
    assert (agents["oxford"]["tier"], agents["oxford"]["deletion_policy"]) == ("TIER_ENTERPRISE", "ABANDON")


def test_the_schemas_in_the_repository_are_the_pinned_versions():
    """The schema checked is the one for the pinned range, and says where it came from."""
    versions = (INFRA / "versions.tf").read_text(encoding="utf-8")
    lock = (INFRA / ".terraform.lock.hcl").read_text(encoding="utf-8")
    for provider in ("google", "random"):
        document = json.loads(offline.schema_file(provider).read_text(encoding="utf-8"))
        source = document["source"]
        assert source["repository"] == f"github.com/hashicorp/terraform-provider-{provider}"
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]) and source["tag"] == f"v{source['version']}"
        pin = re.search(
            rf'{provider} = \{{\s*source\s*=\s*"hashicorp/{provider}"\s*version\s*=\s*"~> ([\d.]+)"', versions
        )
        assert pin and pin.group(1) == source["version"], f"versions.tf pins {provider} to ~> {source['version']}"
        if f'hashicorp/{provider}"' in lock:
            locked = re.search(rf'hashicorp/{provider}" {{\s*version\s*=\s*"([\d.]+)"', lock).group(1)
            assert locked == source["version"], f".terraform.lock.hcl locks {provider} {locked}"
    assert 'provider "registry.terraform.io/hashicorp/google"' in lock
