"""The residents' front door: the ``chat`` Cloud Function (functions/main.py), between a council's
web page (the widget, ``static/``) and its Dialogflow ES agent. ``app.py`` is the path of a
request; ``tokens.py`` the signed conversation; ``limits.py`` the rate limits; ``council.py`` a
council's chat settings and handoff; ``detect.py`` detectIntent over REST. Importing this package
costs nothing: ``handle_http`` loads the rest on the first request.
"""


def handle_http(request):
    from .app import handle_http as handle

    return handle(request)
