"""Shared helpers for council_tax's tests: the process's own modules, importable by name."""

from __future__ import annotations

import importlib

import pytest

from townhall.library import default_library


def module(name: str):
    """``library/council_tax/<name>.py`` as the runtime imports it (townhall_processes.council_tax.<name>)."""
    default_library().processes["council_tax"].handler  # makes townhall_processes.council_tax a package
    return importlib.import_module(f"townhall_processes.council_tax.{name}")


@pytest.fixture(scope="session")
def ct():
    """The process's modules: ct.money, ct.details, ct.client, ct.handler, ct.fake."""

    class Modules:
        money = module("money")
        details = module("details")
        client = module("client")
        handler = module("handler")
        fake = module("fake")

    return Modules
