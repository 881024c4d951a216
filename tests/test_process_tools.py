"""The library's catalogue and scaffold: library/README.md is current; a new folder passes checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

from townhall.library import Library
from townhall_tools import cli
from townhall_tools.catalogue import render
from townhall_tools.librarycheck import check_library
from townhall_tools.scaffold import ScaffoldError, new_process

LIBRARY = REPO / "library"


def test_the_catalogue_is_up_to_date():
    on_disk = (LIBRARY / "README.md").read_text(encoding="utf-8")
    assert on_disk == render(Library.load(LIBRARY)), (
        "library/README.md is out of date: run `.venv/bin/townhall process catalogue` and commit it"
    )


def test_the_catalogue_lists_every_process_intent_setting_and_owner():
    library = Library.load(LIBRARY)
    text = render(library)
    for process in library.processes.values():
        assert f"## {process.id}" in text and process.manifest["owner"] in text
        for intent in process.intents:
            assert f"`{intent}`" in text
        for setting in process.schema.get("properties", {}):
            assert f"`{setting}`" in text


@pytest.fixture
def copied(tmp_path) -> Path:
    folder = tmp_path / "library"
    shutil.copytree(LIBRARY, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_a_scaffolded_process_passes_the_library_checks_and_its_own_tests(copied):
    folder = new_process(copied, "garden_waste", "Garden waste subscriptions", "Tanysgrifiadau gwastraff gardd")
    library = Library.load(copied)
    assert "garden_waste" in library.processes
    assert check_library(library) == []
    env = {**os.environ, "TOWNHALL_LIBRARY_DIR": str(copied)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout


def test_the_scaffold_refuses_bad_ids_and_existing_folders(copied):
    with pytest.raises(ScaffoldError, match="not a process id"):
        new_process(copied, "Garden-Waste", "Garden waste")
    with pytest.raises(ScaffoldError, match="already exists"):
        new_process(copied, "contact", "Contact")
    with pytest.raises(ScaffoldError, match="--title"):
        new_process(copied, "garden_waste", "   ")


def test_process_commands(copied, capsys):
    assert cli.main(["--library", str(copied), "process", "new", "street_naming", "--title", "Street naming"]) == 0
    assert cli.main(["--library", str(copied), "process", "check", "street_naming"]) == 0
    assert cli.main(["--library", str(copied), "process", "catalogue", "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert cli.main(["--library", str(copied), "process", "catalogue"]) == 0
    assert cli.main(["--library", str(copied), "process", "catalogue", "--check"]) == 0
    assert cli.main(["--library", str(copied), "process", "check", "nope"]) == 2
    (copied / "street_naming" / "example.yaml").write_text("intro: 3\n")
    assert cli.main(["--library", str(copied), "process", "check"]) == 1
    assert "street_naming/example.yaml" in capsys.readouterr().err
