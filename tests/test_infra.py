"""Terraform in infra/, checked without providers: formatting, types and descriptions, README tables,
the tenant factory, and the invariants of secrets, IAM and projects.

`terraform validate` and `plan` against the pinned providers' schemas run offline in
tests/test_terraform_offline.py (infra/README.md, "The offline validate and plan").
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from support import REPO, TENANTS

INFRA = REPO / "infra"
MODULES = {"root": INFRA, "platform": INFRA / "modules" / "platform", "tenant": INFRA / "modules" / "tenant"}
UPSTREAM_KEYS = {
    "pay-api-key",
    "notify-api-key",
    "open311-api-key",
    "open311-county-api-key",
    "democracy-club-api-key",
    "os-places-api-key",
}


def _tfdocs():
    spec = importlib.util.spec_from_file_location("tfdocs", INFRA / "scripts" / "tfdocs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tfdocs = _tfdocs()
unquote = tfdocs.unquote


def resources(folder: Path) -> dict[tuple[str, str], dict]:
    """{(type, name): body} of a module's resources."""
    out = {}
    for block in tfdocs.parse(folder).get("resource", []):
        for kind, named in block.items():
            for name, body in named.items():
                out[(unquote(kind), unquote(name))] = body
    return out


def module_calls(folder: Path) -> dict[str, dict]:
    return tfdocs.named(tfdocs.parse(folder).get("module", []))


def object_attributes(type_expression: str) -> set[str]:
    """Top-level attribute names of an object({...}) type constraint."""
    inner = re.fullmatch(r"object\(\{(.*)\}\)", unquote(type_expression).strip(), re.S).group(1)
    names, depth, current = set(), 0, ""
    for char in inner + ",":
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            names.add(current.split("=", 1)[0].strip())
            current = ""
        else:
            current += char
    return {n for n in names if n}


def tenant_docs() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(TENANTS.glob("*.yaml"))}


# -- Formatting and parsing ---------------------------------------------------------------------------


def test_terraform_fmt_check():
    terraform = shutil.which("terraform")
    assert terraform, "terraform is not on PATH: install it (infra/versions.tf gives the version) to run make test"
    env = dict(os.environ)
    if not Path(env.get("TF_CLI_CONFIG_FILE", "/nonexistent")).exists():
        env.pop("TF_CLI_CONFIG_FILE", None)  # a missing CLI config only adds a warning
    done = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(INFRA)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, f"run: terraform fmt -recursive infra\n{done.stdout}{done.stderr}"


def test_every_tf_file_parses_and_modules_have_the_standard_files():
    for name, folder in MODULES.items():
        for required in ("versions.tf", "variables.tf", "outputs.tf", "main.tf", "README.md"):
            assert (folder / required).is_file(), f"{name}: missing {required}"
        parsed = tfdocs.parse(folder)
        assert parsed.get("variable") and parsed.get("output"), name


def test_versions_are_pinned_in_every_module():
    for name, folder in MODULES.items():
        blocks = tfdocs.parse(folder)["terraform"]
        settings = {k: v for block in blocks for k, v in block.items()}
        assert re.fullmatch(r">= 1\.\d+\.\d+, < 2\.0\.0", unquote(settings["required_version"])), name
        providers = {
            k: v for block in settings["required_providers"] for k, v in block.items() if not k.startswith("__")
        }
        assert "google" in providers, name
        for provider, spec in providers.items():
            # One minor release: the schema in infra/testing/schema/ is the one `make test` checks.
            assert re.fullmatch(r"~> \d+\.\d+\.\d+", unquote(spec["version"])), f"{name}: pin {provider} with ~> X.Y.Z"
            assert unquote(spec["source"]).startswith("hashicorp/"), (name, provider)
    root = {k: v for b in tfdocs.parse(INFRA)["terraform"] for k, v in b.items()}
    assert "gcs" in {unquote(k) for b in root["backend"] for k in b}, "state goes to a GCS bucket"


def test_every_variable_has_a_type_and_description_and_every_output_a_description():
    for name, folder in MODULES.items():
        for var, body in tfdocs.variables(folder).items():
            assert body.get("type"), f"{name}: variable {var} needs a type"
            assert len(unquote(body.get("description", ""))) > 15, f"{name}: variable {var} needs a description"
        for out, body in tfdocs.outputs(folder).items():
            assert len(unquote(body.get("description", ""))) > 15, f"{name}: output {out} needs a description"


def test_readme_tables_match_variables_and_outputs():
    for folder in tfdocs.modules():
        readme = (folder / "README.md").read_text(encoding="utf-8")
        assert tfdocs.updated(readme, folder) == readme, (
            f"{folder / 'README.md'} is out of date: run .venv/bin/python infra/scripts/tfdocs.py"
        )
        for var in tfdocs.variables(folder):
            assert f"| `{var}` |" in readme


def test_validation_blocks_guard_ids_codes_and_languages():
    tenant = tfdocs.variables(MODULES["tenant"])["tenant"]
    conditions = " ".join(unquote(v["condition"]) for v in tenant["validation"])
    for field in ("id", "gss_code", "languages", "project", "location"):
        assert f"var.tenant.{field}" in conditions, f"no validation of tenant.{field}"
    for v in tenant["validation"]:
        assert len(unquote(v["error_message"])) > 40, "error messages say what is wrong and how to fix it"
    platform = tfdocs.variables(MODULES["platform"])
    for var in ("project", "region", "firestore_location", "source_zip", "function", "alert_notification_channels"):
        assert platform[var].get("validation"), f"platform: variable {var} needs a validation block"
    root = tfdocs.variables(INFRA)
    assert root["secret_adders"].get("validation"), "the root validates what only it takes"
    for var, body in root.items():  # the rest reaches a module that validates it
        assert (
            body.get("validation")
            or var in ("include_demo_tenants", "function_source_zip")
            or any(
                f"var.{var}" == unquote(v)
                for call in module_calls(INFRA).values()
                for v in call.values()
                if isinstance(v, str)
            )
        ), var


# -- The tenant factory ---------------------------------------------------------------------------------


def test_tenant_files_carry_the_schema_modeline():
    for path in sorted(TENANTS.glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../functions/townhall/schemas/tenant.schema.json", path
        schema = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert schema.is_file(), schema


def test_root_instantiates_the_tenant_module_once_per_tenant_file():
    locals_ = {k: unquote(v) for b in tfdocs.parse(INFRA)["locals"] for k, v in b.items()}
    assert locals_["tenant_files"] == 'fileset("${path.module}/tenants", "*.yaml")'
    assert re.search(
        r'trimsuffix\(file, "\.yaml"\) => yamldecode\(file\("\$\{path\.module\}/tenants/\$\{file\}"\)\)',
        locals_["all_tenants"],
    )
    # Every file is kept, except demo tenants unless include_demo_tenants is set.
    assert (
        locals_["tenants"]
        == "{for id, doc in local.all_tenants : id => doc if var.include_demo_tenants || !try(doc.demo, false)}"
    )
    calls = module_calls(INFRA)
    tenant_calls = [c for c in calls.values() if unquote(c["source"]) == "./modules/tenant"]
    assert len(tenant_calls) == 1 and unquote(tenant_calls[0]["for_each"]) == "local.tenants"
    assert (INFRA / "tenants") == TENANTS and len(list(TENANTS.glob("*.yaml"))) >= 2


def test_every_tenant_file_maps_onto_the_tenant_module_inputs():
    call = module_calls(INFRA)["tenant"]
    declared = tfdocs.variables(MODULES["tenant"])
    passed = set(call) - {"source", "for_each", "__is_block__"}
    required = {v for v, body in declared.items() if "default" not in body}
    assert required <= passed <= set(declared), (passed, set(declared))

    attributes = object_attributes(declared["tenant"]["type"])
    mapping = {k: unquote(v) for k, v in call["tenant"].items()}
    assert set(mapping) == attributes, "the root passes exactly the tenant object's attributes"

    for tenant_id, doc in tenant_docs().items():
        for attribute, expression in mapping.items():
            optional = expression.startswith("try(")
            path = re.search(r"each\.value\.([\w.]+)", expression).group(1).split(".")
            value = doc
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            assert value is not None or optional, f"{tenant_id}.yaml has no {'.'.join(path)} for tenant.{attribute}"
        assert doc["id"] == tenant_id


def test_every_tenant_file_passes_the_modules_regex_validations():
    tenant = tfdocs.variables(MODULES["tenant"])["tenant"]
    checks = []
    for v in tenant["validation"]:
        for pattern, field in re.findall(r'regex\("((?:[^"\\]|\\.)*)", var\.tenant\.(\w+)\)', unquote(v["condition"])):
            checks.append((re.compile(pattern.replace("\\\\", "\\")), field))
    assert {f for _, f in checks} >= {"id", "gss_code", "project"}
    call = {k: unquote(v) for k, v in module_calls(INFRA)["tenant"]["tenant"].items()}
    for tenant_id, doc in tenant_docs().items():
        values = {"id": doc["id"], "gss_code": doc["gss_code"], "project": doc["dialogflow"]["project"]}
        for pattern, field in checks:
            assert pattern.fullmatch(values[field]), (
                f"{tenant_id}.yaml: {field} {values[field]!r} fails {pattern.pattern}"
            )
        assert doc["languages"][0] == "en" and set(doc["languages"]) <= {"en", "cy"}
        assert "location" not in doc["dialogflow"], "regional agents are refused by the tenant module"
    assert call["project"] == "each.value.dialogflow.project"


def test_edition_and_deletion_policy_agree_with_the_tenant_schema():
    """`townhall tenants validate` (tenant.schema.json) and the tenant module accept the same values
    with the same defaults, every edition has a tier in infra/agent-settings.json, and the root
    leaves the defaults to the module (null when the tenant file says nothing)."""
    schema = json.loads((REPO / "functions" / "townhall" / "schemas" / "tenant.schema.json").read_text("utf-8"))
    dialogflow = schema["properties"]["dialogflow"]["properties"]
    tenant = tfdocs.variables(MODULES["tenant"])["tenant"]
    conditions = [unquote(v["condition"]) for v in tenant["validation"]]
    call = {k: unquote(v) for k, v in module_calls(INFRA)["tenant"]["tenant"].items()}
    tiers = json.loads((INFRA / "agent-settings.json").read_text(encoding="utf-8"))["tiers"]
    for field in ("edition", "deletion_policy"):
        allowed = next(
            json.loads(m.group(1))
            for c in conditions
            if (m := re.fullmatch(rf"contains\((\[.*\]), var\.tenant\.{field}\)", c))
        )
        assert allowed == dialogflow[field]["enum"], field
        default = re.search(rf'{field} = optional\(string, "(\w+)"\)', unquote(tenant["type"])).group(1)
        assert default == dialogflow[field]["default"], field
        assert call[field] == f"try(each.value.dialogflow.{field}, null)", field
    assert set(tiers) == set(dialogflow["edition"]["enum"])


# -- Invariants of the tenant module ----------------------------------------------------------------------


def test_agent_settings_come_from_the_file_the_agent_build_reads():
    """Language, names, time zone, threshold and logging: infra/agent-settings.json, read by both
    Terraform and `townhall agent build` (tests/test_terraform_offline.py compares the results)."""
    agent = resources(MODULES["tenant"])[("google_dialogflow_agent", "agent")]
    assert unquote(agent["default_language_code"]) == "var.agent.language"
    assert unquote(agent["supported_language_codes"]) == (
        "[for language in var.tenant.languages : language if language != var.agent.language]"
    )
    for argument, setting in [
        ("time_zone", "time_zone"),
        ("classification_threshold", "classification_threshold"),
        ("enable_logging", "interaction_logging"),
    ]:
        assert unquote(agent[argument]) == f"var.agent.{setting}", argument
    assert unquote(agent["tier"]) == "var.agent.tiers[var.tenant.edition]"
    assert unquote(agent["deletion_policy"]) == "upper(var.tenant.deletion_policy)"
    settings = json.loads((INFRA / "agent-settings.json").read_text(encoding="utf-8"))
    assert settings["interaction_logging"] is False, "Dialogflow's own logs would keep residents' words"
    assert settings["time_zone"] == "Europe/London"
    # Dialogflow ES tiers (provider 7.45.0): TIER_STANDARD is the trial edition, TIER_ENTERPRISE Essentials.
    assert settings["tiers"] == {"essentials": "TIER_ENTERPRISE", "trial": "TIER_STANDARD"}
    locals_ = {k: unquote(v) for b in tfdocs.parse(INFRA)["locals"] for k, v in b.items()}
    assert locals_["agent_settings"] == 'jsondecode(file("${path.module}/agent-settings.json"))'
    assert unquote(module_calls(INFRA)["tenant"]["agent"]) == "local.agent_settings"


def test_fulfillment_uses_basic_auth_with_the_tenant_id_and_the_generated_secret():
    found = resources(MODULES["tenant"])
    web = found[("google_dialogflow_fulfillment", "webhook")]["generic_web_service"][0]
    assert unquote(web["username"]) == "var.tenant.id"
    assert unquote(web["password"]) == "random_password.webhook.result"
    assert unquote(web["uri"]) == "var.platform.webhook_url"
    assert found[("random_password", "webhook")]["length"] >= 32
    version = found[("google_secret_manager_secret_version", "webhook_password")]
    assert unquote(version["secret_data"]) == "random_password.webhook.result"
    outputs = tfdocs.outputs(MODULES["tenant"])
    assert (
        unquote(outputs["webhook_password_sha256"]["value"]) == "nonsensitive(sha256(random_password.webhook.result))"
    )
    root = tfdocs.outputs(INFRA)
    assert "tenant.webhook_password_sha256" in unquote(root["webhook_password_sha256"]["value"])


def test_upstream_secrets_are_named_townhall_tenant_name_in_the_platform_project():
    found = resources(MODULES["tenant"])
    local = {k: unquote(v) for b in tfdocs.parse(MODULES["tenant"])["locals"] for k, v in b.items()}
    assert set(re.findall(r'"([a-z0-9-]+)"', local["upstream_keys"])) == UPSTREAM_KEYS
    # Every secret a tenant file or a process example names has its container.
    named = set()
    for path in [
        *sorted((REPO / "infra" / "tenants").glob("*.yaml")),
        *sorted((REPO / "library").glob("*/example.yaml")),
    ]:
        named |= set(re.findall(r"api_key_secret:\s*([a-z0-9-]+)", path.read_text(encoding="utf-8")))
    assert named and named <= UPSTREAM_KEYS, f"secrets with no container in modules/tenant: {named - UPSTREAM_KEYS}"
    assert local["secret_prefix"] == "townhall-${var.tenant.id}"
    assert local["secrets"] == (
        'merge({"webhook-password" = "webhook-password"}, {for key in local.upstream_keys : key => "upstream-key"})'
    )
    secrets = found[("google_secret_manager_secret", "secrets")]
    assert unquote(secrets["for_each"]) == "local.secrets"
    assert unquote(secrets["secret_id"]) == "${local.secret_prefix}-${each.key}"
    assert unquote(secrets["project"]) == "var.platform.project"
    replicas = secrets["replication"][0]["user_managed"][0]["replicas"][0]
    assert unquote(replicas["location"]) == "var.platform.region", "secrets stay in the platform's region"
    version = found[("google_secret_manager_secret_version", "webhook_password")]
    assert unquote(version["secret"]) == 'google_secret_manager_secret.secrets["webhook-password"].id'


def test_webhook_reads_exactly_the_upstream_secrets_and_nothing_project_wide():
    found = resources(MODULES["tenant"])
    grant = found[("google_secret_manager_secret_iam_member", "webhook_reads_upstream")]
    assert unquote(grant["for_each"]) == "local.upstream_keys", "not the webhook password"
    assert unquote(grant["secret_id"]) == "google_secret_manager_secret.secrets[each.key].secret_id"
    assert unquote(grant["role"]) == "roles/secretmanager.secretAccessor"
    assert unquote(grant["member"]) == "serviceAccount:${var.platform.webhook_service_account}"
    adders = found[("google_secret_manager_secret_iam_member", "council_adds_versions")]
    assert unquote(adders["role"]) == "roles/secretmanager.secretVersionAdder", "councils add keys, never read them"
    accessors = [key for key, body in found.items() if "secretAccessor" in unquote(body.get("role", ""))]
    assert accessors == [("google_secret_manager_secret_iam_member", "webhook_reads_upstream")]
    for folder in MODULES.values():
        for (kind, name), body in resources(folder).items():
            if kind.startswith("google_project_iam"):
                role = unquote(body.get("role", "")) + unquote(body.get("for_each", ""))
                assert "secretmanager" not in role, f"{kind}.{name}: secret access must be per secret"


# Resources whose API takes no project: a bucket object (its bucket decides), a secret version (its
# secret's full id decides), and Terraform's own random values.
NO_PROJECT_ARGUMENT = {
    "google_storage_bucket_object",
    "google_storage_bucket_iam_member",
    "google_secret_manager_secret_version",
    "random_password",
}


def test_every_resource_names_its_project():
    for name, folder in MODULES.items():
        for (kind, label), body in resources(folder).items():
            if kind not in NO_PROJECT_ARGUMENT:
                assert "project" in body, f"{name}: {kind}.{label} must set project (infra/README.md, 'One provider')"
    tenant = resources(MODULES["tenant"])
    for key in [
        ("google_project_service", "apis"),
        ("google_dialogflow_agent", "agent"),
        ("google_dialogflow_fulfillment", "webhook"),
    ]:
        assert unquote(tenant[key]["project"]) == "var.tenant.project", key
    provider = tfdocs.parse(INFRA)["provider"][0]['"google"']
    assert provider["user_project_override"] is True


# -- Invariants of the platform module -------------------------------------------------------------------


def test_function_runs_python_311_from_the_bundle_with_firestore_settings():
    found = resources(MODULES["platform"])
    function = found[("google_cloudfunctions2_function", "webhook")]
    build = function["build_config"][0]
    assert unquote(build["runtime"]) == "python311" and unquote(build["entry_point"]) == "webhook"
    storage = build["source"][0]["storage_source"][0]
    assert unquote(storage["object"]) == "google_storage_bucket_object.source.name"
    service = function["service_config"][0]
    assert service["environment_variables"]["TOWNHALL_SETTINGS_BACKEND"] == '"firestore"'
    assert unquote(service["service_account_email"]) == "google_service_account.webhook.email"
    assert unquote(service["ingress_settings"]) == "ALLOW_ALL"
    assert service["timeout_seconds"] <= 10, "Dialogflow waits 5 s: a longer timeout only keeps instances busy"
    source = found[("google_storage_bucket_object", "source")]
    assert "filesha256(var.source_zip)" in unquote(source["name"]), "the bundle object is named by its content"
    public = found[("google_cloud_run_service_iam_member", "public")]
    assert unquote(public["role"]) == "roles/run.invoker" and unquote(public["member"]) == "allUsers"


def _delete_rules(bucket: dict) -> list[dict]:
    """The conditions of a bucket's Delete lifecycle rules, values unquoted."""
    rules = []
    for rule in bucket.get("lifecycle_rule", []):
        if unquote(rule["action"][0]["type"]) == "Delete":
            condition = {k: v for k, v in rule["condition"][0].items() if not k.startswith("__")}
            rules.append({k: unquote(v) if isinstance(v, str) else v for k, v in condition.items()})
    return rules


def test_no_lifecycle_rule_deletes_the_live_bundle():
    """The bundle object is named by its content and stays while the function runs it: a rule by age
    would delete it under the running function, and every later plan would create it again. Only
    noncurrent versions (overwritten or deleted by hand) expire; versioning keeps them till then,
    and the bucket's access is logged to the access-log bucket."""
    found = resources(MODULES["platform"])
    sources = found[("google_storage_bucket", "sources")]
    assert sources["versioning"][0]["enabled"] is True
    assert unquote(sources["logging"][0]["log_bucket"]) == "google_storage_bucket.access_logs.name"
    rules = _delete_rules(sources)
    assert rules, "noncurrent bundles must expire"
    for condition in rules:
        assert condition.get("with_state") == "ARCHIVED" and "age" not in condition, condition


def test_access_logs_expire_even_with_versioning():
    """With versioning on, an age rule only makes a log noncurrent: a rule on noncurrent versions
    must delete it afterwards, or the logs are kept for ever."""
    logs = resources(MODULES["platform"])[("google_storage_bucket", "access_logs")]
    assert logs["versioning"][0]["enabled"] is True
    rules = _delete_rules(logs)
    assert any("age" in condition for condition in rules), "current logs expire by age"
    assert any(
        condition.get("with_state") == "ARCHIVED" and "days_since_noncurrent_time" in condition for condition in rules
    ), "noncurrent logs must be deleted too"


def test_firestore_is_native_protected_and_in_the_uk_or_eu():
    database = resources(MODULES["platform"])[("google_firestore_database", "settings")]
    assert unquote(database["type"]) == "FIRESTORE_NATIVE"
    assert unquote(database["delete_protection_state"]) == "DELETE_PROTECTION_ENABLED"
    assert unquote(database["location_id"]) == "var.firestore_location"
    assert unquote(tfdocs.variables(INFRA)["firestore_location"]["default"]) == "europe-west2"
    for folder in (MODULES["platform"],):
        variable = tfdocs.variables(folder)["firestore_location"]
        assert unquote(variable["default"]) == "europe-west2"
        condition = unquote(variable["validation"][0]["condition"])
        pattern = re.search(r'regex\("([^"]+)"', condition).group(1)
        for ok in ("europe-west2", "europe-west1"):
            assert re.fullmatch(pattern, ok)
        for bad in ("us-central1", "nam5", "asia-east1"):
            assert not re.fullmatch(pattern, bad) and bad != "eur3"


def _database_condition(body: dict) -> str:
    """The IAM condition's expression of a grant, with ${local.x} replaced by the local's value."""
    assert len(body.get("condition", [])) == 1, "a Firestore grant to the webhook must carry an IAM condition"
    expression = unquote(body["condition"][0]["expression"])
    locals_ = {k: unquote(v) for b in tfdocs.parse(MODULES["platform"])["locals"] for k, v in b.items()}
    return re.sub(r"\$\{local\.(\w+)\}", lambda m: locals_[m.group(1)], expression).replace('\\"', '"')


def test_webhook_service_account_has_least_privilege():
    """The webhook reads settings and writes only its side-effect records: write on the settings
    database would let a compromised webhook rewrite any council's password hash or upstreams."""
    found = resources(MODULES["platform"])
    grants = {
        k[1]: b
        for k, b in found.items()
        if k[0].startswith("google_project_iam") and "google_service_account.webhook" in unquote(b.get("member", ""))
    }
    roles = {name: unquote(b["role"]) for name, b in grants.items()}
    assert roles == {
        "webhook_reads_settings": "roles/datastore.viewer",
        "webhook_writes_side_effects": "roles/datastore.user",
    }
    settings, side_effects = (
        "projects/${var.project}/databases/${google_firestore_database.settings.name}",
        "projects/${var.project}/databases/${google_firestore_database.side_effects.name}",
    )
    for name, database in [("webhook_reads_settings", settings), ("webhook_writes_side_effects", side_effects)]:
        expression = _database_condition(grants[name])
        assert expression == f'resource.name == "{database}" || resource.name.startsWith("{database}/")', name
    # Two databases, so the two conditions never cover each other.
    databases = {unquote(b["name"]) for (kind, _), b in found.items() if kind == "google_firestore_database"}
    assert databases == {"(default)", "townhall-side-effects"}
    for folder in MODULES.values():
        for (kind, name), body in resources(folder).items():
            if kind.startswith("google_project_iam") and "datastore" in unquote(body.get("role", "")):
                assert body.get("condition"), f"{kind}.{name}: Firestore access must be per database"


def test_side_effect_records_have_their_own_database_named_for_the_runtime():
    from townhall.settings import SIDE_EFFECTS_DATABASE

    found = resources(MODULES["platform"])
    database = found[("google_firestore_database", "side_effects")]
    assert unquote(database["name"]) == SIDE_EFFECTS_DATABASE, "the runtime's default names the same database"
    settings = found[("google_firestore_database", "settings")]
    for key in ("type", "location_id", "delete_protection_state", "project"):
        assert database[key] == settings[key], key
    variables = found[("google_cloudfunctions2_function", "webhook")]["service_config"][0]["environment_variables"]
    assert unquote(variables["TOWNHALL_SIDE_EFFECTS_DATABASE"]) == "google_firestore_database.side_effects.name"
    assert unquote(variables["TOWNHALL_FIRESTORE_DATABASE"]) == "google_firestore_database.settings.name"


def test_side_effect_records_expire():
    """sideeffects.py stamps each record with expire_at; a TTL policy on that field deletes it."""
    from townhall import sideeffects

    ttl = resources(MODULES["platform"])[("google_firestore_field", "side_effects_expire_at")]
    assert unquote(ttl["collection"]) == sideeffects.COLLECTION
    assert unquote(ttl["field"]) == "expire_at"
    assert "ttl_config" in ttl
    assert unquote(ttl["database"]) == "google_firestore_database.side_effects.name"


FAKE_TERRAFORM = """#!/usr/bin/env bash
# Stands in for terraform in ci.sh's plan stage: `state list` answers $FAKE_STATE (or fails when
# $FAKE_STATE_FAILS is set); `plan` records the alerts_enabled it was given.
for arg in "$@"; do
  case $arg in
    list) [[ -z ${FAKE_STATE_FAILS:-} ]] || exit 1; printf '%s\\n' "$FAKE_STATE"; exit 0 ;;
    plan) echo "${TF_VAR_alerts_enabled-unset}" > "$FAKE_RECORD"; exit 0 ;;
  esac
done
"""


def _ci_plan(tmp_path: Path, state: str, **env: str) -> tuple[subprocess.CompletedProcess, str]:
    """infra/scripts/ci.sh plan in a copy of the tree, with a Terraform that plans nothing."""
    work = tmp_path / "repo"
    (work / "infra" / "scripts").mkdir(parents=True, exist_ok=True)
    shutil.copy(INFRA / "scripts" / "ci.sh", work / "infra" / "scripts" / "ci.sh")
    (work / "build").mkdir(exist_ok=True)
    (work / "build" / "function.zip").write_bytes(b"")
    (tmp_path / "bin").mkdir(exist_ok=True)
    terraform = tmp_path / "bin" / "terraform"
    terraform.write_text(FAKE_TERRAFORM, encoding="utf-8")
    terraform.chmod(0o755)
    record = tmp_path / "alerts_enabled.txt"
    record.unlink(missing_ok=True)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "TF_"))},
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "TOWNHALL_STATE_BUCKET": "state-bucket",
        "TOWNHALL_PLATFORM_PROJECT": "platform-project",
        "FAKE_STATE": state,
        "FAKE_RECORD": str(record),
        **env,
    }
    done = subprocess.run(
        ["bash", str(work / "infra" / "scripts" / "ci.sh"), "plan"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    return done, record.read_text(encoding="utf-8").strip() if record.is_file() else ""


def test_ci_plans_the_turn_alerts_only_once_their_metric_is_in_the_state(tmp_path):
    """A first apply (no metric in the state) plans alerts_enabled = false and says why; a later
    build plans true; _ALERTS_ENABLED (TOWNHALL_ALERTS_ENABLED) overrides; an unreadable state stops
    the build rather than guessing."""
    metric = "module.platform.google_logging_metric.turns"
    # Cloud Build passes an empty _ALERTS_ENABLED as TOWNHALL_ALERTS_ENABLED="": the state decides.
    first, planned = _ci_plan(tmp_path, "module.platform.google_project_service.apis", TOWNHALL_ALERTS_ENABLED="")
    assert first.returncode == 0, first.stderr
    assert planned == "false" and "not in the state yet" in first.stdout
    later, planned = _ci_plan(tmp_path, f"module.platform.google_project_service.apis\n{metric}")
    assert later.returncode == 0, later.stderr
    assert planned == "true"
    forced, planned = _ci_plan(tmp_path, metric, TOWNHALL_ALERTS_ENABLED="false")
    assert forced.returncode == 0 and planned == "false"
    unreadable, planned = _ci_plan(tmp_path, "", FAKE_STATE_FAILS="1")
    assert unreadable.returncode == 1 and planned == ""
    assert "set TOWNHALL_ALERTS_ENABLED" in unreadable.stderr


def test_alerts_documented_in_operations():
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    runbook = {k: unquote(v) for b in tfdocs.parse(MODULES["platform"])["locals"] for k, v in b.items()}["runbook"]
    assert "docs/operations.md" in runbook and "Alerts" in runbook
    locals_ = {k: v for b in tfdocs.parse(MODULES["platform"])["locals"] for k, v in b.items()}
    titles = []
    for (kind, name), body in resources(MODULES["platform"]).items():
        if kind == "google_monitoring_alert_policy":
            title = unquote(body["display_name"])
            if title == "each.value.title":
                assert unquote(body["for_each"]) == "var.alerts_enabled ? local.turn_alerts : {}", name
                titles += [unquote(alert["title"]) for alert in locals_["turn_alerts"].values()]
            else:
                titles.append(title)
            assert "${local.runbook}" in unquote(body["documentation"][0]["content"])
            assert unquote(body["notification_channels"]) == "var.alert_notification_channels"
    assert len(titles) == 10  # 7 turn alerts (4 process and council, 3 upstream), 5xx, latency, chat degraded
    for title in titles:
        assert f"| {title} |" in operations, f"docs/operations.md, Alerts, must explain {title!r}"


def test_turn_alerts_and_the_operations_guide_follow_the_outcomes():
    """The Outcome enumeration is the one list of turn outcomes: each names the turn alert that
    counts it (or None), alerts.tf's turn_alerts count exactly those, and docs/operations.md has
    a row per outcome with its status, severity, alert, meaning and what to do."""
    from townhall.outcomes import Outcome

    locals_ = {k: v for b in tfdocs.parse(MODULES["platform"])["locals"] for k, v in b.items()}
    alerts = {
        key: {"title": unquote(a["title"]), "outcomes": [unquote(o) for o in a["outcomes"]]}
        for key, a in locals_["turn_alerts"].items()
    }
    values = {o.value for o in Outcome}
    for key, alert in alerts.items():
        for value in alert["outcomes"]:
            assert value in values, f"alerts.tf turn_alerts.{key} counts {value!r}, which is not an Outcome"
            assert Outcome(value).alert == key, f"Outcome {value!r} names alert {Outcome(value).alert!r}, not {key!r}"
    for outcome in Outcome:
        assert outcome.severity == ("INFO" if outcome is Outcome.OK else "WARNING") or outcome.severity == "ERROR"
        if outcome.alert is not None:
            assert outcome.alert in alerts, (
                f"Outcome {outcome.value!r} names no turn alert in alerts.tf: {outcome.alert!r}"
            )
            assert outcome.value in alerts[outcome.alert]["outcomes"], outcome
    assert Outcome.OK.alert is None and Outcome.OK.severity == "INFO"
    # Every failure a council's own traffic can cause is watched; what is not, the guide says why.
    watched = {o.value for o in Outcome if o.alert is not None}
    assert {
        "unauthenticated",
        "forbidden",
        "bad_request",
        "settings_unavailable",
        "settings_invalid",
        "unknown_intent",
        "timeout",
        "handler_error",
        "render_error",
        "runtime_error",
        "upstream_failed",
        "upstream_refused",
        "secret_missing",
        "side_effect_unknown",
    } <= watched

    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = operations.split("## Turn outcomes", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    assert set(rows) == values, "docs/operations.md, Turn outcomes, needs exactly one row per Outcome"
    for outcome in Outcome:
        value, status, severity, alert, meaning, todo = rows[outcome.value]
        assert (status, severity) == (str(outcome.status), outcome.severity), rows[outcome.value]
        assert alert == (alerts[outcome.alert]["title"] if outcome.alert else "none"), rows[outcome.value]
        assert meaning == outcome.meaning, f"the guide's meaning of {outcome.value!r} differs from outcomes.py"
        assert todo, f"docs/operations.md must say what to do about {outcome.value!r}"


def test_terraform_and_agent_deploy_name_the_fulfillment_alike():
    """Both set the Dialogflow fulfillment: a different name would show as drift on every plan."""
    from townhall_tools.agent import deploy

    fulfillment = resources(MODULES["tenant"])[("google_dialogflow_fulfillment", "webhook")]
    assert unquote(fulfillment["display_name"]) == deploy.FULFILLMENT_NAME
