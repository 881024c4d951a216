"""Townhall's runtime: the webhook Dialogflow ES calls, and everything one turn needs.

This package is exactly what is deployed (with ``main.py``, the library's runtime files and
``requirements.txt``; ``infra/scripts/bundle.py``). Tooling lives in ``townhall_tools``.
"""
