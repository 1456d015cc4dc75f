"""``/beta/v1/…``: clients, sites and agents (reference §3)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .auth import TacticalUser
from .filters import filter_agents, filter_by_name, ordered
from .pagination import paginate
from .responses import ApiError, json_response, not_found, raw_json_response, server_error
from .row_cache import agent_page_body
from .serializers import agent_detail, client_json, site_json
from .serving_cost import charge_rows
from .state import ApiRequest


def _int_pk(raw: str) -> int:
    """DRF's ``get_object_or_404`` turns a non-integer pk into a bare ``Http404``: "Not found."."""
    try:
        return int(raw)
    except ValueError:
        raise ApiError(404, {"detail": "Not found."}) from None


# ----- permissions (clients/permissions.py, agents/permissions.py) ---------------------------
def client_perms(req: ApiRequest, user: TacticalUser, params: dict[str, str]) -> bool:
    if req.method in ("GET", "HEAD"):
        if "pk" not in params:
            return user.has_perm("can_list_clients")
        if not user.has_perm("can_list_clients"):
            return False
    elif not user.has_perm("can_manage_clients"):
        return False
    elif "pk" not in params:
        return True
    if user.superuser:
        return True
    client = req.fleet.clients.get(_int_pk(params["pk"]))
    if client is None:
        raise not_found("Client")
    return user.can_view_client(client.id)


def site_perms(req: ApiRequest, user: TacticalUser, params: dict[str, str]) -> bool:
    if req.method in ("GET", "HEAD"):
        if "pk" not in params:
            return user.has_perm("can_list_sites")
        if not user.has_perm("can_list_sites"):
            return False
    elif not user.has_perm("can_manage_sites"):
        return False
    elif "pk" not in params:
        return True
    if user.superuser:
        return True
    site = req.fleet.sites.get(_int_pk(params["pk"]))
    if site is None:
        raise not_found("Site")
    return user.can_view_site(site.client_id, site.id)


def agent_perms(req: ApiRequest, user: TacticalUser, params: dict[str, str]) -> bool:
    if req.method in ("GET", "HEAD"):
        if not user.has_perm("can_list_agents"):
            return False
        agent_id = req.query.get("agent_id")
        if agent_id is None or user.superuser or user.role is None:
            return True
        agent = req.fleet.agent_by_agent_id(agent_id)  # _has_perm_on_agent(view.kwargs["agent_id"])
        if agent is None:
            raise not_found("Agent")
        return user.can_view_agent(req.fleet.client_id_of(agent), agent.site_id)
    if req.method != "PUT":
        return True  # POST/PATCH/DELETE end in 405 (reference §0)
    # PUT: `_has_perm(r, "can_edit_agent") and _has_perm_on_agent(r.user, view.kwargs["agent_id"])`,
    # and the detail route has no "agent_id" kwarg: KeyError, an HTML 500, for anyone allowed to edit.
    if user.has_perm("can_edit_agent"):
        raise server_error()
    return False


# ----- views ---------------------------------------------------------------------------------
def beta_root(req: ApiRequest) -> Response:
    base = f"{req.base_url()}/beta/v1"
    return json_response({"agent": f"{base}/agent/", "client": f"{base}/client/", "site": f"{base}/site/"})


def client_list(req: ApiRequest) -> Response:
    clients = filter_by_name(req.fleet.clients_by_name(), req.query, lambda c: c.name)
    if req.query.get("ordering"):
        clients = ordered(clients, req.query, key=lambda c: c.id)
    actions = req.state.actions
    return json_response([client_json(c, actions.client_template(c.id)) for c in clients])


def client_detail(req: ApiRequest, pk: str) -> Response:
    client = req.fleet.clients.get(_int_pk(pk))
    if client is None:
        raise not_found("Client")
    if req.method == "PUT":
        name = _required_name(req.data())
        client.name = name
        client.modified_time = req.now
    return json_response(client_json(client, req.state.actions.client_template(client.id)))


def site_list(req: ApiRequest) -> Response:
    sites = filter_by_name(req.fleet.sites.values(), req.query, lambda s: s.name)
    page = paginate(ordered(sites, req.query, key=lambda s: s.id), req.query, req.absolute_url())
    return json_response({"count": page.count, "next": page.next, "previous": page.previous,
                          "results": [site_json(s) for s in page.items]})


def site_detail(req: ApiRequest, pk: str) -> Response:
    site = req.fleet.sites.get(_int_pk(pk))
    if site is None:
        raise not_found("Site")
    if req.method == "PUT":
        data = req.data()
        name = _required_name(data)
        client_id = data.get("client") if isinstance(data, dict) else None
        if client_id is None:
            raise ApiError(400, {"client": ["This field is required."]})
        if not isinstance(client_id, int) or client_id not in req.fleet.clients:
            raise ApiError(400, {"client": [f'Invalid pk "{client_id}" - object does not exist.']})
        site.name, site.client_id, site.modified_time = name, client_id, req.now
    return json_response(site_json(site))


def agent_list(req: ApiRequest) -> Response:
    agents = filter_agents(req.fleet, req.query)
    page = paginate(agents, req.query, req.absolute_url())
    if "agent_id" in req.query:
        raise server_error()  # get_serializer_class reads self.kwargs["pk"]: KeyError upstream
    charge_rows("beta_agent", len(page.items))  # the modelled serving time; the bytes are pre-encoded
    return raw_json_response(agent_page_body(req.fleet, page.count, page.next, page.previous, page.items))


def agent_detail_view(req: ApiRequest, pk: str) -> Response:
    agent = req.fleet.agents.get(_int_pk(pk))
    if agent is None:
        raise not_found("Agent")
    charge_rows("beta_agent", 1)
    return json_response(agent_detail(req.fleet, agent, req.now))


def _required_name(data: Any) -> str:
    name = data.get("name") if isinstance(data, dict) else None
    if name is None:
        raise ApiError(400, {"name": ["This field is required."]})
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, {"name": ["This field may not be blank."]})
    return name
