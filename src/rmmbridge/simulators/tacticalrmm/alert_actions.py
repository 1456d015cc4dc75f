"""Tactical's alert actions: key store, URL actions, alert templates, core alert settings, and the
delivery of REST ("webhook") actions when alerts fail and resolve.

Facts from Tactical 1.5's source (docs/reference/tactical-alert-actions.md has the citations):

- ``GlobalKVStore``: ``name`` ≤ 25 characters, ``value`` text; ``{{global.NAME}}`` in a URL
  action's pattern, body or headers is replaced by the value (``core.utils.find_and_replace_db_values_str``)
  — but only when the action runs against an instance (an alert, agent, client or site).
- ``URLAction``: ``name``, ``desc``, ``pattern``, ``action_type`` (``web|rest``), ``rest_method``,
  ``rest_body``, ``rest_headers``; every write answers ``"ok"``, not the object.
- ``AlertTemplate``: a REST failure action runs only when ``action_type == "rest"``, ``action_rest``
  is set and the toggle of the alert's kind is on (``agent_script_actions`` for availability,
  ``check_script_actions``, ``task_script_actions``); likewise the resolved action. An inactive
  template applies to nothing.
- ``CoreSettings``: ``info`` alerts run no REST action unless ``notify_on_info_alerts`` (default
  off), ``warning`` ones unless ``notify_on_warning_alerts`` (default on). An agent in maintenance
  mode runs none. The action runs once (``action_run`` is set whatever the answer): a failed POST
  is never retried. ``PUT /alerts/<pk>/`` ``{"type": "resolve"}`` only marks the alert resolved: no
  resolved action runs.
- The POST body is the rendered body parsed as JSON (left a string when it does not parse, so it
  is sent double-encoded), headers parsed as JSON, ``timeout=8``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from .fleet import Alert, TacticalFleet

if TYPE_CHECKING:
    from .state import SimState

KEY_NAME_MAX = 25
RE_DB_VALUE = re.compile(r"(\{\{\s*(client|site|agent|global|alert)(?:\.([\w\-\s\.]+))+\s*\}\})")
DELIVERY_TIMEOUT_S = 8.0


@dataclass
class KeyStoreEntry:
    id: int
    name: str
    value: str
    created_by: str | None = None
    created_time: datetime | None = None
    modified_by: str | None = None
    modified_time: datetime | None = None


@dataclass
class URLAction:
    id: int
    name: str
    pattern: str
    desc: str | None = None
    action_type: str = "web"
    rest_method: str = "post"
    rest_body: str | None = ""
    rest_headers: str | None = ""
    created_by: str | None = None
    created_time: datetime | None = None
    modified_by: str | None = None
    modified_time: datetime | None = None


TOGGLES = ("agent_script_actions", "check_script_actions", "task_script_actions")


@dataclass
class AlertTemplate:
    id: int
    name: str
    is_active: bool = True
    action_type: str = "script"
    action: int | None = None
    action_rest: int | None = None
    resolved_action_type: str = "script"
    resolved_action: int | None = None
    resolved_action_rest: int | None = None
    agent_script_actions: bool | None = True
    check_script_actions: bool | None = True
    task_script_actions: bool | None = True
    clients: set[int] = field(default_factory=set)  # clients the template is applied to


@dataclass
class DeliveryRecord:
    """One REST action run by the simulated server (kept for tests and ``GET /_sim/deliveries``)."""

    action_id: int
    alert_id: int | None
    kind: str  # failure | resolved | test
    url: str
    status: int
    response: str
    at: datetime


@dataclass
class ActionStore:
    """The alert-action side of one simulated Tactical server."""

    keystore: dict[int, KeyStoreEntry] = field(default_factory=dict)
    urlactions: dict[int, URLAction] = field(default_factory=dict)
    templates: dict[int, AlertTemplate] = field(default_factory=dict)
    core: dict[str, Any] = field(
        default_factory=lambda: {
            "notify_on_info_alerts": False,
            "notify_on_warning_alerts": True,
            "alert_template": None,
        }
    )
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    # REST actions decided by a synchronous view, sent before the response (Tactical runs them in
    # a Celery task; sending them before answering keeps the simulator deterministic).
    pending: list[tuple[int, Alert | None, str]] = field(default_factory=list)
    _next: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        self._next[kind] = self._next.get(kind, 0) + 1
        return self._next[kind]

    def add_template(
        self, name: str, *, default: bool = False, clients: set[int] | None = None, **kw: Any
    ) -> AlertTemplate:
        template = AlertTemplate(self.next_id("template"), name, clients=set(clients or ()), **kw)
        self.templates[template.id] = template
        if default:
            self.core["alert_template"] = template.id
        return template

    # ------------------------------------------------------------------ which template applies

    def client_template(self, client_id: int) -> int | None:
        """The template assigned to the client (Tactical's ``Client.alert_template`` foreign key:
        one per client, whether active or not); the lowest id when a test put it in several."""
        return min((t.id for t in self.templates.values() if client_id in t.clients), default=None)

    def template_for(self, fleet: TacticalFleet, alert: Alert) -> AlertTemplate | None:
        """``Agent.get_alert_template`` reduced to client and default templates: the client's active
        template, else the active default one."""
        if alert.agent_pk is None:
            return None
        agent = fleet.agents.get(alert.agent_pk)
        if agent is None:
            return None
        client_id = fleet.client_id_of(agent)
        for template in sorted(self.templates.values(), key=lambda t: t.id):
            if template.is_active and client_id in template.clients:
                return template
        default = self.templates.get(self.core.get("alert_template") or 0)
        return default if default is not None and default.is_active else None

    # ------------------------------------------------------------------ Alert.handle_alert_failure / resolve

    def on_failure(self, fleet: TacticalFleet, alert: Alert) -> None:
        self._decide(fleet, alert, resolved=False)

    def on_resolve(self, fleet: TacticalFleet, alert: Alert) -> None:
        self._decide(fleet, alert, resolved=True)

    def _decide(self, fleet: TacticalFleet, alert: Alert, *, resolved: bool) -> None:
        template = self.template_for(fleet, alert)
        if template is None:
            return
        agent = fleet.agents.get(alert.agent_pk) if alert.agent_pk is not None else None
        if agent is None or agent.maintenance_mode:
            return
        toggle = {"availability": "agent_script_actions", "check": "check_script_actions",
                  "task": "task_script_actions"}.get(alert.alert_type)
        if toggle is None or not getattr(template, toggle):
            return
        if resolved:
            if alert.resolved_action_run or template.resolved_action_type != "rest":
                return
            action_id = template.resolved_action_rest
        else:
            if alert.action_run or template.action_type != "rest":
                return
            action_id = template.action_rest
        if action_id is None or action_id not in self.urlactions:
            return
        if (alert.severity == "info" and not self.core["notify_on_info_alerts"]) or (
            alert.severity == "warning" and not self.core["notify_on_warning_alerts"]
        ):
            return
        self.pending.append((action_id, alert, "resolved" if resolved else "failure"))


# ---------------------------------------------------------------------- rendering and sending


def _value(fleet: TacticalFleet, store: ActionStore, path: str, alert: Alert | None, agent_pk: int | None,
           client_id: int | None) -> Any:
    """``tacticalrmm.utils.get_db_value`` for the objects the simulator has (``None`` when unknown)."""
    props = [p.strip() for p in path.strip().split(".")]
    if props[0] == "global" and len(props) == 2:
        for entry in store.keystore.values():
            if entry.name == props[1]:
                return entry.value
        return None
    agent = fleet.agents.get(agent_pk) if agent_pk is not None else None
    site = fleet.sites.get(agent.site_id) if agent is not None else None
    if client_id is None and site is not None:
        client_id = site.client_id
    client = fleet.clients.get(client_id) if client_id is not None else None
    objects: dict[str, dict[str, Any]] = {
        "agent": {"id": agent.pk, "agent_id": agent.agent_id, "hostname": agent.hostname} if agent else {},
        "site": {"id": site.id, "name": site.name} if site else {},
        "client": {"id": client.id, "name": client.name} if client else {},
        "alert": {
            "id": alert.id, "alert_type": alert.alert_type, "severity": alert.severity, "message": alert.message,
            "alert_time": alert.alert_time, "resolved_on": alert.resolved_on, "resolved": alert.resolved,
            "assigned_check": {"id": alert.assigned_check} if alert.assigned_check else None,
            "assigned_task": {"id": alert.assigned_task} if alert.assigned_task else None,
        } if alert else {},
    }
    current: Any = objects.get(props[0])
    for prop in props[1:]:
        if isinstance(current, dict) and prop in current:
            current = current[prop]
        if not current:
            return None
    return current


def render(text: str | None, fleet: TacticalFleet, store: ActionStore, alert: Alert | None,
           agent_pk: int | None, client_id: int | None) -> str:
    """``find_and_replace_db_values_str``: every placeholder replaced by ``str(value)``."""
    out = text or ""
    for whole, _model, _prop in RE_DB_VALUE.findall(text or ""):
        inner = whole.strip("{} ")
        out = out.replace(whole, str(_value(fleet, store, inner, alert, agent_pk, client_id)))
    return out


def _sanitize(text: str) -> str:
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", " ", text)
    return re.sub(r"(?<!\\)(\\)(?![\\nrt])", r"\\\\", text)


async def send_rest(
    state: SimState, *, url: str, method: str, body: str, headers: str
) -> tuple[int, str]:
    """``core.utils._run_url_rest_action``'s request, rendered already: one attempt, ``timeout=8``."""
    payload: Any = _sanitize(body)
    try:
        payload = json.loads(payload, strict=False)
    except ValueError:
        pass  # Tactical logs and sends the string (json.dumps then double-encodes it)
    try:
        header_map = json.loads(headers, strict=False) if headers else {}
    except ValueError:
        header_map = headers  # Tactical passes the string on to requests, which raises: never sent
    if not isinstance(header_map, dict):
        return 500, f"'{type(header_map).__name__}' object has no attribute 'items'"
    client = httpx.AsyncClient(transport=state.outbound, timeout=DELIVERY_TIMEOUT_S) if state.outbound else \
        httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S)
    try:
        async with client:
            response = await client.request(
                method.upper(), url, content=json.dumps(payload).encode(),
                headers={str(k): str(v) for k, v in header_map.items()},
            )
            return response.status_code, response.text
    except Exception as exc:  # Tactical: (str(e), 500), logged, never retried
        return 500, str(exc)


async def run_pending(state: SimState) -> None:
    """Send the REST actions queued by views and control calls, once each."""
    store, fleet = state.actions, state.fleet
    while store.pending:
        action_id, alert, kind = store.pending.pop(0)
        action = store.urlactions.get(action_id)
        if action is None or alert is None:
            continue
        now = state.now()
        url = render(action.pattern, fleet, store, alert, alert.agent_pk, None)
        status, text = await send_rest(
            state, url=url, method=action.rest_method,
            body=render(action.rest_body, fleet, store, alert, alert.agent_pk, None),
            headers=render(action.rest_headers, fleet, store, alert, alert.agent_pk, None),
        )
        if kind == "resolved":
            alert.resolved_action_run, alert.resolved_action_retcode, alert.resolved_action_stdout = now, status, text
        else:
            alert.action_run, alert.action_retcode, alert.action_stdout = now, status, text
        store.deliveries.append(DeliveryRecord(action_id, alert.id, kind, url, status, text[:500], now))
