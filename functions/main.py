"""Cloud Functions entry point: Dialogflow ES posts every council's turns to ``webhook``.

Serve locally with ``make run``; the path of a turn is in ``townhall/webhook.py``.
"""

import functions_framework

from townhall.webhook import handle_http


@functions_framework.http
def webhook(request):
    return handle_http(request)
