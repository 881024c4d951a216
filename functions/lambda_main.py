"""AWS Lambda entry point: a Function URL (or API Gateway) posts every council's turns to ``handler``.

The same runtime as ``main.py`` (Cloud Functions): ``townhall/aws/events.py`` adapts Lambda's
event to the runtime's request and its answer back; docs/aws.md says how it is deployed.
"""

from townhall.aws.events import handle


def handler(event, context):
    return handle(event, context)
