"""An offline stand-in for Dialogflow ES matching: a DEVELOPMENT AND TESTING TOOL, not a
replacement for Dialogflow.

It reads the same intents and entities as the tenant's agent export (``townhall_tools.agent.build``),
classifies text to an intent (``nlu``), extracts the entities the library uses (``entities``),
keeps contexts with lifespans (``contexts``) and calls the webhook over HTTP with real
WebhookRequests (``session``). ``replay`` runs the library's scripted conversations through it;
``chat`` is ``townhall chat``. See docs/simulator.md.
"""
