"""Delivery helpers for CI: the webhook hashes Terraform generated, and which agents to redeploy.

The webhook secret flow (docs/operations.md, "Rotate a webhook secret"): Terraform generates each
council's secret, stores it in Secret Manager and gives it to the agent's fulfillment; its SHA-256
comes out as the Terraform output ``webhook_password_sha256``. ``townhall settings push
--webhook-hashes FILE`` writes that hash into each council's settings in Firestore, so the secret
itself never enters git, and the hash in git is only ``managed-by-terraform``.

Which agents to redeploy: ``townhall tenants changed`` compares a fingerprint of everything an
agent is built from (the tenant file, the library folders of its processes, the agent-building
code) with the fingerprints recorded by the last successful deploy. No git history is needed, and a
failed deploy is retried by the next run, because the record is written only after success.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from townhall.yamlio import YamlError, load_yaml

WEBHOOK_PLACEHOLDER = "managed-by-terraform"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SKIPPED_PARTS = {"tests", "__pycache__"}


class DeliveryError(Exception):
    """A delivery input is wrong; the message says which file, what is wrong and how to fix it."""


# -- Webhook hashes ----------------------------------------------------------------------------------


def load_webhook_hashes(path: Path) -> dict[str, str]:
    """``{tenant id: sha256}`` from ``terraform output -json webhook_password_sha256``."""
    hint = "write it with: terraform -chdir=infra output -json webhook_password_sha256 > FILE"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise DeliveryError(f"{path}: cannot be read ({e.strerror}); {hint}") from e
    except ValueError as e:
        raise DeliveryError(f"{path}: not JSON ({e}); {hint}") from e
    if isinstance(data, dict) and set(data) >= {"value", "type"} and isinstance(data.get("value"), dict):
        data = data["value"]  # the whole `terraform output -json` entry instead of its value
    if not isinstance(data, dict):
        raise DeliveryError(f"{path}: must be a JSON object of tenant id to SHA-256; {hint}")
    bad = sorted(k for k, v in data.items() if not isinstance(v, str) or not _SHA256.match(v))
    if bad:
        raise DeliveryError(f"{path}: not a lower-case hex SHA-256 for {', '.join(bad)}; {hint}")
    return dict(data)


def apply_webhook_hashes(
    docs: Mapping[str, Mapping[str, Any]], hashes: Mapping[str, str] | None
) -> tuple[dict[str, dict], list[str], list[str]]:
    """The documents to push, with Terraform's hashes in place: (docs, notes, errors).

    With ``hashes`` (Terraform's output): only the tenants Terraform provisioned are pushed, each
    with its generated hash; the others (demo tenants on a production platform, a council whose
    apply has not run) are skipped with a note. Without: every document is pushed as written,
    unless one still says ``managed-by-terraform`` (an error: its hash exists only in Terraform).
    """
    out: dict[str, dict] = {}
    notes: list[str] = []
    errors: list[str] = []
    for tenant_id, doc in sorted(docs.items()):
        stored = (doc.get("webhook") or {}).get("password_sha256")
        if hashes is None:
            if stored == WEBHOOK_PLACEHOLDER:
                errors.append(
                    f"{tenant_id}: webhook.password_sha256 is {WEBHOOK_PLACEHOLDER!r}: its hash comes from "
                    "Terraform; pass --webhook-hashes FILE (terraform -chdir=infra output -json "
                    "webhook_password_sha256 > FILE)"
                )
            else:
                out[tenant_id] = dict(doc)
            continue
        if tenant_id not in hashes:
            notes.append(f"{tenant_id}: skipped (not provisioned by Terraform: no webhook hash for it)")
            continue
        pushed = dict(doc)
        pushed["webhook"] = {**(doc.get("webhook") or {}), "password_sha256": hashes[tenant_id]}
        out[tenant_id] = pushed
    return out, notes, errors


# -- Which agents changed ----------------------------------------------------------------------------


def _files_under(folder: Path) -> Iterable[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not _SKIPPED_PARTS.intersection(relative.parts) and path.suffix != ".pyc":
            yield path


def agent_code_files(package: Path | None = None) -> list[Path]:
    """The agent-building code in the runtime package (``townhall/agent*``): a change there
    changes every council's agent."""
    package = package or Path(__file__).resolve().parent
    found: list[Path] = []
    for path in sorted(package.glob("agent*")):
        found += list(_files_under(path)) if path.is_dir() else [path]
    return found


def fingerprint(tenant_file: Path, process_folders: Iterable[Path], code_files: Iterable[Path]) -> str:
    """SHA-256 over what a council's agent is built from."""
    digest = hashlib.sha256()

    def add(label: str, path: Path) -> None:
        data = path.read_bytes()
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("tenant", tenant_file)
    for folder in sorted(process_folders):
        for path in _files_under(folder):
            add(f"library/{folder.name}/{path.relative_to(folder).as_posix()}", path)
    for path in code_files:
        add(f"code/{path.name}", path)
    return digest.hexdigest()


def fingerprints(tenant_files: Iterable[Path], library_root: Path, include_demo: bool = False) -> dict[str, str]:
    """``{tenant id: fingerprint}`` for every tenant file (demo tenants only when asked)."""
    code = agent_code_files()
    out = {}
    for path in tenant_files:
        try:
            doc = load_yaml(path)
        except YamlError as e:
            raise DeliveryError(f"{e} (run townhall tenants validate)") from e
        if not isinstance(doc, dict):
            raise DeliveryError(f"{path}: not a tenant file (run townhall tenants validate)")
        if doc.get("demo") and not include_demo:
            continue
        processes = doc.get("processes") if isinstance(doc.get("processes"), dict) else {}
        folders = [library_root / pid for pid in processes if (library_root / pid).is_dir()]
        out[path.stem] = fingerprint(path, folders, code)
    return out


def changed(current: Mapping[str, str], previous_path: Path | None) -> tuple[list[str], str | None]:
    """Tenants whose fingerprint differs from the recorded one: (ids, note for the operator)."""
    if previous_path is None:
        return sorted(current), "no earlier fingerprints given: every council counts as changed"
    try:
        previous = json.loads(Path(previous_path).read_text(encoding="utf-8"))
        if not isinstance(previous, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        return sorted(current), f"{previous_path} does not exist (first deploy?): every council counts as changed"
    except (OSError, ValueError) as e:
        return sorted(current), f"{previous_path} cannot be used ({e}): every council counts as changed"
    return sorted(t for t, fp in current.items() if previous.get(t) != fp), None


def cmd_tenants_changed(args, tenant_files: list[Path], library_root: Path) -> int:
    current = fingerprints(tenant_files, library_root, include_demo=args.demo)
    ids, note = changed(current, Path(args.since) if args.since else None)
    if note:
        print(f"townhall: {note}", file=sys.stderr)
    if args.write:
        Path(args.write).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write).write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for tenant_id in ids:
        print(tenant_id)
    print(f"{len(ids)} of {len(current)} council(s) changed", file=sys.stderr)
    return 0
