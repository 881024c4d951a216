"""A council's Dialogflow ES agent, built from the process library (``build``) and put into its
Google Cloud project (``deploy``). See docs/agents.md.

Tooling only: the webhook never imports this package.
"""
