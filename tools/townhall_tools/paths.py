"""Where things are in a Townhall checkout (the tooling runs from one; the runtime never does)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = REPO / "functions"  # main.py and the runtime package: the webhook's source
TENANTS = REPO / "infra" / "tenants"
