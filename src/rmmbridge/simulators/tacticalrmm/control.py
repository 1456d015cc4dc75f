"""``/_sim/…``: the simulator's own control API (not part of Tactical), for demos and browser tests.

| Method and path | Body | Effect |
|---|---|---|
| ``GET /_sim/state`` | - | counts, clock, settings, armed faults |
| ``GET /_sim/faults`` | - | armed faults |
| ``POST /_sim/faults`` | a :class:`Fault` as JSON (``kind`` required) | arm it |
| ``DELETE /_sim/faults`` | - | disarm all |
| ``POST /_sim/clock`` | ``{"offset_s": n}`` or ``{"advance_s": n}`` or ``{"now": iso}`` | move simulated time |
| ``POST /_sim/settings`` | ``beta_api_enabled``, ``url_action_test_run``, ``mode``, ``allowed_hosts``, ... | set |
| ``GET /_sim/serving`` | - | the serving-cost model, workers busy and queued, the served-request log |
| ``DELETE /_sim/serving`` | - | clear that log |
| ``POST /_sim/heartbeat`` | - | live agents check in now |
| ``POST /_sim/agents`` | ``{"site": id, "kind": "win_ws"}`` | install an agent |
| ``POST /_sim/agents/<pk>`` | ``site`` / ``last_seen`` (iso, null) / ``hostname`` / ``live`` (checks in) | change it |
| ``DELETE /_sim/agents/<pk>`` | - | delete it (and its alerts) |
| ``DELETE /_sim/agents/<pk>/software`` | ``{"name": s, "version": s}`` | uninstall one version (and its repeats) |
| ``POST /_sim/agents/<pk>/software`` | ``{"name": s, "version": s}`` | reinstall a version removed before |
| ``POST /_sim/alerts`` | ``{"agent": pk or null, "alert_type": …, "severity": …, "message": …}`` | open an alert |
| ``POST /_sim/alerts/<id>/resolve`` | - | resolve it |
| ``POST /_sim/agents/<pk>`` | ``maintenance_mode`` | put the agent in (or out of) maintenance mode |
| ``GET /_sim/deliveries`` | - | the REST alert actions the server ran (URL, HTTP status, answer) |

Opening and resolving alerts here runs the alert template's REST actions as Tactical's
``Alert.handle_alert_failure`` / ``handle_alert_resolve`` do (``alert_actions.py``); resolving
through the API (``PUT /alerts/<pk>/``) does not.

``/_sim/settings`` also takes ``live_agents`` and ``stop_share``; ``url_action_test_run: false``
makes the server one older than ``POST /core/urlaction/run/test/`` (that route answers Django's
HTML 404).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, fields
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from ..faults import Fault
from .agent_data import software_items
from .computed import parse_iso
from .responses import json_response
from .serializers import alert_json, iso
from .state import SimState

_FAULT_FIELDS = {f.name for f in fields(Fault)} - {"hits"}
_AGENT = re.compile(r"^/_sim/agents/(\d+)/?$")
_RESOLVE = re.compile(r"^/_sim/alerts/(\d+)/resolve/?$")
_SOFTWARE = re.compile(r"^/_sim/agents/(\d+)/software/?$")


class ControlError(Exception):
    pass


def _summary(state: SimState) -> dict[str, Any]:
    now = state.now()
    fleet = state.fleet
    return {
        "now": iso(now),
        "clock_offset_s": state.clock_offset.total_seconds(),
        "mode": state.mode,
        "beta_api_enabled": state.beta_api_enabled,
        "url_action_test_run": state.url_action_test_run,
        "allowed_hosts": state.allowed_hosts,
        "live_agents": state.live_agents,
        "stop_share": state.stop_share,
        "requests_served": state.requests_served,
        "clients": len(fleet.clients),
        "sites": len(fleet.sites),
        "agents": len(fleet.agents),
        "agent_status": fleet.status_counts(now),
        "agent_status_by_client": {str(cid): counts for cid, counts in fleet.status_counts_by_client(now).items()},
        "alerts": len(fleet.alerts),
        "open_alerts": sum(1 for a in fleet.alerts.values() if a.is_open),
        "knox_tokens": len(state.auth.tokens),
        "faults": [asdict(f) for f in state.faults.faults],
    }


def _body(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ControlError("expected a JSON object")
    return data


def handle(state: SimState, method: str, path: str, raw: bytes) -> Response:
    try:
        return _handle(state, method, path.rstrip("/") or "/", _body(raw))
    except (ControlError, ValueError, KeyError, TypeError) as exc:
        return json_response({"error": str(exc)}, 400)


def _software_change(state: SimState, pk: int, data: dict[str, Any], *, remove: bool) -> Response:
    """Remove one installed (name, version) from an agent's inventory, or put a removed one back."""
    fleet = state.fleet
    agent = fleet.agents.get(pk)
    if agent is None:
        return json_response({"error": f"no agent {pk}"}, 404)
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise ControlError("send the software's 'name' and 'version' as strings")
    key = (name, version)
    if key not in {(i["name"], i["version"]) for i in software_items(fleet, agent, include_removed=True)}:
        return json_response({"error": f"agent {pk} never had {name} {version}"}, 404)
    removed = fleet.software_removed.setdefault(pk, set())
    if remove:
        removed.add(key)
    else:
        removed.discard(key)
    listed = software_items(fleet, agent)
    return json_response({"agent": pk, "software": len(listed), "removed": sorted(map(list, removed))})


def _handle(state: SimState, method: str, path: str, data: dict[str, Any]) -> Response:
    fleet = state.fleet
    if path in ("/_sim", "/_sim/state") and method == "GET":
        return json_response(_summary(state))
    if path == "/_sim/faults":
        if method == "POST":
            unknown = set(data) - _FAULT_FIELDS
            if unknown or "kind" not in data:
                raise ControlError(f"a fault needs 'kind' and only these keys: {sorted(_FAULT_FIELDS)}")
            state.faults.add(Fault(**data))
        elif method == "DELETE":
            state.faults.clear()
        elif method != "GET":
            raise ControlError(f"{method} not supported")
        return json_response({"faults": [asdict(f) for f in state.faults.faults]})
    if path == "/_sim/clock" and method == "POST":
        if "offset_s" in data:
            state.clock_offset = timedelta(seconds=float(data["offset_s"]))
        elif "advance_s" in data:
            state.clock_offset += timedelta(seconds=float(data["advance_s"]))
        elif "now" in data:
            state.clock_offset = parse_iso(str(data["now"])) - state.clock()
        else:
            raise ControlError("send offset_s, advance_s or now")
        return json_response(_summary(state))
    if path == "/_sim/settings" and method == "POST":
        if "beta_api_enabled" in data:
            state.beta_api_enabled = bool(data["beta_api_enabled"])
        if "url_action_test_run" in data:
            state.url_action_test_run = bool(data["url_action_test_run"])
        if "mode" in data:
            if data["mode"] not in ("api", "dashboard"):
                raise ControlError("mode is 'api' or 'dashboard'")
            state.mode = data["mode"]
        if "allowed_hosts" in data:
            state.allowed_hosts = data["allowed_hosts"]
        if "live_agents" in data:
            state.live_agents = bool(data["live_agents"])
        if "stop_share" in data:
            share = float(data["stop_share"])
            if not 0 <= share <= 1:
                raise ControlError("stop_share is between 0 and 1")
            state.stop_share = share
        return json_response(_summary(state))
    if path == "/_sim/serving" and method in ("GET", "DELETE"):
        if state.serving is None:
            raise ControlError("the serving-cost model is off (start the simulator with it)")
        if method == "DELETE":
            state.serving.log.clear()
        return json_response({**state.serving.summary(), "log": [r.as_dict() for r in state.serving.log]})
    if path == "/_sim/heartbeat" and method == "POST":
        return json_response({"checked_in": fleet.heartbeat(state.now())})
    if path == "/_sim/agents" and method == "POST":
        kind = data.get("kind", "win_ws")
        if kind not in ("win_ws", "win_srv", "linux", "mac"):
            raise ControlError("kind is one of win_ws, win_srv, linux, mac")
        agent = fleet.add_agent(int(data["site"]), kind=kind, when=state.now())
        return json_response({"id": agent.pk, "agent_id": agent.agent_id, "hostname": agent.hostname}, 201)
    if (match := _SOFTWARE.match(path)) and method in ("DELETE", "POST"):
        return _software_change(state, int(match.group(1)), data, remove=method == "DELETE")
    if match := _AGENT.match(path):
        pk = int(match.group(1))
        if method == "DELETE":
            fleet.delete_agent(pk)
            return Response(status_code=204)
        if method == "POST":
            if "site" in data:
                fleet.move_agent(pk, int(data["site"]), when=state.now())
            if "last_seen" in data:
                fleet.set_last_seen(pk, parse_iso(data["last_seen"]) if data["last_seen"] else None)
            if "hostname" in data:
                fleet.rename_agent(pk, str(data["hostname"]), when=state.now())
            if "maintenance_mode" in data:
                fleet.agents[pk].maintenance_mode = bool(data["maintenance_mode"])
            if "live" in data:  # false: the agent stops checking in; true: it checks in again
                fleet.agents[pk].live = bool(data["live"])
            agent = fleet.agents[pk]
            return json_response({"id": agent.pk, "site": agent.site_id, "last_seen": iso(agent.last_seen),
                                  "hostname": agent.hostname})
    if path == "/_sim/alerts" and method == "POST":
        alert = fleet.add_alert(
            data.get("agent"), data.get("alert_type", "custom" if data.get("agent") is None else "check"),
            data.get("severity", "error"), message=data.get("message"), when=state.now(),
            check_id=data.get("check_id"), task_id=data.get("task_id"),
        )
        state.actions.on_failure(fleet, alert)
        return json_response(alert_json(fleet, alert), 201)
    if (match := _RESOLVE.match(path)) and method == "POST":
        alert = fleet.resolve_alert(int(match.group(1)), when=state.now())
        state.actions.on_resolve(fleet, alert)
        return json_response(alert_json(fleet, alert))
    if path == "/_sim/deliveries" and method == "GET":
        return json_response({"deliveries": [
            {**asdict(d), "at": iso(d.at)} for d in state.actions.deliveries
        ]})
    return json_response({"error": f"no control route {method} {path}"}, 404)
