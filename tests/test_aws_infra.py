"""Terraform in infra/aws/, checked without the AWS provider (which cannot be downloaded here):
formatting, parsed .tf files, versions, types and descriptions, README tables, the tenant factory,
least-privilege IAM, the tables the runtime expects, the alarms against the outcomes, the secrets'
names and tags, and the Lambda package's contents.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from support import FUNCTIONS, REPO, TENANTS

from townhall.aws.dynamodb import SIDE_EFFECTS_TABLE, TENANTS_TABLE
from townhall.outcomes import Outcome
from townhall.secrets import secret_id

AWS = REPO / "infra" / "aws"
MODULES = {"root": AWS, "platform": AWS / "modules" / "platform", "tenant": AWS / "modules" / "tenant"}


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tfdocs = _load("tfdocs", REPO / "infra" / "scripts" / "tfdocs.py")
unquote = tfdocs.unquote


def resources(folder: Path) -> dict[tuple[str, str], dict]:
    out = {}
    for kind in ("resource", "data"):
        for block in tfdocs.parse(folder).get(kind, []):
            for rtype, named in block.items():
                for name, body in named.items():
                    out[(unquote(rtype), unquote(name))] = body
    return out


def locals_of(folder: Path) -> dict:
    return {k: v for block in tfdocs.parse(folder).get("locals", []) for k, v in block.items()}


def deep_unquote(value):
    if isinstance(value, dict):
        return {unquote(k): deep_unquote(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [deep_unquote(v) for v in value]
    return unquote(value)


def test_terraform_fmt_check():
    terraform = shutil.which("terraform")
    assert terraform, "terraform is not on PATH: install it to run make test"
    env = dict(os.environ)
    if not Path(env.get("TF_CLI_CONFIG_FILE", "/nonexistent")).exists():
        env.pop("TF_CLI_CONFIG_FILE", None)
    done = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(AWS)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, f"run: terraform fmt -recursive infra/aws\n{done.stdout}{done.stderr}"


def test_modules_parse_have_the_standard_files_and_pinned_versions():
    for name, folder in MODULES.items():
        for required in ("versions.tf", "variables.tf", "outputs.tf", "main.tf", "README.md"):
            assert (folder / required).is_file(), f"{name}: missing {required}"
        parsed = tfdocs.parse(folder)
        assert parsed.get("variable") and parsed.get("output"), name
        settings = {k: v for block in parsed["terraform"] for k, v in block.items()}
        assert re.fullmatch(r">= 1\.\d+\.\d+, < 2\.0\.0", unquote(settings["required_version"])), name
        providers = {k: v for b in settings["required_providers"] for k, v in b.items() if not k.startswith("__")}
        assert "aws" in providers and "google" not in providers, name
        for provider, spec in providers.items():
            assert re.fullmatch(r"~> \d+\.\d+", unquote(spec["version"])), f"{name}: pin {provider} with ~> X.Y"
    root = {k: v for b in tfdocs.parse(AWS)["terraform"] for k, v in b.items()}
    assert "s3" in {unquote(k) for b in root["backend"] for k in b}, "state goes to an S3 bucket"


def test_variables_and_outputs_are_described_and_the_readme_tables_are_current():
    for name, folder in MODULES.items():
        for var, body in tfdocs.variables(folder).items():
            assert body.get("type"), f"{name}: variable {var} needs a type"
            assert len(unquote(body.get("description", ""))) > 15, f"{name}: variable {var} needs a description"
        for out, body in tfdocs.outputs(folder).items():
            assert len(unquote(body.get("description", ""))) > 15, f"{name}: output {out} needs a description"
        readme = (folder / "README.md").read_text(encoding="utf-8")
        assert tfdocs.updated(readme, folder) == readme, "run: .venv/bin/python infra/aws/scripts/tfdocs.py"


def test_root_makes_one_tenant_module_per_tenant_file_with_inputs_every_file_has():
    calls = tfdocs.named(tfdocs.parse(AWS)["module"])
    assert set(calls) == {"platform", "tenant"}
    tenant = calls["tenant"]
    assert unquote(tenant["for_each"]) == "local.tenants"
    files = unquote(locals_of(AWS)["tenant_files"])
    assert '"${path.module}/../tenants"' in files and '"*.yaml"' in files  # the same files as on Google Cloud
    wanted = tfdocs.variables(MODULES["tenant"])["tenant"]
    attributes = set(re.findall(r"(\w+)\s*=", unquote(wanted["type"])))
    given = set(deep_unquote(tenant["tenant"]))
    assert given == attributes == {"id", "name", "gss_code", "languages"}
    for path in sorted(TENANTS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert all(doc.get(a) for a in attributes), path
        assert re.fullmatch(r"[a-z][a-z0-9-]{1,38}[a-z0-9]", doc["id"]), path
        assert re.fullmatch(r"(E0[6-9]|W06|S12|N09)[0-9]{6}", doc["gss_code"]), path


def test_the_function_runs_the_lambda_handler_with_the_aws_backends():
    found = resources(MODULES["platform"])
    function = found[("aws_lambda_function", "webhook")]
    assert unquote(function["runtime"]) == "python3.11"
    module, _, name = unquote(function["handler"]).partition(".")
    tree = ast.parse((FUNCTIONS / f"{module}.py").read_text(encoding="utf-8"))
    assert name in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    env = deep_unquote(function["environment"][0]["variables"])
    assert env["TOWNHALL_SETTINGS_BACKEND"] == "dynamodb" and env["TOWNHALL_SECRETS_BACKEND"] == "secretsmanager"
    assert env["TOWNHALL_TENANTS_TABLE"] == "aws_dynamodb_table.tenants.name"
    assert env["TOWNHALL_SIDE_EFFECTS_TABLE"] == "aws_dynamodb_table.side_effects.name"
    url = found[("aws_lambda_function_url", "webhook")]
    assert unquote(url["authorization_type"]) == "NONE"  # Dialogflow signs nothing: the runtime checks Basic
    logs = found[("aws_cloudwatch_log_group", "webhook")]
    assert unquote(logs["retention_in_days"]) == "var.function.log_retention_days"
    outputs = tfdocs.outputs(AWS)
    assert unquote(outputs["webhook_url"]["value"]) == "module.platform.webhook_url"


def test_tables_are_what_the_runtime_reads_with_recovery_and_ttl():
    found = resources(MODULES["platform"])
    names = deep_unquote(tfdocs.variables(MODULES["platform"])["names"]["type"])
    assert f'optional(string, "{TENANTS_TABLE}")' in names and f'optional(string, "{SIDE_EFFECTS_TABLE}")' in names
    tenants, records = found[("aws_dynamodb_table", "tenants")], found[("aws_dynamodb_table", "side_effects")]
    assert unquote(tenants["hash_key"]) == "id" and unquote(records["hash_key"]) == "key"
    for table in (tenants, records):
        assert table["point_in_time_recovery"][0]["enabled"] is True
        assert table["deletion_protection_enabled"] is True
        assert unquote(table["billing_mode"]) == "PAY_PER_REQUEST"
    assert "ttl" not in tenants
    assert unquote(records["ttl"][0]["attribute_name"]) == "expire_at" and records["ttl"][0]["enabled"] is True
    source = (FUNCTIONS / "townhall" / "aws" / "sideeffects.py").read_text(encoding="utf-8")
    assert '"expire_at"' in source  # the attribute the runtime writes


def test_the_webhook_role_has_least_privilege():
    found = resources(MODULES["platform"])
    statements = deep_unquote(found[("aws_iam_policy_document", "webhook")]["statement"])
    by_sid = {s["sid"]: s for s in statements}
    assert set(by_sid) == {"ReadTenantSettings", "WriteSideEffectRecords", "ReadUpstreamSecrets", "WriteOwnLogs"}
    for statement in statements:
        assert all("*" not in action for action in statement["actions"]), statement
        assert statement.get("effect", "Allow") == "Allow"
    assert set(by_sid["ReadTenantSettings"]["actions"]) == {"dynamodb:GetItem", "dynamodb:Scan"}
    assert by_sid["ReadTenantSettings"]["resources"] == ["aws_dynamodb_table.tenants.arn"]
    writes = [a for s in statements for a in s["actions"] if re.search(r":(Put|Delete|Update|BatchWrite)", a)]
    assert set(writes) == {"dynamodb:PutItem", "dynamodb:DeleteItem", "logs:PutLogEvents"}
    assert by_sid["WriteSideEffectRecords"]["resources"] == ["aws_dynamodb_table.side_effects.arn"]
    secrets = by_sid["ReadUpstreamSecrets"]
    assert secrets["actions"] == ["secretsmanager:GetSecretValue"]
    assert secrets["resources"][0].endswith(":secret:townhall-*")
    condition = secrets["condition"][0]
    assert condition == {
        "test": "StringEquals",
        "variable": "secretsmanager:ResourceTag/townhall",
        "values": ["upstream-key"],
    }
    assert by_sid["WriteOwnLogs"]["resources"] == ["${aws_cloudwatch_log_group.webhook.arn}:*"]
    assert not [k for k in found if k[0] in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment")]


def test_secrets_are_named_as_the_runtime_reads_them_and_only_upstream_keys_are_readable():
    found = resources(MODULES["tenant"])
    prefix = unquote(locals_of(MODULES["tenant"])["secret_prefix"])
    assert prefix == "townhall-${var.tenant.id}"
    assert secret_id("oxford", "pay-api-key") == "townhall-oxford-pay-api-key"
    upstream = found[("aws_secretsmanager_secret", "upstream")]
    assert unquote(upstream["name"]) == "${local.secret_prefix}-${each.key}"
    assert 'townhall = "upstream-key"' in unquote(upstream["tags"])
    password = found[("aws_secretsmanager_secret", "webhook_password")]
    assert 'townhall = "webhook-password"' in unquote(password["tags"])
    google = tfdocs.parse(REPO / "infra" / "modules" / "tenant")
    google_keys = {k: v for b in google["locals"] for k, v in b.items()}["upstream_keys"]
    assert unquote(locals_of(MODULES["tenant"])["upstream_keys"]) == unquote(google_keys)
    sha = tfdocs.outputs(MODULES["tenant"])["webhook_password_sha256"]
    assert unquote(sha["value"]) == "sha256(random_password.webhook.result)"


def test_alarms_follow_the_outcomes_as_the_google_alerts_do():
    alarms = deep_unquote(locals_of(MODULES["platform"])["turn_alarms"])
    google = deep_unquote(locals_of(REPO / "infra" / "modules" / "platform")["turn_alerts"])
    assert set(alarms) == set(google)
    for key, alarm in alarms.items():
        assert alarm["title"] == google[key]["title"] and alarm["outcomes"] == google[key]["outcomes"], key
        for value in alarm["outcomes"]:
            assert Outcome(value).alert == key, f"Outcome {value!r} names alert {Outcome(value).alert!r}, not {key!r}"
    watched = {o.value for o in Outcome if o.alert is not None}
    assert watched == {v for a in alarms.values() for v in a["outcomes"]}
    found = resources(MODULES["platform"])
    metric = found[("aws_cloudwatch_log_metric_filter", "turns")]
    assert unquote(metric["for_each"]) == "local.turn_alarms"
    assert '$.message = \\"turn\\"' in metric["pattern"] and "$.outcome" in metric["pattern"]
    alarm = found[("aws_cloudwatch_metric_alarm", "turns")]
    assert unquote(alarm["alarm_actions"]) == "var.alarm_topic_arns"
    assert {("aws_cloudwatch_metric_alarm", "errors"), ("aws_cloudwatch_metric_alarm", "latency")} <= set(found)


def test_the_lambda_package_holds_the_runtime_and_the_handler_and_no_tooling(tmp_path):
    bundle = _load("aws_bundle", AWS / "scripts" / "bundle.py")
    files = bundle.sources()
    assert "lambda_main.py" in files and "main.py" not in files and "requirements-aws.txt" in files
    assert {"townhall/aws/events.py", "townhall/aws/dynamodb.py", "townhall/webhook.py"} <= set(files)
    assert not [f for f in files if "townhall_tools" in f or "/conversations/" in f or "/intents/" in f]
    digest, count = bundle.build(tmp_path / "pkg", tmp_path / "lambda.zip", deps=False)
    again, _ = bundle.build(tmp_path / "pkg2", tmp_path / "lambda2.zip", deps=False)
    assert digest == again and count == len(files)  # deterministic
    requirements = (REPO / "requirements-aws.txt").read_text(encoding="utf-8")
    assert "-r requirements.txt" in requirements and re.search(r"^boto3==\d+\.\d+\.\d+$", requirements, re.M)
    assert "boto3" not in (REPO / "requirements.txt").read_text(encoding="utf-8")
