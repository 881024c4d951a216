"""Clients for upstream APIs that several processes share: one package per API.

Their local fakes are tooling, in ``tools/townhall_tools/fakes/<api>.py``. An API only one process
calls keeps its client in that process's folder instead (and its fake beside it).
"""
