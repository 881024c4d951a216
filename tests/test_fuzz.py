"""Property-based: arbitrary and mutated JSON never gets a 5xx, and every 200 is strictly valid.

Bounded (example counts, no deadline surprises) so ``make test`` stays quick; run longer with
``HYPOTHESIS_PROFILE=long make test``.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import PROJECTS, auth_for, check_response

from townhall import wire

settings.register_profile(
    "default",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)

INTENTS = [
    "welcome.hello",
    "fallback.unknown",
    "contact.details",
    "contact.opening_hours",
    "contact.open_now",
    "contact.human",
    "faq.ask",
    "faq.list",
    "nosuch.intent",
]


@pytest.fixture(scope="module")
def fuzz_client():
    """One app for the whole module, through create_app (settings cached after the first turn)."""
    from functions_framework import create_app
    from support import FUNCTIONS, TENANTS

    from townhall import logs, webhook

    saved = {k: os.environ.get(k) for k in ("TOWNHALL_SETTINGS_BACKEND", "TOWNHALL_TENANTS_DIR")}
    os.environ.update(TOWNHALL_SETTINGS_BACKEND="files", TOWNHALL_TENANTS_DIR=str(TENANTS))
    logs.set_stream(open(os.devnull, "w"))
    webhook.reset()
    try:
        yield create_app("webhook", str(FUNCTIONS / "main.py")).test_client()
    finally:
        webhook.reset()
        logs.set_stream(None)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, prefix + (i,))


@st.composite
def mutated_requests(draw):
    tenant = draw(st.sampled_from(["oxford", "cardiff"]))
    body = wire.build_request(
        PROJECTS[tenant],
        draw(st.sampled_from(INTENTS)),
        parameters=draw(
            st.dictionaries(st.sampled_from(["topic", "count", "postcode", "sleep"]), json_values, max_size=3)
        ),
        text=draw(st.text(max_size=50)),
        language_code=draw(st.sampled_from(["en", "cy", "cy-GB", "en-gb", "fr", ""])),
        contexts=draw(
            st.dictionaries(
                st.sampled_from(["fallback-misses", "x"]),
                st.dictionaries(st.sampled_from(["count", "y"]), json_values, max_size=2),
                max_size=2,
            )
        ),
    )
    for _ in range(draw(st.integers(0, 3))):
        paths = [p for p in _paths(body) if p]
        path = draw(st.sampled_from(paths))
        target = body
        for key in path[:-1]:
            target = target[key]
        if draw(st.booleans()):
            target[path[-1]] = draw(json_values)
        elif isinstance(target, dict):
            del target[path[-1]]
    return tenant, body


def _check(answer, body):
    assert answer.status_code < 500, answer.data[:300]
    if answer.status_code == 200:
        session = body.get("session") if isinstance(body, dict) else None
        check_response(answer.data, session if isinstance(session, str) else None)
    else:
        assert answer.status_code in (400, 401, 403, 413, 415), answer.status_code
        assert set(json.loads(answer.data)) == {"error"}


@given(mutated_requests())
def test_mutated_requests(fuzz_client, case):
    tenant, body = case
    answer = fuzz_client.post(
        "/", data=json.dumps(body), headers={"Content-Type": "application/json", **auth_for(tenant)}
    )
    _check(answer, body)


@given(json_values)
def test_arbitrary_json(fuzz_client, value):
    answer = fuzz_client.post(
        "/", data=json.dumps(value), headers={"Content-Type": "application/json", **auth_for("oxford")}
    )
    _check(answer, value)


@given(st.binary(max_size=200))
def test_arbitrary_bytes(fuzz_client, data):
    answer = fuzz_client.post("/", data=data, headers={"Content-Type": "application/json", **auth_for("cardiff")})
    assert answer.status_code in (200, 400), answer.status_code
