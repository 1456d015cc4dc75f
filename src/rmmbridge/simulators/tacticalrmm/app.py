"""The ASGI app: host checks, routing, trailing-slash redirects, dashboard mode and fault injection."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ..faults import MALFORMED_BODY, Fault, FaultPlan, apply_delay, truncate_body
from . import control
from .alert_actions import run_pending
from .auth import API_KEY_USER, DEFAULT_API_KEY, ApiKey, AuthStore, TacticalUser, Throttle, default_users
from .fleet import TacticalFleet
from .responses import (
    BAD_REQUEST_HTML,
    DETAIL_INVALID_TOKEN,
    DETAIL_PERMISSION,
    NGINX_405_HTML,
    NOT_FOUND_HTML,
    SERVER_ERROR_HTML,
    SPA_HTML,
    ApiError,
    HtmlError,
    error_response,
    html_response,
    json_response,
    throttled,
)
from .routes import resolve, run_view
from .serving_cost import ServingCostGate, ServingCostModel
from .state import ApiRequest, Mode, SimState, _utcnow

log = logging.getLogger(__name__)


def _status_fault_response(status: int, method: str) -> Response:
    """What Tactical (Django + DRF) answers with for an injected status."""
    if status == 500:
        return html_response(SERVER_ERROR_HTML, 500)
    bodies: dict[int, Any] = {
        400: {"detail": "Malformed request."},
        401: {"detail": DETAIL_INVALID_TOKEN},
        403: {"detail": DETAIL_PERMISSION},
        404: {"detail": "Not found."},
        405: {"detail": f'Method "{method}" not allowed.'},
        429: {"detail": "Request was throttled. Expected available in 60 seconds."},
    }
    headers = {"WWW-Authenticate": "Token"} if status == 401 else {}
    if status == 429:
        headers["Retry-After"] = "60"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return json_response(bodies.get(status, {"detail": f"{phrase}."}), status, headers)


def _rebuild(response: Response, body: bytes) -> Response:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(body, status_code=response.status_code, headers=headers)


class TacticalSimulator:
    """An ASGI app that behaves like a Tactical RMM 1.5.x API host (or its dashboard host).

    ``state`` holds the fleet, users, tokens, faults and clock; tests may change any of it between
    requests. ``/_sim/…`` is the simulator's own control API (not part of Tactical).
    """

    def __init__(self, state: SimState) -> None:
        self.state = state

    @property
    def fleet(self) -> TacticalFleet:
        return self.state.fleet

    @property
    def faults(self) -> FaultPlan:
        return self.state.faults

    @property
    def auth(self) -> AuthStore:
        return self.state.auth

    def now(self) -> datetime:
        return self.state.now()

    def set_clock_offset(self, offset: timedelta) -> None:
        self.state.clock_offset = offset

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == "/_sim" or path.startswith("/_sim/"):
            request = Request(scope, receive)
            response = control.handle(self.state, request.method, path, await request.body())
            await run_pending(self.state)  # alert actions the control call triggered
            await response(scope, receive, send)
        elif self.state.serving is not None:
            await self.state.serving(scope, receive, send, self._serve_http)
        else:
            await self._serve_http(scope, receive, send)

    async def _serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        response = await self._serve(scope, request.method, scope["path"], body)
        await response(scope, receive, send)

    async def _serve(self, scope: Scope, method: str, path: str, body: bytes) -> Response:
        state = self.state
        state.requests_served += 1
        state.tick()
        raw_query = scope.get("query_string", b"").decode("latin-1")
        faults = state.faults.take(method, path, raw_query)
        await apply_delay(faults)
        kinds = {f.kind for f in faults}
        headers = Headers(scope=scope)
        client = scope.get("client") or ("127.0.0.1", 0)
        req = ApiRequest(state, method, path, raw_query, headers, body, scope.get("scheme", "http"), client[0])
        if "expire_token" in kinds:
            parts = headers.get("authorization", "").split()
            if len(parts) == 2 and parts[0].lower() == "token":
                state.auth.expire(parts[1])
        if "rate_limit" in kinds:
            wait = max(f.retry_after_s for f in faults if f.kind == "rate_limit")
            return error_response(throttled(wait))
        status_fault = next((f for f in faults if f.kind == "status"), None)
        if status_fault is not None:
            return _status_fault_response(status_fault.status, method)
        req.truncate_stream = "truncate" in kinds
        response = self._respond(req)
        if inspect.isawaitable(response):  # a view that sends a request itself (the URL action test run)
            try:
                response = await response
            except (ApiError, HtmlError) as exc:
                response = error_response(exc)
            except Exception:
                log.exception("simulated Tactical view crashed")
                response = html_response(SERVER_ERROR_HTML, 500)
        await run_pending(state)
        if "malformed" in kinds:
            return _rebuild(response, MALFORMED_BODY)
        if "truncate" in kinds and not isinstance(response, StreamingResponse):
            return _rebuild(response, truncate_body(bytes(response.body)))
        return response

    def _respond(self, req: ApiRequest) -> Response:
        state = self.state
        if state.mode == "dashboard":
            if req.method in ("GET", "HEAD"):
                return html_response(SPA_HTML, 200, {"Server": "nginx"})
            return html_response(NGINX_405_HTML, 405, {"Server": "nginx"})
        if not state.host_allowed(req.host):
            return html_response(BAD_REQUEST_HTML, 400)
        available = {"beta_enabled": state.beta_api_enabled, "test_run": state.url_action_test_run}
        found = resolve(req.path, **available)
        if found is None:
            if not req.path.endswith("/") and resolve(req.path + "/", **available):
                location = req.path + "/" + (f"?{req.raw_query}" if req.raw_query else "")
                return Response(b"", 301, headers={"Location": location}, media_type="text/html; charset=utf-8")
            return html_response(NOT_FOUND_HTML, 404)
        route, params = found
        try:
            return run_view(req, route, params)
        except (ApiError, HtmlError) as exc:
            return error_response(exc)
        except Exception:
            log.exception("simulated Tactical view %s crashed", route.name)
            return html_response(SERVER_ERROR_HTML, 500)


def create_app(
    fleet: TacticalFleet,
    *,
    api_key: str = DEFAULT_API_KEY,
    users: Sequence[TacticalUser] | None = None,
    api_keys: Iterable[ApiKey] = (),
    beta_api_enabled: bool = True,
    url_action_test_run: bool = True,
    mode: Mode = "api",
    allowed_hosts: list[str] | None = None,
    faults: FaultPlan | None = None,
    clock: Callable[[], datetime] | None = None,
    login_rate_per_minute: int = 10,
    login_rate_per_day: int = 300,
    live_agents: bool = False,
    serving_cost: ServingCostModel | ServingCostGate | None = None,
    stop_share: float = 0.0,
) -> TacticalSimulator:
    """Build a simulated Tactical RMM 1.5.x server over ``fleet``.

    ``api_key`` belongs to a superuser named ``"api"`` (added unless ``users`` has one); ``users``
    defaults to :func:`default_users` (a non-TOTP and a TOTP superuser, see ``DEFAULT_CREDENTIALS``).
    ``api_keys`` adds more keys (expiring, or owned by restricted/inactive users). ``clock`` drives
    status, Knox expiry, TOTP and throttles. ``live_agents`` lets online agents keep checking in;
    ``stop_share`` of them are out at any moment (they stop checking in, then come back).
    ``serving_cost`` makes requests take the real server's time (``serving_cost.py``; a gate when a
    test drives its clock).
    """
    user_list = list(users) if users is not None else default_users()
    if not any(u.username == API_KEY_USER for u in user_list):
        user_list.append(TacticalUser(API_KEY_USER, None, is_superuser=True, block_dashboard_login=True))
    store = AuthStore(user_list, [ApiKey(api_key, API_KEY_USER), *api_keys])
    state = SimState(
        fleet=fleet,
        auth=store,
        faults=faults if faults is not None else FaultPlan(),
        clock=clock or _utcnow,
        beta_api_enabled=beta_api_enabled,
        url_action_test_run=url_action_test_run,
        mode=mode,
        allowed_hosts=allowed_hosts,
        live_agents=live_agents,
        serving=ServingCostGate(serving_cost) if isinstance(serving_cost, ServingCostModel) else serving_cost,
        stop_share=stop_share,
    )
    state.login_throttles = {
        scope: [
            Throttle(f"{scope}_min", login_rate_per_minute, 60),
            Throttle(f"{scope}_day", login_rate_per_day, 86400),
        ]
        for scope in ("checkcreds", "login")
    }
    return TacticalSimulator(state)


__all__ = ["Fault", "FaultPlan", "TacticalSimulator", "create_app"]
