"""The baseline for ``make bench``: a bare functions-framework function with a fixed reply.

It imports the Firestore client, as the deployed webhook does (production reads its settings
from Firestore), and returns a fixed WebhookResponse of the same shape as the webhook's answers
and of about their mean size over the benchmark's mix (about 1 KB: text paragraphs and rich
content buttons), so the difference measured is our own work.
"""

import json

import functions_framework
from google.cloud import firestore  # noqa: F401  (imported as production imports it)

REPLY = json.dumps(
    {
        "fulfillmentText": "Our advisers aren't available right now.\n\nWe're closed at the moment. We next open "
        "tomorrow at 9am.\n\nYou can also write to us at any time, and we'll reply when we're "
        "open.\n\nYou can contact Oxford City Council by phone on 01632 960001, by email at "
        "demo-oxford@example.org or using the online form.",
        "fulfillmentMessages": [
            {"text": {"text": ["Our advisers aren't available right now."]}},
            {"text": {"text": ["We're closed at the moment. We next open tomorrow at 9am."]}},
            {"text": {"text": ["You can also write to us at any time, and we'll reply when we're open."]}},
            {
                "text": {
                    "text": [
                        "You can contact Oxford City Council by phone on 01632 960001, by email at "
                        "demo-oxford@example.org or using the online form."
                    ]
                }
            },
            {
                "payload": {
                    "richContent": [
                        [
                            {
                                "type": "button",
                                "icon": {"type": "chevron_right"},
                                "text": "Contact form",
                                "link": "https://example.org/demo/oxford/contact",
                            },
                            {
                                "type": "button",
                                "icon": {"type": "chevron_right"},
                                "text": "Council website",
                                "link": "https://example.org/demo/oxford",
                            },
                        ]
                    ]
                }
            },
        ],
    },
    separators=(",", ":"),
).encode()


@functions_framework.http
def webhook(request):
    return REPLY, 200, {"Content-Type": "application/json"}
