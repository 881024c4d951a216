"""Cloud Functions entry points: Dialogflow ES posts every council's turns to ``webhook``; residents'
browsers (the chat widget) call ``chat``, the front door, which asks the council's agent.

Serve locally with ``make run``; the path of a turn is in ``townhall/webhook.py``, the chat
gateway's in ``townhall/gateway/app.py``.
"""

import functions_framework

import townhall.gateway
from townhall.webhook import handle_http


@functions_framework.http
def webhook(request):
    return handle_http(request)


@functions_framework.http
def chat(request):
    return townhall.gateway.handle_http(request)
