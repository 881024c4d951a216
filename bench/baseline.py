"""The baseline for ``make bench``: a bare functions-framework function with a fixed reply.

It does nothing but return a WebhookResponse of the same shape and about the same size as the
webhook's answer to ``contact.opening_hours``, so the difference measured is our own work.
"""

import json

import functions_framework

REPLY = json.dumps({
    "fulfillmentText": "Our opening hours are:\nMonday to Thursday: 9am to 5pm\nFriday: 9am to 4:30pm\n"
                       "Saturday: closed\nSunday: closed\n\nWe're open now, until 5pm.",
    "fulfillmentMessages": [
        {"text": {"text": ["Our opening hours are:\nMonday to Thursday: 9am to 5pm\nFriday: 9am to 4:30pm\n"
                           "Saturday: closed\nSunday: closed"]}},
        {"text": {"text": ["We're open now, until 5pm."]}},
    ],
}).encode()


@functions_framework.http
def webhook(request):
    return REPLY, 200, {"Content-Type": "application/json"}
