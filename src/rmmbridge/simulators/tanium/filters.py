"""``EndpointFieldFilter`` evaluation (reference §4.2), compiled once per collection into a predicate.

Supported: ``memberOf{id|name}``, ``path`` + ``value`` + ``op`` on the Endpoint fields below, a few ``sensor``
names that mirror those fields, ``negated``, and compound ``filters`` with ``any``. String comparisons are
case-insensitive. ``GT``/``GTE``/``LT``/``LTE`` work on numbers and times only;
``READ_AFTER``/``UPDATED_AFTER`` are rejected, as is any operator a field's type cannot take. Every rejection
is a :class:`FilterError`, which the Gateway turns into an execution error on ``endpoints``. ``id`` also takes
``GT``/``GTE``/``LT``/``LTE`` (numerically). ``maxAge`` is accepted and has no effect: simulated readings are
never older than it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rmmbridge.simulators.tanium.fleet import Endpoint, TaniumFleet

Predicate = Callable[[Endpoint], bool]
Getter = Callable[[Endpoint], Any]


class FilterError(Exception):
    pass


def parse_time(value: str) -> datetime:
    """RFC 3339 (``Z`` or offset, optional fraction) → aware datetime; ``ValueError`` otherwise."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"time without offset: {value!r}")
    return parsed


def _getters(fleet: TaniumFleet, now: datetime) -> dict[str, Getter]:
    return {
        "id": lambda e: e.eid,
        "name": lambda e: e.name,
        "computerID": lambda e: e.computer_id,
        "systemUUID": lambda e: e.system_uuid,
        "serialNumber": lambda e: e.serial_number,
        "manufacturer": lambda e: e.manufacturer,
        "model": lambda e: e.model,
        "chassisType": lambda e: e.chassis_type,
        "domainName": lambda e: e.domain_name,
        "isVirtual": lambda e: e.is_virtual,
        "ipAddress": lambda e: e.ip_address,
        "ipAddresses": lambda e: e.ip_addresses,
        "macAddresses": lambda e: e.mac_addresses,
        "lastLoggedInUser": lambda e: e.last_logged_in_user,
        "primaryUser.name": lambda e: e.primary_user_name,
        "primaryUser.email": lambda e: e.primary_user_email,
        "os.name": lambda e: e.os.name,
        "os.platform": lambda e: e.os.platform,
        "os.generation": lambda e: e.os.generation,
        "os.windows.releaseId": lambda e: e.os.release_id or "",
        "memory.total": lambda e: e.memory_total,
        "processor.cpu": lambda e: e.cpu,
        "processor.logicalProcessors": lambda e: e.logical_processors,
        "eidFirstSeen": lambda e: e.first_seen,
        "eidLastSeen": lambda e: fleet.eid_last_seen(e, now),
    }


# Sensor names a filter may use instead of a path (the common Tanium sensors behind those fields).
_SENSOR_PATHS = {
    "computer name": "name",
    "operating system": "os.name",
    "computer serial number": "serialNumber",
    "domain name": "domainName",
    "last logged in user": "lastLoggedInUser",
    "manufacturer": "manufacturer",
    "model": "model",
    "chassis type": "chassisType",
    "tanium client ip address": "ipAddress",
    "ip address": "ipAddresses",
    "mac address": "macAddresses",
}


def compile_filter(spec: Mapping[str, Any] | None, fleet: TaniumFleet, now: datetime) -> Predicate:
    if not spec:
        return _always
    return _compile(spec, fleet, _getters(fleet, now))


def _always(_: Endpoint) -> bool:
    return True


def _compile(spec: Mapping[str, Any], fleet: TaniumFleet, getters: dict[str, Getter]) -> Predicate:
    parts: list[Predicate] = []
    subs = spec.get("filters")
    if subs is not None:
        compiled = [_compile(s, fleet, getters) for s in subs]
        if spec.get("any"):
            parts.append(lambda e: any(p(e) for p in compiled))
        else:
            parts.append(lambda e: all(p(e) for p in compiled))
    member_of = spec.get("memberOf")
    if member_of is not None:
        parts.append(_member_of(member_of, fleet))
    path = spec.get("path")
    sensor = spec.get("sensor")
    if sensor is not None:
        name = str(sensor.get("name") or "")
        mapped = _SENSOR_PATHS.get(name.strip().lower())
        if mapped is None:
            raise FilterError(f"sensor not found: {name!r}")
        path = mapped
    if path is not None:
        getter = getters.get(path)
        if getter is None:
            raise FilterError(f"unknown filter path: {path!r}")
        parts.append(_comparison(path, getter, str(spec.get("op") or "EQ"), spec.get("value")))
    negated = bool(spec.get("negated"))
    if not parts:
        return (lambda _e: False) if negated else _always
    if len(parts) == 1:
        only = parts[0]
        return (lambda e: not only(e)) if negated else only
    return (lambda e: not all(p(e) for p in parts)) if negated else (lambda e: all(p(e) for p in parts))


def _member_of(ref: Mapping[str, Any], fleet: TaniumFleet) -> Predicate:
    group_id = ref.get("id")
    if group_id is None and ref.get("name") is not None:
        group = fleet.group_by_name(str(ref["name"]))
        group_id = group.id if group else None
    if group_id is None:
        if ref.get("name") is None:
            raise FilterError("memberOf requires id or name")
        return lambda _e: False
    gid = str(group_id)
    # An unknown id matches nothing, as a deleted group would: the client must check that the group still
    # exists.
    return lambda e: gid in e.groups


def _comparison(path: str, getter: Getter, op: str, raw: Any) -> Predicate:
    value = "" if raw is None else str(raw)
    if op in ("READ_AFTER", "UPDATED_AFTER"):
        raise FilterError(f"operator {op} is not supported by the TDS data source for field {path!r}")
    sample_kind = _kind_of(path)
    if op in ("GT", "GTE", "LT", "LTE"):
        if sample_kind == "time":
            try:
                bound: Any = parse_time(value)
            except ValueError as exc:
                raise FilterError(f"invalid time value for {path!r}: {value!r}") from exc
        elif sample_kind == "int":
            try:
                bound = float(value)
            except ValueError as exc:
                raise FilterError(f"invalid number for {path!r}: {value!r}") from exc
        elif path == "id":
            # EIDs are integers: ``id GT n`` is how clients resume an id-sorted walk.
            try:
                bound = int(value)
            except ValueError as exc:
                raise FilterError(f"invalid endpoint id for {path!r}: {value!r}") from exc
            numeric = getter
            getter = lambda e: int(v) if (v := numeric(e)).isdigit() else None  # noqa: E731
        else:
            raise FilterError(f"operator {op} is not supported for field {path!r}")
        cmp: Callable[[Any], bool] = {
            "GT": lambda v: v > bound,
            "GTE": lambda v: v >= bound,
            "LT": lambda v: v < bound,
            "LTE": lambda v: v <= bound,
        }[op]
        return lambda e: (v := getter(e)) is not None and cmp(v)
    if sample_kind in ("time", "int", "bool") and op != "EQ":
        raise FilterError(f"operator {op} is not supported for field {path!r}")
    if sample_kind == "time":
        try:
            when = parse_time(value)
        except ValueError as exc:
            raise FilterError(f"invalid time value for {path!r}: {value!r}") from exc
        return lambda e: getter(e) == when
    if sample_kind == "int":
        return lambda e: str(getter(e)) == value.strip()
    if sample_kind == "bool":
        wanted = value.strip().lower() == "true"
        return lambda e: bool(getter(e)) is wanted
    folded = value.casefold()
    test: Callable[[str], bool]
    if op == "EQ":
        test = lambda s: s.casefold() == folded  # noqa: E731
    elif op == "CONTAINS":
        test = lambda s: folded in s.casefold()  # noqa: E731
    elif op == "STARTS_WITH":
        test = lambda s: s.casefold().startswith(folded)  # noqa: E731
    elif op == "ENDS_WITH":
        test = lambda s: s.casefold().endswith(folded)  # noqa: E731
    elif op == "MATCHES":
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise FilterError(f"invalid regular expression {value!r}: {exc}") from exc
        test = lambda s: pattern.search(s) is not None  # noqa: E731
    else:
        raise FilterError(f"unknown operator {op}")
    if sample_kind == "list":
        return lambda e: any(test(s) for s in getter(e))
    return lambda e: test(getter(e))


def _kind_of(path: str) -> str:
    if path in ("eidFirstSeen", "eidLastSeen"):
        return "time"
    if path == "processor.logicalProcessors":
        return "int"
    if path == "isVirtual":
        return "bool"
    if path in ("ipAddresses", "macAddresses"):
        return "list"
    return "str"
