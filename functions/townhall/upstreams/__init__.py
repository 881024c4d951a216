"""Clients (and their local fakes) for upstream APIs that several processes share.

One package per API: ``<api>/__init__.py`` is the client, ``<api>/fake.py`` its local fake (see
``townhall.fakes``). An API only one process calls keeps its client and fake in that process's
folder instead.
"""
