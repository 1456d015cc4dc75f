"""Tactical alert-action webhooks: the templates to paste and the lenient receiver (reference §8).

Tactical renders ``{{…}}`` placeholders with Python ``str()`` (``None``, ``True``, ``2025-11-22
10:58:03.407861+00:00``), sends a body that does not parse as a JSON *string literal*
(double-encoded), and adds no ``Content-Type`` unless told to. The parser here accepts all of that.

Identity: ``alert_id`` (``{{alert.id}}``, the same ``id`` the poller reads) is the alert's identity,
so a resolve always finds its trigger. Only when a template sends no usable ``alert_id`` is one
derived: ``"derived-" + sha256("agent_id|alert_type|check_id|task_id|alert_time")[:40]`` with
``alert_time`` in UTC ISO form. The event is deliberately left out, so trigger and resolve (whose
``{{alert.alert_time}}`` is the original trigger time) derive the same id.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rmmbridge.providers.base import AlertEvent, InvalidRecord, WebhookRequest

from .normalize import map_severity

MAX_BODY = 64 * 1024

HEADER = "X-Webhook-Secret"
# Tactical renders ``{{global.KEY}}`` from its Global Key Store in the headers too (reference §8.2),
# so the headers JSON can be pasted as is and the secret kept in the key store rather than in the
# Web Hook's text: nothing to replace by hand. With a revealed secret it is written in instead.
KEY_STORE_KEY = "RMMBRIDGE_WEBHOOK_SECRET"
KEY_STORE_REFERENCE = "{{global." + KEY_STORE_KEY + "}}"

# Everything quoted so each value is a JSON string; message last so a stray quote damages nothing else.
_FAILURE_FIELDS = (
    ("event", "trigger"),
    ("alert_id", "{{alert.id}}"),
    ("alert_type", "{{alert.alert_type}}"),
    ("severity", "{{alert.severity}}"),
    ("alert_time", "{{alert.alert_time}}"),
    ("agent_id", "{{agent.agent_id}}"),
    ("agent_pk", "{{agent.id}}"),
    ("hostname", "{{agent.hostname}}"),
    ("client_id", "{{client.id}}"),
    ("site_id", "{{site.id}}"),
    ("check_id", "{{alert.assigned_check.id}}"),
    ("task_id", "{{alert.assigned_task.id}}"),
)


def _body(fields: tuple[tuple[str, str], ...]) -> str:
    lines = [f'  "{k}": "{v}"' for k, v in fields]
    return "{\n" + ",\n".join(lines) + "\n}"


def templates(secret: str | None = None) -> dict[str, str]:
    """The two Web Hook bodies of §8.6 (failure and resolved), plus the headers JSON for both.

    The headers carry ``secret`` when given, else the key-store reference :data:`KEY_STORE_REFERENCE`.
    """
    failure = (*_FAILURE_FIELDS, ("message", "{{alert.message}}"))
    resolved = (
        ("event", "resolve"),
        *_FAILURE_FIELDS[1:],
        ("resolved_on", "{{alert.resolved_on}}"),
        ("message", "{{alert.message}}"),
    )
    return {
        "failure": _body(failure),
        "resolved": _body(resolved),
        "headers": json.dumps(
            {"Content-Type": "application/json", HEADER: secret if secret else KEY_STORE_REFERENCE}, indent=2
        ),
    }


# ----------------------------------------------------------------------------- parsing

_PY_DATETIME_STR = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
_PY_DATETIME_REPR = r"datetime\.datetime\((?:[^()]|\([^()]*\))*\)"
_BARE = re.compile(rf"({_PY_DATETIME_REPR}|{_PY_DATETIME_STR})|\b(None|True|False)\b")
_REPR_ARGS = re.compile(r"datetime\.datetime\(\s*(\d{1,9})\s*,\s*(\d{1,9})\s*,\s*(\d{1,9})((?:\s*,\s*\d{1,9}){0,4})")


def _pythonish_to_json(text: str) -> str:
    """Outside JSON strings: ``None/True/False`` → JSON literals, bare datetimes → quoted strings."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':  # copy a JSON string verbatim
            j = i + 1
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == '"':
                    break
                j += 1
            out.append(text[i : j + 1])
            i = j + 1
            continue
        match = _BARE.match(text, i)
        if match and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            if match.group(1):
                out.append(json.dumps(match.group(1)))
            else:
                out.append({"None": "null", "True": "true", "False": "false"}[match.group(2)])
            i = match.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class _LongNumber(str):
    """A JSON number too long to be any id Tactical sends; kept as text so the field that carried
    it can be named in the rejection (``int()`` of 4,301+ digits raises, and would cost CPU)."""


MAX_INT_DIGITS = 19  # Tactical's ids are Django integer pks (64-bit at most)


def _parse_int(text: str) -> int | str:
    return int(text) if len(text.lstrip("-")) <= MAX_INT_DIGITS else _LongNumber(text)


def _json(text: str) -> Any:
    return json.loads(text, strict=False, parse_int=_parse_int)


def _loads(text: str) -> Any:
    try:
        value = _json(text)
    except ValueError:
        value = _python_literal(text)
    if isinstance(value, str) and not isinstance(value, _LongNumber):
        value = _json(value)  # Tactical's fallback: the rendered body as a JSON string literal
    return value


def _python_literal(text: str) -> Any:
    """A body rendered from a Python dict (``{'agent_id': 'abc', 'resolved': False}``).

    ``ast.literal_eval`` parses literals only — it never evaluates code — and only dict-shaped,
    reasonably small bodies are tried; anything else re-raises the JSON error.
    """
    import ast

    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")) or len(stripped) > MAX_BODY:
        raise ValueError("not a Python dict")
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise ValueError("not a Python literal") from None
    if not isinstance(value, dict):
        raise ValueError("not a Python dict")
    return value


_MESSAGE_KEY = re.compile(r'"message"\s*:\s*"')
_MESSAGE_END = re.compile(r'"\s*}\s*\Z')


def _salvage(text: str) -> dict[str, Any] | None:
    """Our template rendered with a ``"`` inside ``message``, the last field — what Tactical
    double-encodes (§8.4 step 3), or sends as is from a template that bypassed its check. Only
    that shape is repaired: everything before ``message`` must be valid JSON members, and the
    message runs to a closing quote followed by nothing but the final ``}``. Anything else (a
    trailing ``}}}``, fields after a broken value) is not a guess worth storing."""
    start = _MESSAGE_KEY.search(text)
    end = _MESSAGE_END.search(text)
    if start is None or end is None or end.start() < start.end():
        return None
    head = text[: start.start()].rstrip()
    head = head[:-1] if head.endswith(",") else head
    try:
        found = _json(head + "}")
    except (ValueError, RecursionError):
        return None
    if not isinstance(found, dict):
        return None
    found["message"] = text[start.end() : end.start()]
    return found


def decode_payload(body: bytes) -> tuple[dict[str, Any], bool]:
    """Raw bytes → a dict, whatever the content type; returns ``(payload, repaired)``.

    Leniency covers Tactical's documented quirks only (reference §8.2/8.4): a double-encoded
    body, Python literals (``None``/``True``/``False``, dict reprs), bare Python datetimes and a
    missing content type. A body that is none of these is rejected with the reason.
    """
    if len(body) > MAX_BODY:
        raise InvalidRecord(None, f"body is larger than {MAX_BODY // 1024} KiB")
    text = body.decode("utf-8", "replace").strip().lstrip("\ufeff")
    if not text:
        raise InvalidRecord(None, "empty body")
    value: Any = None
    for attempt in (text, _pythonish_to_json(text)):
        try:
            value = _loads(attempt)
            break
        except ValueError:
            value = None
        except RecursionError:
            raise InvalidRecord(None, "body is nested too deeply") from None
    repaired = False
    if value is None or isinstance(value, str):
        value = None
        try:  # a double-encoded body whose inner text is broken: salvage the inner text
            decoded = _json(text)
        except (ValueError, RecursionError):
            decoded = None
        inner = decoded if isinstance(decoded, str) and not isinstance(decoded, _LongNumber) else text
        value = _salvage(inner.strip())
        repaired = value is not None
    if not isinstance(value, Mapping):
        kind = "nothing usable" if value is None else f"a JSON {type(value).__name__}"
        raise InvalidRecord(
            None,
            f"body is {kind}, not a JSON object with the alert fields "
            "(malformed JSON is only repaired in the shape of the rmmbridge template with a quote in the message)",
        )
    return dict(value), repaired


# ----------------------------------------------------------------------------- values

_NULLS = frozenset({"", "none", "null"})


def norm(value: Any) -> Any:
    """``"None"``, ``""`` and ``null`` → None; ``"True"``/``"False"`` → bool; strings stripped."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _NULLS:
            return None
        if text in ("True", "true"):
            return True
        if text in ("False", "false"):
            return False
        return text
    return value


def as_int(value: Any, field: str = "value") -> int | None:
    """An id: an integer or a numeric string; anything non-numeric is "no value" (§8.7 rule 5).

    A number longer than any Tactical id (more than 19 digits) is an :class:`InvalidRecord` naming
    the field: it cannot be an id, it cannot be stored, and ``int()`` of 4,301+ digits raises.
    """
    value = norm(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        if abs(value) >= 10**MAX_INT_DIGITS:
            raise InvalidRecord(None, f"{field} is not an id Tactical sends (more than {MAX_INT_DIGITS} digits)")
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        if len(value.lstrip("+-")) > MAX_INT_DIGITS:
            raise InvalidRecord(None, f"{field} is not an id Tactical sends (more than {MAX_INT_DIGITS} digits)")
        number = int(value)
    else:
        return None
    if abs(number) >= 2**63:
        raise InvalidRecord(None, f"{field} is out of range for an id")
    return number


def as_datetime(value: Any) -> datetime | None:
    """``2025-11-22 10:58:03.407861+00:00``, ISO ``T``/``Z``, with or without fraction, epoch seconds,
    or a ``datetime.datetime(…)`` repr; naive means UTC."""
    value = norm(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return as_datetime(float(text))
    repr_match = _REPR_ARGS.match(text)
    if repr_match:
        parts = [int(repr_match.group(1)), int(repr_match.group(2)), int(repr_match.group(3))]
        parts += [int(p) for p in re.findall(r"\d+", repr_match.group(4))]
        parts += [0] * (7 - len(parts))
        try:
            return datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6], tzinfo=UTC)
        except ValueError:
            return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


MAX_ID_CHARS = 255  # rmm_alerts.external_device_id / external_alert_id
_EVENTS = {"trigger": False, "failure": False, "resolve": True, "resolved": True}


def _is_resolve(payload: Mapping[str, Any]) -> bool:
    """``event`` is one of our templates' words (any case); without it, ``resolved`` decides.
    An unknown event word is a 422, not a guess: ``RESOLVED!!`` is not a resolve (§8.7 rule 6
    used to match any word containing "resolve")."""
    event = norm(payload.get("event"))
    if event is None:
        resolved = norm(payload.get("resolved"))
        if resolved is not None and not isinstance(resolved, bool):
            raise InvalidRecord(None, "resolved must be True, False or None")
        return resolved is True
    if not isinstance(event, str) or event.lower() not in _EVENTS:
        raise InvalidRecord(None, f"event must be one of {', '.join(sorted(_EVENTS))} (got {str(event)[:40]!r})")
    return _EVENTS[event.lower()]


def derived_alert_id(
    agent_id: str, alert_type: str | None, check_id: int | None, task_id: int | None, alert_time: datetime | None
) -> str:
    """The stable id used when a delivery carries no usable ``alert_id`` (see the module docstring)."""
    when = alert_time.astimezone(UTC).isoformat() if alert_time else ""
    key = "|".join((agent_id, alert_type or "", str(check_id or ""), str(task_id or ""), when))
    return "derived-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def parse_webhook(request: WebhookRequest) -> AlertEvent:
    """One delivery → :class:`AlertEvent`; :class:`InvalidRecord` with the reason when unusable."""
    payload, repaired = decode_payload(request.body)
    agent_id = norm(payload.get("agent_id"))
    if not isinstance(agent_id, str) or not agent_id:
        raise InvalidRecord(None, "the delivery has no agent_id (template variable {{agent.agent_id}})")
    if len(agent_id) > MAX_ID_CHARS:
        raise InvalidRecord(None, f"agent_id is longer than {MAX_ID_CHARS} characters")
    if "{{" in agent_id or "}}" in agent_id:
        raise InvalidRecord(
            None,
            f"the alert action's template was not rendered (agent_id arrived as {agent_id[:60]!r}); "
            "check the Web Hook body in Tactical (Settings → Global Settings → Web Hooks)",
        )
    alert_type = norm(payload.get("alert_type"))
    alert_type = alert_type[:60] if isinstance(alert_type, str) else None
    check_id, task_id = as_int(payload.get("check_id"), "check_id"), as_int(payload.get("task_id"), "task_id")
    alert_time = as_datetime(payload.get("alert_time"))
    alert_id = as_int(payload.get("alert_id"), "alert_id")
    derived = alert_id is None
    external_id = (
        str(alert_id) if alert_id is not None else derived_alert_id(agent_id, alert_type, check_id, task_id, alert_time)
    )
    resolved = _is_resolve(payload)
    severity_raw = norm(payload.get("severity"))
    agent_pk = as_int(payload.get("agent_pk"), "agent_pk")
    if agent_pk is None:
        agent_pk = as_int(payload.get("id"), "id")
    message = norm(payload.get("message"))
    hostname = norm(payload.get("hostname"))
    attributes: dict[str, Any] = {
        # Free text from the RMM: kept, cut to what a reader can use (reference §8.2 renders str()).
        "native_severity": severity_raw[:40] if isinstance(severity_raw, str) else None,
        "hostname": hostname[:MAX_ID_CHARS] if isinstance(hostname, str) else None,
        "client_id": as_int(payload.get("client_id"), "client_id"),
        "site_id": as_int(payload.get("site_id"), "site_id"),
        "check_id": check_id,
        "task_id": task_id,
        "payload_repaired": True if repaired else None,
        "alert_id_derived": True if derived else None,
    }
    return AlertEvent(
        external_alert_id=external_id,
        external_device_id=agent_id,
        severity=map_severity(severity_raw),
        status="resolved" if resolved else "active",
        alert_type=alert_type,
        message=str(message)[:10_000] if message is not None else None,
        raised_at=alert_time,
        resolved_at=as_datetime(payload.get("resolved_on")) if resolved else None,
        device_ref=str(agent_pk) if agent_pk is not None else None,
        attributes={k: v for k, v in attributes.items() if v is not None},
    )
