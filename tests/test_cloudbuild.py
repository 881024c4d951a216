"""cloudbuild.yaml and the scripts its steps run: every command exists in the repository, scripts
are executable and parse, images are pinned, substitutions are declared and documented, and the
deploy-agents script deploys exactly the councils whose agent changed."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import REPO, TENANTS

CLOUDBUILD = yaml.safe_load((REPO / "cloudbuild.yaml").read_text(encoding="utf-8"))
SCRIPTS = REPO / "infra" / "scripts"
TOWNHALL = str(Path(sys.executable).with_name("townhall"))
BUILT_IN = {
    "PROJECT_ID",
    "BUILD_ID",
    "PROJECT_NUMBER",
    "LOCATION",
    "COMMIT_SHA",
    "SHORT_SHA",
    "REPO_NAME",
    "BRANCH_NAME",
    "TAG_NAME",
    "REVISION_ID",
    "TRIGGER_NAME",
    "SERVICE_ACCOUNT",
}


def _stages() -> list[str]:
    done = subprocess.run(["bash", str(SCRIPTS / "ci.sh"), "--list"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _subcommands() -> set[tuple[str, ...]]:
    """(command, action) pairs of the townhall parser, aliases included."""
    import argparse

    from townhall_tools.cli import parser

    found = set()
    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.add((name,))
                for inner in sub._actions:
                    if isinstance(inner, argparse._SubParsersAction):
                        found |= {(name, n) for n in inner.choices}
    return found


def test_every_step_runs_a_script_of_the_repository():
    stages = _stages()
    seen = []
    for step in CLOUDBUILD["steps"]:
        assert step.get("id"), step
        entrypoint, args = step["entrypoint"], step["args"]
        assert entrypoint in ("bash", "sh"), f"{step['id']}: run a script of infra/scripts, not inline code"
        script = REPO / args[0]
        assert script.is_file(), f"{step['id']}: {args[0]} is not in the repository"
        assert os.access(script, os.X_OK), f"{args[0]} must be executable (chmod +x)"
        checked = subprocess.run([entrypoint, "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, f"{args[0]}: {checked.stderr}"
        if script.name == "ci.sh":
            assert args[1:] and args[1] in stages, f"{step['id']}: ci.sh has no stage {args[1:]}"
            seen.append(args[1])
    assert seen == stages, "every ci.sh stage runs once, in order"


def test_images_are_pinned_to_exact_versions():
    for step in CLOUDBUILD["steps"]:
        image = step["name"]
        name, _, tag = image.rpartition(":")
        assert name and "@sha256:" not in name, image
        assert re.match(r"^\d+\.\d+\.\d+", tag), f"{step['id']}: pin {image} to an exact version"


def test_substitutions_are_declared_used_and_documented():
    text = (REPO / "cloudbuild.yaml").read_text(encoding="utf-8")
    body = text.split("substitutions:", 1)[1]  # the header comment may name them too
    used = set(re.findall(r"\$\{?(_[A-Z0-9_]+)", body)) | set(re.findall(r"\$\{([A-Z_]+)\}", body)) - BUILT_IN
    declared = set(CLOUDBUILD["substitutions"])
    assert {u for u in used if u.startswith("_")} == declared, "declare every substitution, use every declared one"
    assert not {u for u in used if not u.startswith("_")} - BUILT_IN
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    for name in declared:
        assert f"`{name}`" in operations, f"docs/operations.md must document the substitution {name}"
    env = dict(e.split("=", 1) for e in CLOUDBUILD["options"]["env"])
    ci = (SCRIPTS / "ci.sh").read_text(encoding="utf-8")
    for variable in env:
        if variable.startswith("TOWNHALL_"):
            assert variable in ci, f"{variable} is set for the steps but ci.sh never reads it"


def test_plan_is_attached_to_the_build():
    artifacts = CLOUDBUILD["artifacts"]["objects"]
    assert artifacts["paths"] == ["build/plan.txt"]
    assert "${BUILD_ID}" in artifacts["location"]
    assert "build/plan.txt" in (SCRIPTS / "ci.sh").read_text(encoding="utf-8")


# A townhall or make command in command position: at the start of a line, after ; & | or $(.
COMMAND = re.compile(
    r'(?:^|[;&|]\s*|\$\(\s*)(?P<tool>"\$(?:townhall|TOWNHALL)"|\S*townhall|make)\s+'
    r"(?P<first>[a-z][\w-]*)(?:\s+(?P<second>[a-z][\w-]*))?"
)


def _script_commands(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(tool, words) of every townhall and make command a script runs."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        for match in COMMAND.finditer(line):
            tool = "make" if match["tool"] == "make" else "townhall"
            found.append((tool, tuple(w for w in (match["first"], match["second"]) if w)))
    return found


def test_townhall_and_make_commands_in_scripts_exist():
    subcommands = _subcommands()
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    checked = 0
    for script in sorted(SCRIPTS.glob("*.sh")):
        for tool, words in _script_commands(script):
            if tool == "make":
                assert words[0] in targets, f"{script.name}: make {words[0]} is not a Makefile target"
            else:
                assert words in subcommands, f"{script.name}: townhall {' '.join(words)} is not a townhall command"
            checked += 1
    assert checked >= 3
    assert {("settings", "push"), ("tenants", "changed"), ("agent", "deploy")} <= subcommands
    assert (REPO / ".ci" / "run").is_file()


def test_deploy_stages_skip_on_pull_requests():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
    for stage in ("apply", "settings", "agents-fetch", "agents", "agents-record"):
        done = subprocess.run(
            ["bash", str(SCRIPTS / "ci.sh"), stage], capture_output=True, text=True, timeout=30, env=env, cwd=REPO
        )
        assert done.returncode == 0, done.stderr
        assert "nothing to deploy" in done.stdout
    bad = subprocess.run(["bash", str(SCRIPTS / "ci.sh"), "deploy"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "no stage 'deploy'" in bad.stderr


def test_settings_stage_says_which_substitution_is_missing():
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}, "TOWNHALL_DEPLOY": "true"}
    done = subprocess.run(
        ["bash", str(SCRIPTS / "ci.sh"), "settings"], capture_output=True, text=True, timeout=30, env=env, cwd=REPO
    )
    assert done.returncode == 2
    assert "TOWNHALL_PLATFORM_PROJECT is not set" in done.stderr


# -- deploy-agents.sh, with a townhall whose `agent deploy` only records what it was asked -----------


@pytest.fixture
def fake_townhall(tmp_path):
    calls = tmp_path / "calls.txt"
    wrapper = tmp_path / "townhall"
    wrapper.write_text(
        "#!/usr/bin/env bash\n"
        'if [[ $1 == agent ]]; then echo "$*" >> ' + shlex.quote(str(calls)) + "; exit 0; fi\n"
        f'exec {shlex.quote(TOWNHALL)} --tenants-dir "$TENANTS_DIR" --library "$LIBRARY_DIR" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, calls


def _deploy(wrapper, tenants, library, previous, current, demo=True):
    env = {
        **os.environ,
        "TOWNHALL": str(wrapper),
        "TENANTS_DIR": str(tenants),
        "LIBRARY_DIR": str(library),
        "TOWNHALL_INCLUDE_DEMO_TENANTS": "true" if demo else "false",
    }
    return subprocess.run(
        ["bash", str(SCRIPTS / "deploy-agents.sh"), str(previous), str(current)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_deploy_agents_deploys_changed_councils_only_and_records_after_success(fake_townhall, tmp_path):
    import shutil

    wrapper, calls = fake_townhall
    tenants, library = tmp_path / "tenants", tmp_path / "library"
    shutil.copytree(TENANTS, tenants)
    shutil.copytree(REPO / "library", library, ignore=shutil.ignore_patterns("__pycache__"))
    previous, current = tmp_path / "previous.json", tmp_path / "current.json"

    first = _deploy(wrapper, tenants, library, previous, current)
    assert first.returncode == 0, first.stderr
    assert calls.read_text().split("\n")[:-1] == ["agent deploy cardiff", "agent deploy oxford"]
    assert set(json.loads(current.read_text())) == {"cardiff", "oxford"}

    calls.unlink()
    current.rename(previous)
    unchanged = _deploy(wrapper, tenants, library, previous, current)
    assert unchanged.returncode == 0 and not calls.exists()
    assert "nothing to deploy" in unchanged.stdout

    # A library change reaches the councils that list the process; a tenant change, that council.
    (library / "faq" / "intents" / "extra.json").write_text("{}")
    current.rename(previous)
    _deploy(wrapper, tenants, library, previous, current)
    assert calls.read_text().split() == ["agent", "deploy", "cardiff", "agent", "deploy", "oxford"]
    calls.unlink()
    current.rename(previous)
    (tenants / "oxford.yaml").write_text((tenants / "oxford.yaml").read_text().replace("Oxford City", "Oxford"))
    (library / "faq" / "tests").mkdir(exist_ok=True)
    (library / "faq" / "tests" / "test_new.py").write_text("")  # tests are not part of an agent
    _deploy(wrapper, tenants, library, previous, current)
    assert calls.read_text().split() == ["agent", "deploy", "oxford"]

    # Demo tenants are left out unless asked for.
    calls.unlink()
    current.unlink()
    demo_off = _deploy(wrapper, tenants, library, tmp_path / "missing.json", current, demo=False)
    assert demo_off.returncode == 0 and not calls.exists() and json.loads(current.read_text()) == {}


def test_deploy_agents_keeps_the_old_record_when_a_deploy_fails(fake_townhall, tmp_path):
    wrapper, calls = fake_townhall
    failing = tmp_path / "failing"
    failing.write_text(wrapper.read_text().replace("exit 0; fi", "exit 3; fi"))
    failing.chmod(0o755)
    current = tmp_path / "current.json"
    done = _deploy(failing, TENANTS, REPO / "library", tmp_path / "none.json", current)
    assert done.returncode == 3
    assert not current.exists(), "fingerprints are recorded only when every deploy worked"
    assert calls.read_text().split() == ["agent", "deploy", "cardiff"], "stops at the first failure"
