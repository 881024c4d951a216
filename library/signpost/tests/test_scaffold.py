"""`townhall tenant new` and signpost: the block it writes, and validation refusing its placeholders."""

from __future__ import annotations

from pathlib import Path

import yaml

from townhall.library import default_library
from townhall_tools.onboarding import find_district_codes, load_district_codes, scaffold
from townhall_tools.paths import REPO
from townhall_tools.tenantfiles import check_files

CODES = load_district_codes(find_district_codes(REPO / "infra" / "tenants"))


def new_tenant(gss: str, welsh: bool = False) -> str:
    return scaffold(
        "demo-new",
        "Demo Council",
        gss,
        CODES,
        default_library(),
        welsh=welsh,
        name_cy="Cyngor Demo" if welsh else None,
        project="townhall-demo-new",
    )


def signpost_block(text: str) -> dict:
    return yaml.safe_load(text)["processes"]["signpost"]


def test_a_two_tier_district_gets_a_county_block_and_a_unitary_council_none():
    district = signpost_block(new_tenant("E07000177"))  # Cherwell, in Oxfordshire
    assert district["enabled"] is False
    assert district["county"]["url"].startswith("https://example.org/TODO")
    assert "cy" not in district["county"]["name"]  # an English council's file has no Welsh texts
    assert "487" in district["services"] and "13" in district["county"]["services"]
    for gss, welsh in (("W06000015", True), ("E06000023", False)):  # Cardiff, Bristol
        unitary = signpost_block(new_tenant(gss, welsh))
        assert "county" not in unitary
        assert all(page["url"].startswith("https://example.org/TODO-") for page in unitary["services"].values())


def test_a_real_council_switching_signpost_on_is_refused_until_each_page_is_its_own(tmp_path: Path):
    text = new_tenant("E07000177").replace("  signpost:\n    enabled: false\n", "  signpost:\n")
    path = tmp_path / "demo-new.yaml"
    path.write_text(text, encoding="utf-8")
    _, errors = check_files([path], default_library(), tenants_dir=tmp_path, codes=CODES)
    mine = [e for e in errors if "processes.signpost" in e]
    assert f"{path}: processes.signpost.services.487.url: still a placeholder (TODO or example.org)" in "\n".join(mine)
    assert any("processes.signpost.county.url: still a placeholder" in e for e in mine)

    doc = yaml.safe_load(text)
    doc["processes"]["signpost"] = {
        "services": {"487": {"url": "https://www.cherwell.gov.uk/planning"}},
        "county": {"name": {"en": "Oxfordshire County Council"}, "url": "https://www.oxfordshire.gov.uk"},
    }
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    _, errors = check_files([path], default_library(), tenants_dir=tmp_path, codes=CODES)
    assert not [e for e in errors if "processes.signpost" in e]
