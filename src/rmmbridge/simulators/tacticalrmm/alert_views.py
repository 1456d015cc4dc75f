"""``/alerts/``: the three ``PATCH`` modes, single-alert actions and bulk actions (reference §6)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from .auth import TacticalUser
from .fleet import Alert, TacticalFleet
from .responses import ApiError, json_response, not_found, server_error
from .serializers import alert_json
from .state import ApiRequest

FILTER_KEYS = ("timeFilter", "clientFilter", "severityFilter", "resolvedFilter", "snoozedFilter")
SEVERITIES = ("info", "warning", "error")
ALERT_TYPES = ("availability", "check", "task", "custom")


def py_int(value: Any) -> int:
    """Python's ``int()`` on a request value; anything ``int()`` rejects is an upstream 500."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise server_error() from None


def _iterate(value: Any) -> list[Any]:
    """What Django's ``__in`` lookup iterates: lists as they are, strings by character, dicts by key."""
    if isinstance(value, str | list | tuple | dict):
        return list(value)
    raise server_error()  # TypeError: 'int' object is not iterable


def _alert_visible(fleet: TacticalFleet, user: TacticalUser, alert: Alert) -> bool:
    if alert.agent_pk is None:
        return True
    agent = fleet.agents.get(alert.agent_pk)
    return agent is not None and user.can_view_agent(fleet.client_id_of(agent), agent.site_id)


def visible_alerts(req: ApiRequest) -> list[Alert]:
    assert req.principal is not None
    user = req.principal.user
    alerts = sorted(req.fleet.alerts.values(), key=lambda a: a.id)
    if user.superuser:
        return alerts
    return [a for a in alerts if _alert_visible(req.fleet, user, a)]


def _falsy_filter(value: Any, attr: str) -> Any:
    """``Q(<attr>=value)`` for a falsy value, with Django's BooleanField coercion."""
    if value is None:
        return lambda a: False  # `resolved=None` is IS NULL on a NOT NULL column
    if isinstance(value, bool | int | float):
        return lambda a: getattr(a, attr) is False
    raise server_error()  # "" / [] / {}: Django raises a ValidationError or TypeError


def _client_ids(raw: Iterable[Any]) -> set[int]:
    ids: set[int] = set()
    for item in raw:
        if item is None:
            continue
        if isinstance(item, list | dict):
            raise server_error()
        ids.add(py_int(item))
    return ids


def alerts_patch(req: ApiRequest) -> Response:
    data = req.data()
    if not isinstance(data, dict):
        raise server_error()  # request.data.keys() on a list
    alerts = visible_alerts(req)
    fleet = req.fleet
    if "top" in data:
        top = py_int(data["top"])
        if top < 0:
            raise server_error()  # "Negative indexing is not supported."
        active = sorted(
            (a for a in alerts if not a.resolved and not a.snoozed and not a.hidden),
            key=lambda a: (a.alert_time, a.id),
        )
        return json_response({"alerts_count": len(active), "alerts": [alert_json(fleet, a) for a in active[:top]]})
    if any(key in data for key in FILTER_KEYS):
        checks = []
        if "snoozedFilter" in data and not data["snoozedFilter"]:
            checks.append(_falsy_filter(data["snoozedFilter"], "snoozed"))
        if "resolvedFilter" in data and not data["resolvedFilter"]:
            checks.append(_falsy_filter(data["resolvedFilter"], "resolved"))
        if "clientFilter" in data:
            wanted = _client_ids(_iterate(data["clientFilter"])) & set(fleet.clients)
            sites = {s.id for s in fleet.sites.values() if s.client_id in wanted}
            agents = {a.pk for a in fleet.agents.values() if a.site_id in sites}
            checks.append(lambda a: a.agent_pk in agents)
        if "severityFilter" in data:
            severities = {str(s) for s in _iterate(data["severityFilter"]) if s is not None}
            checks.append(lambda a: a.severity in severities)
        if "timeFilter" in data:
            try:
                window = timedelta(days=py_int(data["timeFilter"]))
                since = req.now - window
            except OverflowError:
                raise server_error() from None
            now = req.now
            checks.append(lambda a: since < a.alert_time <= now)
        alerts = [a for a in alerts if all(check(a) for check in checks)]
    return json_response([alert_json(fleet, a) for a in alerts])


def alerts_post(req: ApiRequest) -> Response:
    data = req.data()
    if not isinstance(data, dict):
        raise server_error()
    errors: dict[str, list[str]] = {}
    alert_type = data.get("alert_type", "custom")
    severity = data.get("severity", "info")
    if alert_type not in ALERT_TYPES:
        errors["alert_type"] = [f'"{alert_type}" is not a valid choice.']
    if severity not in SEVERITIES:
        errors["severity"] = [f'"{severity}" is not a valid choice.']
    agent_pk = data.get("agent")
    if agent_pk is not None and agent_pk not in req.fleet.agents:
        errors["agent"] = [f'Invalid pk "{agent_pk}" - object does not exist.']
    if errors:
        raise ApiError(400, errors)
    req.fleet.add_alert(
        agent_pk, "custom" if agent_pk is None else alert_type, severity,
        message=str(data.get("message") or ""), when=req.now,
    )
    return json_response("ok")


def _alert(req: ApiRequest, pk: str) -> Alert:
    try:
        alert = req.fleet.alerts.get(int(pk))
    except ValueError:
        alert = None
    if alert is None:
        raise not_found("Alert")
    return alert


def alert_perms(req: ApiRequest, user: TacticalUser, params: dict[str, str]) -> bool:
    """``alerts.permissions.AlertPerms``: list/read for GET and PATCH, manage for the rest."""
    perm = "can_list_alerts" if req.method in ("GET", "PATCH") else "can_manage_alerts"
    if not user.has_perm(perm):
        return False
    if "pk" not in params or user.superuser or user.role is None:
        return True
    alert = _alert(req, params["pk"])
    return _alert_visible(req.fleet, user, alert)


def alert_get(req: ApiRequest, pk: str) -> Response:
    return json_response(alert_json(req.fleet, _alert(req, pk)))


def alert_put(req: ApiRequest, pk: str) -> Response:
    alert = _alert(req, pk)
    data = req.data()
    if not isinstance(data, dict):
        raise server_error()
    if "type" in data:
        kind = data["type"]
        if kind == "resolve":
            alert.resolved, alert.resolved_on = True, req.now
            alert.snoozed, alert.snooze_until = False, None
        elif kind == "snooze":
            if "snooze_days" not in data:
                raise ApiError(400, "Missing 'snoozed_days' when trying to snooze alert")
            alert.snoozed = True
            alert.snooze_until = req.now + timedelta(days=py_int(data["snooze_days"]))
        elif kind == "unsnooze":
            alert.snoozed, alert.snooze_until = False, None
        else:
            raise ApiError(400, "There was an error in the request data")
    return json_response("ok")


def alert_delete(req: ApiRequest, pk: str) -> Response:
    alert = _alert(req, pk)
    req.fleet.alerts.pop(alert.id, None)
    return json_response("ok")


def alerts_bulk(req: ApiRequest) -> Response:
    data = req.data()
    if not isinstance(data, dict) or "bulk_action" not in data or "alerts" not in data:
        raise server_error()
    ids = _client_ids(_iterate(data["alerts"]))
    targets = [a for a in req.fleet.alerts.values() if a.id in ids]
    if data["bulk_action"] == "resolve":
        for alert in targets:
            alert.resolved, alert.resolved_on, alert.snoozed, alert.snooze_until = True, req.now, False, None
        return json_response("ok")
    if data["bulk_action"] == "snooze" and "snooze_days" in data:
        until = req.now + timedelta(days=py_int(data["snooze_days"]))
        for alert in targets:
            alert.snoozed, alert.snooze_until = True, until
        return json_response("ok")
    raise ApiError(400, "The request was invalid")
