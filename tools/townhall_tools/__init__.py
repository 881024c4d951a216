"""Townhall's tooling: the ``townhall`` command, agent build and deploy, the offline simulator,
scaffolds, the library's checks, the upstream fakes and test helpers. Never deployed: the webhook
runtime is the ``townhall`` package in ``functions/`` (README, "Layout")."""
