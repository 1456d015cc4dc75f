"""The URL table of a Tactical 1.5 API host and the DRF request cycle that runs a matched view."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from starlette.responses import Response

from . import (
    account_views,
    alert_template_views,
    alert_views,
    beta_views,
    client_views,
    core_views,
    software_views,
    table_views,
)
from .auth import TacticalUser, check_throttles, client_ident
from .responses import json_response, method_not_allowed, not_authenticated, permission_denied
from .state import ApiRequest

Handler = Callable[..., Response]
Permission = Callable[[ApiRequest, TacticalUser, dict[str, str]], bool]


@dataclass(frozen=True)
class Route:
    name: str
    pattern: re.Pattern[str]
    handlers: Mapping[str, Handler]
    permission: Permission | None = None  # None: AllowAny; otherwise IsAuthenticated + this
    authentication: Literal["drf", "knox", "none"] = "drf"
    throttle: str | None = None
    beta: bool = False
    # Present only on servers that have it (``SimState.url_action_test_run``).
    test_run: bool = False


def _route(
    pattern: str,
    name: str,
    handlers: Mapping[str, Handler],
    *,
    permission: Permission | None = None,
    authentication: Literal["drf", "knox", "none"] = "drf",
    throttle: str | None = None,
    beta: bool = False,
    test_run: bool = False,
) -> Route:
    return Route(name, re.compile(f"^/{pattern}$"), handlers, permission, authentication, throttle, beta, test_run)


def _authenticated(_req: ApiRequest, _user: TacticalUser, _params: dict[str, str]) -> bool:
    return True


def _home(_req: ApiRequest) -> Response:
    return json_response({"status": "ok"})


BETA_ID = r"(?P<pk>[^/.]+)"
ROUTES: tuple[Route, ...] = (
    _route("", "home", {m: _home for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}, authentication="none"),
    _route("v2/checkcreds/", "CheckCredsV2", {"POST": account_views.checkcreds}, throttle="checkcreds"),
    _route("v2/login/", "LoginViewV2", {"POST": account_views.login}, throttle="login"),
    _route("logout/", "LogoutView", {"POST": account_views.logout}, permission=_authenticated,
           authentication="knox"),
    _route("logoutall/", "LogoutAllView", {"POST": account_views.logout_all}, permission=_authenticated,
           authentication="knox"),
    _route("beta/v1/", "Api Root", {"GET": beta_views.beta_root}, permission=_authenticated, beta=True),
    _route("beta/v1/agent/", "Agent List", {"GET": beta_views.agent_list}, permission=beta_views.agent_perms,
           beta=True),
    _route(f"beta/v1/agent/{BETA_ID}/", "Agent Instance", {"GET": beta_views.agent_detail_view},
           permission=beta_views.agent_perms, beta=True),
    _route("beta/v1/client/", "Client List", {"GET": beta_views.client_list}, permission=beta_views.client_perms,
           beta=True),
    _route(f"beta/v1/client/{BETA_ID}/", "Client Instance",
           {"GET": beta_views.client_detail, "PUT": beta_views.client_detail}, permission=beta_views.client_perms,
           beta=True),
    _route("beta/v1/site/", "Site List", {"GET": beta_views.site_list}, permission=beta_views.site_perms, beta=True),
    _route(f"beta/v1/site/{BETA_ID}/", "Site Instance",
           {"GET": beta_views.site_detail, "PUT": beta_views.site_detail}, permission=beta_views.site_perms,
           beta=True),
    _route("clients/", "GetAddClients", {"GET": client_views.clients_list}, permission=client_views.clients_perms),
    _route("agents/", "GetAgents", {"GET": table_views.agents_table}, permission=table_views.table_perms),
    _route("alerts/", "Get Add Alerts", {"PATCH": alert_views.alerts_patch, "POST": alert_views.alerts_post},
           permission=alert_views.alert_perms),
    _route("alerts/bulk/", "Bulk Alerts", {"POST": alert_views.alerts_bulk}, permission=alert_views.alert_perms),
    _route(r"alerts/(?P<pk>[0-9]+)/", "Get Update Delete Alert",
           {"GET": alert_views.alert_get, "PUT": alert_views.alert_put, "DELETE": alert_views.alert_delete},
           permission=alert_views.alert_perms),
    _route("alerts/templates/", "Get Add Alert Templates", {"GET": alert_template_views.templates_list},
           permission=alert_template_views.template_perms),
    _route(r"alerts/templates/(?P<pk>[0-9]+)/", "Get Update Delete Alert Template",
           {"GET": alert_template_views.template_get, "PUT": alert_template_views.template_put},
           permission=alert_template_views.template_perms),
    _route("core/keystore/", "Get Add Key Store", {"GET": core_views.keystore_list, "POST": core_views.keystore_add},
           permission=core_views.keystore_perms),
    _route(r"core/keystore/(?P<pk>[0-9]+)/", "Update Delete Key Store",
           {"PUT": core_views.keystore_put, "DELETE": core_views.keystore_delete},
           permission=core_views.keystore_perms),
    _route("core/urlaction/", "Get Add URL Action",
           {"GET": core_views.urlaction_list, "POST": core_views.urlaction_add}, permission=core_views.urlaction_perms),
    _route(r"core/urlaction/(?P<pk>[0-9]+)/", "Update Delete URL Action",
           {"PUT": core_views.urlaction_put, "DELETE": core_views.urlaction_delete},
           permission=core_views.core_settings_perms),
    _route("core/urlaction/run/test/", "Run Test URL Action", {"POST": core_views.urlaction_run_test},
           permission=core_views.urlaction_perms, test_run=True),
    _route("core/settings/", "Get Edit Core Settings",
           {"GET": core_views.settings_get, "PUT": core_views.settings_put}, permission=core_views.core_settings_perms),
    _route("software/", "Get Software", {"GET": software_views.software_list},
           permission=software_views.software_perms),
    _route(r"software/(?P<agent_id>[^/]{20}[^/]+)/", "Get Software",
           {"GET": software_views.software_detail, "PUT": software_views.software_refresh,
            "POST": software_views.software_refresh},
           permission=software_views.software_perms),
)


def resolve(path: str, *, beta_enabled: bool, test_run: bool = True) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        if (route.beta and not beta_enabled) or (route.test_run and not test_run):
            continue
        match = route.pattern.match(path)
        if match:
            return route, match.groupdict()
    return None


def run_view(req: ApiRequest, route: Route, params: dict[str, str]) -> Response:
    """DRF ``APIView.dispatch``: authenticate, check permissions, throttle, then find the handler."""
    state = req.state
    if route.authentication != "none":
        req.principal = state.auth.authenticate(req.headers, req.now, knox_only=route.authentication == "knox")
    if route.permission is not None:
        if req.principal is None:
            raise not_authenticated()
        if not route.permission(req, req.principal.user, params):
            raise permission_denied()
    if route.throttle:
        ident = client_ident(req.headers, req.client_host)
        check_throttles(state.login_throttles.get(route.throttle, ()), ident, req.now.timestamp())
    method = "GET" if req.method == "HEAD" and "GET" in route.handlers else req.method
    if method == "OPTIONS" and route.authentication != "none":
        return json_response({
            "name": route.name, "description": "", "renders": ["application/json"],
            "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
        })
    handler = route.handlers.get(method)
    if handler is None:
        allowed = (*route.handlers, "OPTIONS") if route.authentication != "none" else tuple(route.handlers)
        raise method_not_allowed(req.method, allowed)
    response = handler(req, **params)
    if inspect.isawaitable(response):  # a view that itself sends a request (the URL action test run)
        return _with_allow(response, route)  # type: ignore[return-value]
    if route.authentication != "none":
        response.headers.setdefault("Allow", ", ".join((*route.handlers, "OPTIONS")))
    return response


async def _with_allow(pending: Awaitable[Response], route: Route) -> Response:
    response = await pending
    if route.authentication != "none":
        response.headers.setdefault("Allow", ", ".join((*route.handlers, "OPTIONS")))
    return response
