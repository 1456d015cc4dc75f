"""``/agents/``: the dashboard's agent table (Tactical 1.5 ``agents/views.py`` ``GetAgents`` with
``AgentTableSerializer``) — what the liveness pass reads.

Upstream facts reproduced: a bare JSON array (no pagination), one object per agent keyed by the
string ``agent_id`` (no integer ``id``); ``status`` computed at request time; ``?site=`` wins over
``?client=``; a non-integer pk is a Django ``ValueError`` (an HTML 500); an unknown pk is ``[]``;
an unknown ``monitoring_type`` is ``400 "monitoring type does not exist"``; ``filter_by_role``
hides what a restricted user may not see; ``checks`` comes from a cache (zeros when cold);
``logged_username`` is ``"-"`` when nobody is logged in, or the last user (``italic``) when the
agent is online with nobody logged in.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from . import computed
from .agent_data import table_hardware
from .auth import TacticalUser
from .fleet import AgentRecord, TacticalFleet, _mix
from .responses import ApiError, json_response, server_error
from .serializers import checks_summary, iso
from .serving_cost import charge_rows
from .state import ApiRequest

MONITORING_TYPES = ("server", "workstation")


def table_perms(req: ApiRequest, user: TacticalUser, _params: dict[str, str]) -> bool:
    """``AgentPerms`` for ``GET /agents/``: ``can_list_agents``; other methods are not routed here."""
    return user.has_perm("can_list_agents")


def has_patches_pending(fleet: TacticalFleet, agent: AgentRecord) -> bool:
    """Approved, uninstalled Windows updates (``WinUpdate`` rows): deterministic per agent."""
    return agent.is_windows and _mix(fleet.seed, agent.index, "patches") % 10 < 3


def logged_username(agent: AgentRecord, status: str) -> tuple[str | None, bool]:
    """(``logged_username``, ``italic``) — upstream compares with the string ``"None"``."""
    logged = agent.logged_in_username if agent.logged_in_username is not None else "None"
    if logged == "None" and status == "online":
        return agent.last_logged_in_user, True
    if logged != "None":
        return logged, False
    return "-", False


def table_row(fleet: TacticalFleet, agent: AgentRecord, now: Any) -> dict[str, Any]:
    """One ``AgentTableSerializer`` object, keys in upstream order."""
    cpu_model, graphics, local_ips, make_model, physical_disks, serial_number = table_hardware(fleet, agent)
    site = fleet.sites[agent.site_id]
    status = computed.status_of(agent, now)
    user, italic = logged_username(agent, status)
    plat = agent.plat
    return {
        "agent_id": agent.agent_id,
        "alert_template": None,
        "hostname": agent.hostname,
        "site_name": site.name,
        "client_name": fleet.clients[site.client_id].name,
        "monitoring_type": agent.monitoring_type,
        "description": agent.description,
        "needs_reboot": agent.needs_reboot,
        "pending_actions_count": agent.pending_actions,
        "status": status,
        "overdue_text_alert": agent.overdue_text_alert,
        "overdue_email_alert": agent.overdue_email_alert,
        "overdue_dashboard_alert": agent.overdue_dashboard_alert,
        "last_seen": iso(agent.last_seen),
        "boot_time": agent.boot_time,
        "checks": checks_summary(fleet, agent),
        "maintenance_mode": agent.maintenance_mode,
        "logged_username": user,
        "italic": italic,
        "policy": None,
        "block_policy_inheritance": False,
        "plat": plat,
        "goarch": agent.goarch,
        "has_patches_pending": has_patches_pending(fleet, agent),
        "version": agent.version,
        "operating_system": agent.operating_system,
        "public_ip": agent.public_ip,
        "cpu_model": cpu_model,
        "graphics": graphics,
        "local_ips": local_ips,
        "make_model": make_model,
        "physical_disks": physical_disks,
        "custom_fields": [],
        "serial_number": serial_number,
    }


def _pk(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise server_error() from None  # Field 'id' expected a number: ValueError, an HTML 500


def agents_table(req: ApiRequest) -> Response:
    assert req.principal is not None
    user = req.principal.user
    fleet = req.fleet
    monitoring_type = req.query.get("monitoring_type")
    if monitoring_type and monitoring_type not in MONITORING_TYPES:
        raise ApiError(400, "monitoring type does not exist")
    # Narrow by site/client first (upstream's indexed filter), then apply the role filter: a
    # per-client walk must not cost the simulator a scan of the whole fleet's permissions each time.
    agents = list(fleet.agents.values())
    if "site" in req.query:
        site_id = _pk(req.query["site"])
        agents = [a for a in agents if a.site_id == site_id]
    elif "client" in req.query:
        client_id = _pk(req.query["client"])
        sites = {s.id for s in fleet.sites.values() if s.client_id == client_id}
        agents = [a for a in agents if a.site_id in sites]
    agents = [a for a in agents if user.can_view_agent(fleet.client_id_of(a), a.site_id)]
    if monitoring_type:
        agents = [a for a in agents if a.monitoring_type == monitoring_type]
    if req.query.get("detail", "true") != "true":
        rows = [
            {"id": a.pk, "hostname": a.hostname, "agent_id": a.agent_id, "client": fleet.client_of(a).name,
             "site": fleet.sites[a.site_id].name}
            for a in agents
        ]  # fmt: skip
        return json_response(rows)
    charge_rows("agents_table", len(agents))
    return json_response([table_row(fleet, a, req.now) for a in sorted(agents, key=lambda a: a.pk)])
