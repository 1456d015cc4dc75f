"""Hypothesis against every built-in webhook parser (issue #14, fuzz stage): arbitrary bytes,
arbitrary JSON and hostile values in the alert fields never raise anything but the documented
``InvalidRecord``, and whatever is accepted fits the columns it will be stored in."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmmbridge.providers.base import AlertEvent, Capability, InvalidRecord, WebhookRequest
from rmmbridge.providers.registry import builtin_registry
from rmmbridge.storage.models import RmmAlert

PARSERS = [cls for cls in builtin_registry() if Capability.alert_webhook in cls.capabilities]
FIELDS = ("event", "alert_id", "alert_type", "severity", "alert_time", "agent_id", "agent_pk", "id", "hostname",
          "client_id", "site_id", "check_id", "task_id", "resolved", "resolved_on", "message")  # fmt: skip
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

# Digit strings around 64-bit ids, varchar(255) and int()'s 4,300-digit limit; long text.
extremes = st.one_of(
    st.sampled_from([19, 20, 255, 256, 4300, 4301, 60_000]).map(lambda n: "9" * n),
    st.sampled_from([19, 20, 64, 256]).map(lambda n: 10**n - 1),
    st.sampled_from([60, 61, 255, 256, 5000]).map(lambda n: "a" * n),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(["None", "True", "False", "", "resolve", "RESOLVED!!", "trigger", "{{agent.agent_id}}"]),
    extremes,
    st.sampled_from(["2025-11-22 10:58:03.407861+00:00", "datetime.datetime(99999999999, 1, 1)", "1e999"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
base = {"agent_id": "kQmPzWbVhYtRnXcLdEfGsAoJuIiKlMnBvCxZaSdF", "alert_id": "4711", "message": "disk full"}
# "bare": digit strings unquoted, so 60,000-digit JSON numbers reach the parser too.
ENCODINGS = st.sampled_from(["json", "double", "python", "trailing", "bare"])
payloads = st.dictionaries(st.sampled_from(FIELDS), extremes | json_values, min_size=1, max_size=4).map(
    lambda d: {**base, **d}
)


def _column_limit(name: str) -> int | None:
    return getattr(RmmAlert.__table__.c[name].type, "length", None)


def _parse(cls: Any, body: bytes) -> AlertEvent | None:
    try:
        event = cls.parse_webhook(WebhookRequest({}, body))
    except InvalidRecord as exc:
        assert exc.cause
        return None
    assert isinstance(event, AlertEvent)
    for column in ("external_alert_id", "external_device_id", "severity", "status", "alert_type"):
        value, limit = getattr(event, column), _column_limit(column)
        assert value is None or limit is None or len(value) <= limit, (column, len(value))
    json.dumps(dict(event.attributes), default=str)  # storable as JSON
    return event


@pytest.mark.parametrize("cls", PARSERS, ids=lambda c: c.key)
@FUZZ
@given(body=st.binary(max_size=2048))
def test_arbitrary_bytes(cls: Any, body: bytes) -> None:
    _parse(cls, body)


@pytest.mark.parametrize("cls", PARSERS, ids=lambda c: c.key)
@FUZZ
@given(value=json_values, encoding=ENCODINGS)
def test_arbitrary_json(cls: Any, value: Any, encoding: str) -> None:
    _parse(cls, _encode(value, encoding))


@pytest.mark.parametrize("cls", PARSERS, ids=lambda c: c.key)
@FUZZ
@given(payload=payloads, encoding=ENCODINGS)
def test_hostile_alert_fields(cls: Any, payload: dict[str, Any], encoding: str) -> None:
    _parse(cls, _encode(payload, encoding))


def _encode(value: Any, encoding: str) -> bytes:
    text = json.dumps(value)
    if encoding == "double":
        text = json.dumps(text)
    elif encoding == "python":
        text = repr(value)
    elif encoding == "bare":
        text = re.sub(r'"(\d+)"', r"\1", text)
    elif encoding == "trailing":
        text += "}}}"
    return text.encode()


def test_there_is_a_parser_to_fuzz() -> None:
    assert {"tacticalrmm", "ninjaone"} <= {cls.key for cls in PARSERS}
