"""The Cloud Function bundle (infra/scripts/bundle.py): its layout, its determinism, and a real
request served from it with nothing but the bundle's own requirements installed.

The bundle's virtualenv is cached in .venv-bundle/<hash of requirements.txt> (installing the
requirements takes about a minute); a clean clone builds it on first run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests
from support import PASSWORDS, REPO, TENANTS, basic, check_response

from conftest import free_port, stop, wait_for_port

BUNDLE = REPO / "infra" / "scripts" / "bundle.py"


def _bundle_module():
    spec = importlib.util.spec_from_file_location("bundle", BUNDLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """A bundle built by the script, outside the repository (so nothing of the repo can leak in)."""
    out = tmp_path_factory.mktemp("bundle")
    done = subprocess.run(
        [sys.executable, str(BUNDLE), "--out", str(out / "function"), "--zip", str(out / "function.zip")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "sha256" in done.stdout
    return out


def test_bundle_layout(bundle):
    root = bundle / "function"
    assert (root / "main.py").read_bytes() == (REPO / "functions" / "main.py").read_bytes()
    assert (root / "requirements.txt").read_bytes() == (REPO / "requirements.txt").read_bytes()
    assert (root / "townhall" / "schemas" / "tenant.schema.json").is_file()
    assert (root / "townhall" / "messages" / "en.yaml").is_file()
    processes = sorted(p.parent.name for p in (REPO / "library").glob("*/manifest.yaml"))
    assert sorted(p.parent.name for p in (root / "library").glob("*/manifest.yaml")) == processes
    names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    assert sorted({n.split("/")[0] for n in names}) == ["library", "main.py", "requirements.txt", "townhall"]
    with zipfile.ZipFile(bundle / "function.zip") as archive:
        assert sorted(archive.namelist()) == sorted(names)


def test_bundle_holds_nothing_but_the_runtime(bundle):
    """No tooling, fake, test, conversation script, training phrase or README is deployed."""
    root = bundle / "function"
    names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    forbidden = {
        "tooling": lambda n: (
            "townhall_tools" in n or n.startswith(("tools/", "townhall/cli", "townhall/agent/", "townhall/simulator/"))
        ),
        "fake": lambda n: n.rsplit("/", 1)[-1] in ("fake.py", "fakes.py") or "/fakes/" in n,
        "test": lambda n: "/tests/" in n or n.rsplit("/", 1)[-1].startswith("test") or n.endswith("conftest.py"),
        "conversation script": lambda n: "/conversations/" in n,
        "training phrase or entity": lambda n: "/intents/" in n or "/entities/" in n,
        "README or docs": lambda n: n.lower().endswith((".md", ".rst", ".txt")) and n != "requirements.txt",
        "example settings": lambda n: n.endswith("example.yaml"),
        "compiled or cache file": lambda n: "__pycache__" in n or n.endswith(".pyc"),
    }
    found = {kind: [n for n in names if test(n)] for kind, test in forbidden.items()}
    assert not any(found.values()), {k: v for k, v in found.items() if v}
    # Every process ships exactly what the runtime loads: its manifest, schema, messages and code.
    for folder in sorted((root / "library").iterdir()):
        own = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        assert {"manifest.yaml", "schema.json", "handler.py", "messages/en.yaml"} <= set(own), (folder.name, own)
        assert all(
            n in ("manifest.yaml", "schema.json") or n.startswith("messages/") or n.endswith(".py") for n in own
        ), (folder.name, own)


def test_bundle_zip_is_deterministic(bundle, tmp_path):
    module = _bundle_module()
    again = module.build(tmp_path / "function", tmp_path / "function.zip")
    assert again == hashlib.sha256((bundle / "function.zip").read_bytes()).hexdigest()


def test_runtime_finds_the_library_inside_the_bundle(bundle):
    code = "import townhall.library as l; print(l.default_library_dir())"
    env = {k: v for k, v in os.environ.items() if k not in ("TOWNHALL_LIBRARY_DIR", "PYTHONPATH")}
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, '.'); {code}"],
        cwd=bundle / "function",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == (bundle / "function" / "library").resolve()


def _bundle_python(requirements: Path) -> Path:
    """A virtualenv with exactly the bundle's requirements, cached by their hash."""
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    venv = REPO / ".venv-bundle" / key
    python = venv / "bin" / "python"
    if (venv / ".complete").exists() and python.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"installing the bundle's requirements failed:\n{done.stderr[-3000:]}"
    (venv / ".complete").touch()
    return python


def test_bundle_serves_a_request_with_only_its_own_requirements(bundle, tmp_path):
    root = bundle / "function"
    python = _bundle_python(root / "requirements.txt")
    # Only what requirements.txt installs: no townhall package, no test tools.
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "townhall" not in installed and "pytest" not in installed and "google-cloud-dialogflow" not in installed
    assert {"functions-framework", "google-cloud-firestore", "jsonschema", "pyyaml"} <= installed

    # Every module in the bundle imports with only requirements.txt installed: the runtime's own,
    # and each process's handler, checks and the modules they import.
    every_module = (
        "import pathlib, importlib, sys\n"
        "sys.path.insert(0, '.')\n"
        "for path in sorted(pathlib.Path('townhall').rglob('*.py')):\n"
        "    importlib.import_module('.'.join(path.with_suffix('').parts).removesuffix('.__init__'))\n"
        "from townhall.library import Library, _import\n"
        "library = Library.load(pathlib.Path('library'))\n"
        "for process in library.processes.values():\n"
        "    process.module\n"
        "    if (process.folder / 'checks.py').is_file(): _import(process, 'checks', 'check')\n"
        "    for path in sorted(process.folder.glob('*.py')):\n"
        "        importlib.import_module(f'townhall_processes.{process.id}.{path.stem}')\n"
        "print(len(sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "PYTHON"))}
    imported = subprocess.run(
        [str(python), "-I", "-c", every_module], cwd=root, capture_output=True, text=True, env=env, timeout=120
    )
    assert imported.returncode == 0, imported.stderr[-3000:]

    port = free_port()
    log = tmp_path / "server.log"
    env.update(TOWNHALL_SETTINGS_BACKEND="files", TOWNHALL_TENANTS_DIR=str(TENANTS))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(python.with_name("functions-framework")),
                "--target",
                "webhook",
                "--source",
                "main.py",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, proc, 60, log)
        body = json.loads((REPO / "examples" / "request.json").read_text())
        answer = requests.post(
            f"http://127.0.0.1:{port}/",
            json=body,
            timeout=30,
            headers={"Authorization": basic("oxford", PASSWORDS["oxford"])},
        )
        assert answer.status_code == 200, (answer.status_code, answer.text, log.read_text()[-2000:])
        data = check_response(answer.content, body["session"])
        # Oxford's own hours (infra/tenants/oxford.yaml), answered by the bundle's contact process.
        assert "Friday: 9am to 4:30pm" in data["fulfillmentText"], data
        refused = requests.post(
            f"http://127.0.0.1:{port}/", json=body, timeout=30, headers={"Authorization": basic("oxford", "wrong")}
        )
        assert refused.status_code == 401
    finally:
        stop(proc)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("message") == "turn" and line.get("outcome") == "ok" for line in lines), lines
