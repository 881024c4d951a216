"""Onboarding: `townhall tenant new`, the ONS district code snapshot, and the webhook hashes that
`townhall settings push --webhook-hashes` takes from Terraform."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import REPO, TENANTS

TOWNHALL = str(Path(sys.executable).with_name("townhall"))
DATA = REPO / "infra" / "data"
SNAPSHOT = sorted(DATA.glob("lad-codes-*.csv"))


def run(*args, cwd=REPO, env=None):
    return subprocess.run([TOWNHALL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def tenants(tmp_path) -> Path:
    """A tenants folder holding copies of the example tenants, beside the real data folder."""
    folder = tmp_path / "tenants"
    shutil.copytree(TENANTS, folder)
    shutil.copytree(DATA, tmp_path / "data")
    return folder


def new(tenants: Path, *args):
    return run("--tenants-dir", str(tenants), "tenant", "new", *args)


def codes() -> dict[str, str]:
    with SNAPSHOT[-1].open(encoding="utf-8") as f:
        return {r["gss_code"]: r["name"] for r in csv.DictReader(line for line in f if not line.startswith("#"))}


# -- The snapshot of ONS district codes -----------------------------------------------------------------


def test_one_dated_snapshot_with_its_source():
    assert len(SNAPSHOT) == 1, "keep exactly one snapshot (refresh_lad_codes.py removes the older one)"
    header = SNAPSHOT[0].read_text(encoding="utf-8")
    assert "mySociety" in header and "Open Government Licence" in header and "infra/data/README.md" in header
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert SNAPSHOT[0].stem.removeprefix("lad-codes-") in readme or "date in the file name" in readme


def test_snapshot_holds_the_361_districts_in_force():
    found = codes()
    by_prefix = {}
    for code in found:
        by_prefix[code[:3]] = by_prefix.get(code[:3], 0) + 1
    assert by_prefix == {"E06": 63, "E07": 164, "E08": 36, "E09": 33, "W06": 22, "S12": 32, "N09": 11}
    assert all(name.strip() for name in found.values())
    # April 2023: the new unitaries are in, what they replaced is out.
    for code in ("E06000063", "E06000064", "E06000065", "E06000066"):
        assert code in found, code
    for abolished in (
        "E07000026",
        "E07000027",
        "E07000028",
        "E07000163",
        "E07000187",
        "E07000246",
        "E07000150",
        "E06000028",
        "E07000004",
    ):
        assert abolished not in found, abolished
    assert found["E07000178"] == "Oxford City Council"
    assert found["W06000015"] == "City of Cardiff Council"


def test_every_tenant_file_names_a_district_in_force():
    found = codes()
    for path in sorted(TENANTS.glob("*.yaml")):
        assert yaml.safe_load(path.read_text())["gss_code"] in found, path


def test_refresh_script_keeps_current_districts_only(tmp_path):
    spec = importlib.util.spec_from_file_location("refresh", REPO / "infra" / "scripts" / "refresh_lad_codes.py")
    refresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refresh)
    source = (
        "local-authority-code,official-name,gss-code,current-authority\n"
        "OXO,Oxford City Council,E07000178,True\n"
        "ALL,Allerdale Borough Council,E07000026,False\n"
        "OXF,Oxfordshire County Council,E10000025,True\n"
        'NSM,"North Somerset  Council",E06000024,True\n'
        "CPCA,Cambridgeshire and Peterborough Combined Authority,E47000008,True\n"
    )
    rows = refresh.districts(source)
    assert rows == [("E06000024", "North Somerset Council"), ("E07000178", "Oxford City Council")]
    old = tmp_path / "lad-codes-2020-01-01.csv"
    old.write_text("old")
    import datetime as dt

    written = refresh.write(rows, tmp_path, dt.date(2027, 4, 1))
    assert written.name == "lad-codes-2027-04-01.csv" and not old.exists()
    with pytest.raises(SystemExit, match="gss-code"):
        refresh.districts("a,b\n1,2\n")


# -- townhall tenant new ----------------------------------------------------------------------------------


def test_new_tenant_file_is_valid_lists_every_process_switched_off_and_explains_itself(tenants):
    out = new(
        tenants,
        "exampleshire",
        "--name",
        "Oxford City Council",
        "--gss",
        "E07000178",
        "--project",
        "townhall-exampleshire",
        "--email",
        "enquiries@council.example",
    )
    # The demo tenant oxford holds E07000178 too: demo files do not block the real council.
    assert out.returncode == 0, out.stderr
    path = tenants / "exampleshire.yaml"
    assert f"{path}: written" in out.stdout
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../../functions/townhall/schemas/tenant.schema.json"

    valid = run("--tenants-dir", str(tenants), "tenants", "validate", str(path))
    assert valid.returncode == 0, valid.stderr

    doc = yaml.safe_load(text)
    library = sorted(p.parent.name for p in (REPO / "library").glob("*/manifest.yaml"))
    assert sorted(doc["processes"]) == library
    assert all(settings["enabled"] is False for settings in doc["processes"].values())
    assert doc["webhook"]["password_sha256"] == "managed-by-terraform"
    assert doc["languages"] == ["en"] and "name_cy" not in doc
    assert doc["contact"] == {"email": "enquiries@council.example"}

    def keys(value):
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from keys(item)
        elif isinstance(value, list):
            for item in value:
                yield from keys(item)

    assert "cy" not in set(keys(doc["processes"])), "no Welsh examples for an English-only council"

    # Every setting has a comment on the line above it saying what it means.
    lines = text.splitlines()

    def commented(prefix: str, start: int = 0) -> bool:
        i = next(i for i in range(start, len(lines)) if lines[i].startswith(prefix))
        return lines[i - 1].lstrip().startswith("# ")

    for prefix in ("id:", "name:", "gss_code:", "languages:", "  project:", "  password_sha256:", "contact:"):
        assert commented(prefix), f"no comment above {prefix}"
    for pid, settings in doc["processes"].items():
        start = lines.index(f"  {pid}:")
        for key in set(settings) - {"enabled"}:
            assert commented(f"    {key}:", start), f"processes.{pid}.{key} has no comment"
    for pid in library:
        block = text.split(f"\n  {pid}:\n", 1)[0].rsplit("\n\n", 1)[1]
        assert f"library/{pid}/README.md" in block, f"{pid}: the comment points at its README"


def test_welsh_council_gets_welsh_and_a_finished_file_needs_no_todo(tenants):
    out = new(
        tenants,
        "newport",
        "--name",
        "Newport City Council",
        "--gss",
        "W06000022",
        "--welsh",
        "--name-cy",
        "Cyngor Dinas Casnewydd",
        "--phone",
        "01633 656656",
    )
    assert out.returncode == 0, out.stderr
    path = tenants / "newport.yaml"
    assert run("--tenants-dir", str(tenants), "tenants", "validate", str(path)).returncode == 0
    doc = yaml.safe_load(path.read_text())
    assert doc["languages"] == ["en", "cy"] and doc["name_cy"] == "Cyngor Dinas Casnewydd"
    assert doc["contact"]["phone"] == "01633 656656"
    assert "cy" in doc["processes"]["welcome"]["note"]
    assert doc["dialogflow"]["project"] == "townhall-newport"

    from townhall_tools.onboarding import unfinished

    assert unfinished(doc) == []
    doc["processes"]["welcome"].pop("enabled")  # switched on with the library's example: not finished
    assert unfinished(doc) == []  # the welcome example has no placeholder
    doc["processes"]["contact"].pop("enabled")
    assert unfinished(doc) == ["processes.contact.live_chat.url"]


def test_placeholders_are_marked_todo_and_found(tenants):
    out = new(tenants, "placeholder-council", "--name", "Cherwell District Council", "--gss", "E07000177")
    assert out.returncode == 0, out.stderr
    path = tenants / "placeholder-council.yaml"
    text = path.read_text()
    assert "TODO" in text
    from townhall_tools.onboarding import unfinished

    assert unfinished(yaml.safe_load(text)) == ["contact.web_form"]
    # The schemas accept the scaffold; validate (what CI runs) asks for the council's own values.
    refused = run("--tenants-dir", str(tenants), "tenants", "validate", str(path))
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == (
        f"{path}: contact.web_form: still a placeholder (TODO or example.org) from `townhall tenant new`; "
        "expected: the council's own value (docs/tenants.md), or switch that process off with `enabled: false`"
    )
    doc = yaml.safe_load(text)
    doc["contact"]["web_form"] = "https://www.cherwell.example/contact-us"
    path.write_text(yaml.safe_dump(doc))
    assert run("--tenants-dir", str(tenants), "tenants", "validate", str(path)).returncode == 0


def test_every_tenant_file_passes_every_check():
    """What CI asks of infra/tenants: the same checks `townhall tenants validate` runs."""
    from townhall.library import default_library
    from townhall_tools.tenantfiles import check_files

    files = sorted(TENANTS.glob("*.yaml"))
    docs, errors = check_files(files, default_library(), TENANTS)
    assert errors == []
    assert sorted(docs) == [p.stem for p in files]


@pytest.mark.parametrize(
    "args,messages",
    [
        (["oxford", "--name", "Oxford", "--gss", "E07000178"], ["tenant id 'oxford' is taken", "oxford.yaml exists"]),
        (
            ["Oxford_City", "--name", "Oxford", "--gss", "E07000177"],
            ["tenant id 'Oxford_City': use 3 to 40 lower-case letters", "(e.g. oxford-city)"],
        ),
        (
            ["allerdale", "--name", "Allerdale", "--gss", "E07000026"],
            ["GSS code E07000026 is not a district in force in", "refresh it first"],
        ),
        (
            ["oxfordshire", "--name", "Oxfordshire", "--gss", "E10000025"],
            ["GSS code 'E10000025'", "county councils (E10) are not districts"],
        ),
        (["cardiff-two", "--name", "Cardiff", "--gss", "W0600001"], ["GSS code 'W0600001'"]),
        (
            ["a-very-long-tenant-identifier-for-a-council", "--name", "X", "--gss", "E07000177"],
            ["tenant id 'a-very-long-tenant-identifier-for-a-council'"],
        ),
        (
            ["long-enough-id-for-no-project", "--name", "X", "--gss", "E07000177"],
            ["Dialogflow project 'townhall-long-enough-id-for-no-project'", "pass --project"],
        ),
        (
            ["cherwell", "--name", "Cherwell", "--gss", "E07000177", "--name-cy", "Cherwell"],
            ["--name-cy is only used with --welsh"],
        ),
    ],
)
def test_new_refuses_with_what_is_wrong_and_how_to_fix_it(tenants, args, messages):
    before = sorted(p.name for p in tenants.iterdir())
    out = new(tenants, *args)
    assert out.returncode == 1
    for message in messages:
        assert message in out.stderr, out.stderr
    assert "no tenant file written" in out.stderr
    assert sorted(p.name for p in tenants.iterdir()) == before


def test_new_refuses_a_gss_code_another_council_holds(tenants):
    assert new(tenants, "cherwell", "--name", "Cherwell", "--gss", "E07000177").returncode == 0
    again = new(tenants, "cherwell-dc", "--name", "Cherwell", "--gss", "E07000177")
    assert again.returncode == 1
    assert "GSS code E07000177 (Cherwell District Council) already belongs to tenant 'cherwell'" in again.stderr


def test_new_says_where_the_snapshot_should_be(tmp_path):
    lonely = tmp_path / "tenants"
    lonely.mkdir()
    out = run(
        "--tenants-dir",
        str(lonely),
        "tenant",
        "new",
        "x-council",
        "--name",
        "X",
        "--gss",
        "E07000177",
        "--lad-codes",
        str(tmp_path / "missing.csv"),
    )
    assert out.returncode == 1 and "missing.csv: cannot be read" in out.stderr


# -- Webhook hashes from Terraform ------------------------------------------------------------------------


def test_webhook_hashes_file_is_checked(tmp_path):
    from townhall_tools.delivery import DeliveryError, load_webhook_hashes

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"oxford": "a" * 64}))
    assert load_webhook_hashes(good) == {"oxford": "a" * 64}
    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps({"sensitive": False, "type": ["map", "string"], "value": {"oxford": "b" * 64}}))
    assert load_webhook_hashes(whole) == {"oxford": "b" * 64}
    for content, message in [
        ("not json", "not JSON"),
        ("[1]", "must be a JSON object"),
        (json.dumps({"oxford": "A" * 64}), "not a lower-case hex SHA-256 for oxford"),
    ]:
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        with pytest.raises(DeliveryError, match=message) as caught:
            load_webhook_hashes(bad)
        assert "terraform -chdir=infra output -json webhook_password_sha256" in str(caught.value)
    with pytest.raises(DeliveryError, match="cannot be read"):
        load_webhook_hashes(tmp_path / "absent.json")


def test_placeholder_hash_never_authenticates():
    from townhall.auth import check_password

    for password in ("managed-by-terraform", "", "no such tenant"):
        assert not check_password(password, "managed-by-terraform")


@pytest.mark.firestore
def test_settings_push_takes_hashes_from_terraform_and_refuses_placeholders(firestore_env, tmp_path):
    from townhall.settings import FirestoreBackend

    env = {**os.environ, **firestore_env}
    folder = tmp_path / "tenants"
    shutil.copytree(TENANTS, folder)
    shutil.copytree(DATA, tmp_path / "data")
    assert (
        new(
            folder, "cherwell", "--name", "Cherwell District Council", "--gss", "E07000177", "--phone", "01295 227001"
        ).returncode
        == 0
    )

    refused = run("--tenants-dir", str(folder), "settings", "push", env=env)
    assert refused.returncode == 1
    assert "cherwell: webhook.password_sha256 is 'managed-by-terraform'" in refused.stderr
    assert "--webhook-hashes" in refused.stderr and "nothing pushed" in refused.stderr
    assert FirestoreBackend().read("oxford") is None, "nothing at all is pushed while one tenant is refused"

    hashes = tmp_path / "hashes.json"
    hashes.write_text(json.dumps({"cherwell": "c" * 64}))  # Terraform provisioned cherwell only
    pushed = run("--tenants-dir", str(folder), "settings", "push", "--webhook-hashes", str(hashes), env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert "1 tenant(s): 1 created" in pushed.stdout
    assert "oxford: skipped (not provisioned by Terraform" in pushed.stderr
    stored = FirestoreBackend().read("cherwell")
    assert stored["webhook"]["password_sha256"] == "c" * 64
    assert FirestoreBackend().read("oxford") is None and FirestoreBackend().read("cardiff") is None

    again = run("--tenants-dir", str(folder), "settings", "push", "--webhook-hashes", str(hashes), env=env)
    assert "1 tenant(s): 0 created, 0 updated, 1 unchanged" in again.stdout
    hashes.write_text(json.dumps({"cherwell": "d" * 64}))  # a rotated secret
    rotated = run("--tenants-dir", str(folder), "settings", "push", "--webhook-hashes", str(hashes), env=env)
    assert "1 updated" in rotated.stdout
    assert FirestoreBackend().read("cherwell")["webhook"]["password_sha256"] == "d" * 64
