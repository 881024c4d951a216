"""`terraform init`, `validate` and `plan` of infra/ with no network: real Terraform, and the
providers' schemas (infra/testing/schema/, read from their source) served by the stand-in provider
(infra/testing/provider/standin.py), installed from a filesystem mirror named by a CLI configuration.

    .venv/bin/python infra/testing/offline.py            # validate and plan; prints the plan summary
    .venv/bin/python infra/testing/offline.py --show     # also the whole plan

It works on a copy of infra/ in a temporary folder (without .terraform.lock.hcl, whose hashes are
the real providers'), with a local backend override, fake project ids, the demo tenants included
and the alerts stage on, so every resource of the platform and of each council is planned. Nothing
is applied and nothing leaves the machine: the stand-in has no ApplyResourceChange and calls nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

INFRA = Path(__file__).resolve().parents[1]
SCHEMAS = INFRA / "testing" / "schema"
STANDIN = INFRA / "testing" / "provider" / "standin.py"
PLATFORM_PROJECT = "townhall-offline-platform"  # made up: the plan never reaches Google
TIMEOUT = 240


def schema_file(provider: str) -> Path:
    """The one schema kept for `provider` (google-<version>.json)."""
    found = sorted(SCHEMAS.glob(f"{provider}-*.json"))
    if len(found) != 1:
        raise SystemExit(f"offline: expected one {SCHEMAS}/{provider}-<version>.json, found {found}")
    return found[0]


@dataclass
class Result:
    command: str
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _terraform() -> str:
    local = INFRA.parent / ".tools" / "terraform"
    found = str(local) if local.is_file() else shutil.which("terraform")
    if not found:
        raise SystemExit("offline: terraform is not installed (infra/versions.tf gives the versions)")
    return found


def _target() -> str:
    """Terraform's name of this platform (linux_amd64, darwin_arm64, ...)."""
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    return f"{platform.system().lower()}_{machine}"


def prepare(work: Path, mutate: Callable[[Path], None] | None = None) -> dict[str, str]:
    """Copy infra/ into work/infra, set up the stand-in providers; the environment to run Terraform in."""
    ignore = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "terraform.tfstate*", "testing", "*.tfplan")
    shutil.copytree(INFRA, work / "infra", ignore=ignore)
    (work / "infra" / "offline_override.tf").write_text(
        '# Offline check only: state in a local file of the temporary copy.\nterraform {\n  backend "local" {}\n}\n',
        encoding="utf-8",
    )
    (work / "build").mkdir()
    with zipfile.ZipFile(work / "build" / "function.zip", "w") as bundle:  # stands in for `make bundle`
        bundle.writestr("main.py", "# offline plan: not the real bundle\n")
    for provider in ("google", "random"):
        schema = schema_file(provider)
        version = schema.stem.split("-", 1)[1]
        # The unpacked layout of a filesystem mirror: HOST/NAMESPACE/TYPE/VERSION/TARGET/executable.
        folder = work / "mirror" / "registry.terraform.io" / "hashicorp" / provider / version / _target()
        folder.mkdir(parents=True)
        wrapper = folder / f"terraform-provider-{provider}_v{version}"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" --schema "{schema}"\n', encoding="utf-8")
        wrapper.chmod(0o755)
    config = work / "terraform.rc"
    config.write_text(
        'provider_installation {\n  filesystem_mirror {\n    path    = "' + str(work / "mirror") + '"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n',
        encoding="utf-8",
    )
    if mutate:
        mutate(work / "infra")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(
        TF_CLI_CONFIG_FILE=str(config),
        TF_IN_AUTOMATION="1",
        CHECKPOINT_DISABLE="1",
        TF_DATA_DIR=str(work / "infra" / ".terraform"),
        TOWNHALL_STANDIN_CACHE=str(work),
        TF_VAR_platform_project=PLATFORM_PROJECT,
        TF_VAR_include_demo_tenants="true",
        TF_VAR_alerts_enabled="true",
    )
    return env


def run(work: Path, env: dict[str, str], *args: str) -> Result:
    done = subprocess.run(
        [_terraform(), f"-chdir={work / 'infra'}", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    return Result(" ".join(["terraform", *args]), done.returncode, done.stdout + done.stderr)


def check(mutate: Callable[[Path], None] | None = None) -> list[Result]:
    """init, validate, plan and show; stops at the first failure."""
    with tempfile.TemporaryDirectory(prefix="townhall-offline-") as folder:
        work = Path(folder)
        env = prepare(work, mutate)
        results = [run(work, env, "init", "-input=false", "-no-color")]
        if results[-1].ok:
            results.append(run(work, env, "validate", "-no-color"))
        if results[-1].ok:
            results.append(
                run(
                    work,
                    env,
                    "plan",
                    "-input=false",
                    "-no-color",
                    "-lock=false",
                    "-refresh=false",
                    "-out=offline.tfplan",
                )
            )
            if results[-1].ok:
                shown = run(work, env, "show", "-json", "offline.tfplan")
                results.append(shown)
        return results


def planned_creates(results: list[Result]) -> list[str]:
    """Addresses of the resources the plan creates, from `terraform show -json`."""
    shown = json.loads(results[-1].output[results[-1].output.index("{") :])
    return sorted(c["address"] for c in shown["resource_changes"] if c["change"]["actions"] == ["create"])


def summary(results: list[Result]) -> str:
    for result in results:
        found = re.search(r"Plan: \d+ to add, \d+ to change, \d+ to destroy\.", result.output)
        if found:
            return found.group()
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", action="store_true", help="print the whole plan")
    args = parser.parse_args(argv)
    results = check()
    for result in results:
        if result.command.startswith("terraform show"):
            continue
        print(f"$ {result.command}  (exit {result.returncode})")
        if not result.ok or args.show or result.command.startswith("terraform validate"):
            print(result.output.strip())
    if not results[-1].ok:
        return 1
    print(summary(results))
    creates = planned_creates(results)
    print(f"{len(creates)} resources to add; errors: 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
