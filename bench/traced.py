"""The function ``bench/bytecodes.py`` serves: baseline or webhook, with a bytecode counter.

``TOWNHALL_BENCH_SIDE`` picks the side (``baseline`` or ``webhook``). A request carrying the header
``X-Bench-Count: start`` clears the counts and starts counting; ``X-Bench-Count: stop`` stops and
answers the counts as JSON: executed bytecodes per function (file, name, first line, count). Tracing is installed at import,
before functions-framework starts gunicorn's worker, so every thread of the worker inherits it; it
stays idle (no per-line work) until counting starts. Never deploy this: it is a measuring tool.
"""

import collections
import os
import sys
import threading
from pathlib import Path

import functions_framework
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT / "bench"))

counts: collections.Counter = collections.Counter()
counting = False


def _opcodes(frame, event, arg):
    if event == "opcode":
        counts[frame.f_code] += 1
    return _opcodes


def _calls(frame, event, arg):
    if not counting:
        return None
    frame.f_trace_opcodes = True
    return _opcodes


sys.settrace(_calls)
threading.settrace(_calls)

if os.environ.get("TOWNHALL_BENCH_SIDE") == "webhook":
    import main

    target = main.webhook
else:
    import baseline

    target = baseline.webhook


@functions_framework.http
def webhook(request):
    global counting
    command = request.headers.get("X-Bench-Count")
    if command == "start":
        counts.clear()
        counting = True
        return "counting"
    if command == "stop":
        counting = False
        found = [[code.co_filename, code.co_name, code.co_firstlineno, n] for code, n in counts.items()]
        return orjson.dumps(found), 200, {"Content-Type": "application/json"}
    return target(request)
