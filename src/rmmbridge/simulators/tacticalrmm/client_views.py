"""``GET /clients/``: Tactical's own client tree (``clients.views.GetAddClients``), with counts.

Unlike the Beta API's client list this one carries ``agent_count`` per client and per site, which
is how an MSP sees how big a client is before any device sync. Shapes follow upstream
``clients/serializers.py`` (``ClientSerializer`` with ``SiteSerializer`` nested), key for key:

- clients ordered by name, role-filtered (``filter_by_role``: a restricted role sees the clients
  it may view, and the clients of the sites it may view);
- sites nested under ``sites`` (``filtered_sites``), ordered by name, role-filtered likewise;
- ``agent_count`` = ``Count("sites__agents")`` / ``Count("agents")``: every agent of the client
  or site, not role-filtered (the annotation is over the unfiltered relation);
- ``maintenance_mode``: any agent of the client or site in maintenance mode;
- ``custom_fields``: the simulator has none (``[]``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.responses import Response

from .auth import TacticalUser
from .fleet import Client, Site
from .responses import json_response
from .serializers import Json
from .state import ApiRequest


def clients_perms(req: ApiRequest, user: TacticalUser, _params: dict[str, str]) -> bool:
    """``ClientsPerms`` for the list: ``can_list_clients`` to read; POST would need ``can_manage_clients``."""
    return user.has_perm("can_list_clients" if req.method in ("GET", "HEAD") else "can_manage_clients")


def _visible_clients(user: TacticalUser, clients: list[Client], sites: list[Site]) -> list[Client]:
    if user.superuser:
        return clients
    if user.role is None:
        return []
    role = user.role
    if not (role.can_view_clients or role.can_view_sites):
        return clients
    by_site = {s.client_id for s in sites if s.id in role.can_view_sites}
    return [c for c in clients if c.id in role.can_view_clients or c.id in by_site]


def _visible_sites(user: TacticalUser, sites: list[Site]) -> list[Site]:
    if user.superuser:
        return sites
    if user.role is None:
        return []
    role = user.role
    if not (role.can_view_clients or role.can_view_sites):
        return sites
    return [s for s in sites if s.client_id in role.can_view_clients or s.id in role.can_view_sites]


def site_tree_json(site: Site, client: Client, agents: int, maintenance: bool) -> Json:
    return {
        "id": site.id,
        "name": site.name,
        "server_policy": None,
        "workstation_policy": None,
        "alert_template": None,
        "client_name": client.name,
        "client": site.client_id,
        "custom_fields": [],
        "agent_count": agents,
        "block_policy_inheritance": False,
        "maintenance_mode": maintenance,
        "failing_checks": {"error": site.failing_error, "warning": site.failing_warning},
    }


def client_tree_json(client: Client, sites: list[Json], agents: int, maintenance: bool) -> Json:
    return {
        "id": client.id,
        "name": client.name,
        "server_policy": None,
        "workstation_policy": None,
        "alert_template": None,
        "block_policy_inheritance": False,
        "sites": sites,
        "custom_fields": [],
        "agent_count": agents,
        "maintenance_mode": maintenance,
        "failing_checks": {"error": client.failing_error, "warning": client.failing_warning},
    }


def clients_list(req: ApiRequest) -> Response:
    assert req.principal is not None
    user = req.principal.user
    fleet = req.fleet
    per_site: Counter[int] = Counter()
    maintenance_sites: set[int] = set()
    for agent in fleet.agents.values():
        per_site[agent.site_id] += 1
        if agent.maintenance_mode:
            maintenance_sites.add(agent.site_id)
    all_sites = list(fleet.sites.values())
    shown_sites = sorted(_visible_sites(user, all_sites), key=lambda s: s.name)
    out: list[dict[str, Any]] = []
    for client in _visible_clients(user, fleet.clients_by_name(), all_sites):
        own = [s for s in all_sites if s.client_id == client.id]
        sites = [
            site_tree_json(s, client, per_site[s.id], s.id in maintenance_sites)
            for s in shown_sites
            if s.client_id == client.id
        ]
        out.append(client_tree_json(
            client, sites, sum(per_site[s.id] for s in own), any(s.id in maintenance_sites for s in own)
        ))  # fmt: skip
    return json_response(out)
