"""The Tanium simulator as an ASGI app: Gateway, Asset API and session validation behind ``session``-token
auth, fault injection on every API request, and a ``/_sim/`` control API for a separately running simulator.

Every API request goes through the same steps, in the order a real deployment would apply them:
console-host mode (302/HTML) → injected faults (delay, status, 429, malformed, expire_token) → module
installed (404) → token (403) → permission (401/403) → handler → ``truncate`` fault on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from datetime import timedelta
from http import HTTPStatus
from typing import Any, Literal, get_args

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from rmmbridge.simulators.faults import (
    MALFORMED_BODY,
    Fault,
    FaultKind,
    FaultPlan,
    apply_delay,
    truncate_body,
)
from rmmbridge.simulators.tanium.asset_api import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    asset_count,
    asset_row,
    list_assets,
)
from rmmbridge.simulators.tanium.filters import parse_time
from rmmbridge.simulators.tanium.fleet import ROLES, Endpoint, TaniumFleet, generate_fleet, installed_applications
from rmmbridge.simulators.tanium.gateway import run_graphql
from rmmbridge.simulators.tanium.state import Clock, TaniumSimulator, real_time_from
from rmmbridge.simulators.tanium.tokens import DEFAULT_TOKEN, ApiToken, AuthError

GATEWAY_PATH = "/plugin/products/gateway/graphql"
ASSET_PREFIX = "/plugin/products/asset/v1"
SESSION_VALIDATE_PATH = "/api/v2/session/validate"
CONSOLE_LOGIN_URL = "https://{host}/auth/realms/tanium/protocol/openid-connect/auth?client_id=console"
DEFAULT_CURSOR_TTL_S = 300.0
DEFAULT_MAX_PAGE_SIZE = 5000

Area = Literal["gateway", "asset", "platform"]

_CONSOLE_HTML = (
    "<!DOCTYPE html><html><head><title>Tanium Console</title></head>"
    "<body><div id='login'>Sign in to Tanium</div></body></html>"
)


@dataclass
class _Admitted:
    token: ApiToken
    truncate: bool


def _text_error(status: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"text": text}, status_code=status, headers=headers)


def _console_response(request: Request, mode: str) -> Response:
    if mode == "html":
        return HTMLResponse(_CONSOLE_HTML, status_code=200)
    host = request.headers.get("host", "example.cloud.tanium.com")
    return RedirectResponse(CONSOLE_LOGIN_URL.format(host=host), status_code=302)


def _fault_response(request: Request, fault: Fault) -> Response | None:
    if fault.kind == "rate_limit":
        return _text_error(429, "Too Many Requests", {"Retry-After": str(fault.retry_after_s)})
    if fault.kind == "malformed":
        return Response(MALFORMED_BODY, status_code=200, media_type="application/json")
    if fault.kind != "status":
        return None
    status = fault.status
    if status in (301, 302, 303, 307, 308):
        return _console_response(request, "redirect")
    if status == 500:
        return Response("Failed to initialize request", status_code=500, media_type="text/plain")
    headers = {"Retry-After": str(fault.retry_after_s)} if status in (429, 503) else None
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if status in (401, 403):
        return _text_error(status, f"{phrase}: injected fault", headers)
    return Response(phrase, status_code=status, media_type="text/plain", headers=headers)


def _finish(response: Response, admitted: _Admitted) -> Response:
    if not admitted.truncate:
        return response
    return Response(
        truncate_body(bytes(response.body)),
        status_code=response.status_code,
        media_type=response.media_type,
    )


def create_app(
    fleet: TaniumFleet,
    *,
    token: str = DEFAULT_TOKEN,
    faults: FaultPlan | None = None,
    clock: Clock | None = None,
    cursor_ttl_s: float = DEFAULT_CURSOR_TTL_S,
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    token_expires_in_days: float = 7.0,
) -> Starlette:
    """Build the simulator app around ``fleet``.

    ``token`` is the API token the app accepts from the start (it expires ``token_expires_in_days`` after the
    clock's start). ``clock`` returns the current time; by default it starts at ``fleet.generated_at`` and
    runs in real time, so a fleet generated for a fixed ``now`` looks the same to the app. The simulator state
    is ``app.state.sim`` (:class:`TaniumSimulator`) for tests that want to reach in.

    Faults of ``faults`` are matched on every API request (not ``/_sim/``). For Gateway POSTs the text that
    ``Fault.query_contains`` is matched against is the URL query followed by ``operationName=<name>`` from the
    body, so ``query_contains="operationName=RmmbridgeTaniumEndpoints"`` hits only that operation.
    """
    if not token.lower().startswith("token-"):
        raise ValueError("a Tanium API token starts with 'token-'")
    sim = TaniumSimulator(
        fleet,
        faults=faults if faults is not None else FaultPlan(),
        clock=clock or real_time_from(fleet.generated_at),
        cursor_ttl_s=cursor_ttl_s,
        max_page_size=max_page_size,
    )
    sim.tokens.grant(sim.now(), expires_in_days=token_expires_in_days, notes="rmmbridge simulator", token_string=token)

    async def admit(request: Request, area: Area, session: str | None, match_extra: str = "") -> _Admitted | Response:
        sim.requests_served += 1
        if sim.modes.console_host != "off":
            return _console_response(request, sim.modes.console_host)
        query = request.url.query
        if match_extra:
            query = f"{query}&{match_extra}" if query else match_extra
        hit = sim.faults.take(request.method, request.url.path, query)
        await apply_delay(hit)
        for fault in hit:
            response = _fault_response(request, fault)
            if response is not None:
                return response
        if area == "gateway" and not sim.modes.gateway_installed:
            return _text_error(404, "Not Found")
        if area == "asset" and not sim.modes.asset_installed:
            return _text_error(404, "Not Found")
        now = sim.now()
        if any(f.kind == "expire_token" for f in hit) and session:
            live = sim.tokens.find(session.strip())
            if live is not None:
                sim.tokens.expire(live, now)
        client_ip = request.client.host if request.client else None
        try:
            token_obj = sim.tokens.authenticate(session, client_ip, now)
        except AuthError as exc:
            return _text_error(403, f"Forbidden: {exc}")
        if area == "gateway" and not sim.modes.gateway_permission:
            return _text_error(401, "Unauthorized: the user lacks permission to use the API Gateway")
        if area == "asset" and not sim.modes.asset_permission:
            return _text_error(403, "Forbidden: the persona lacks Asset API permission")
        return _Admitted(token_obj, truncate=any(f.kind == "truncate" for f in hit))

    async def graphql_endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            payload: Any = json.loads(raw) if raw else None
        except ValueError:
            payload = ValueError
        op = payload.get("operationName") if isinstance(payload, dict) else None
        admitted = await admit(
            request,
            "gateway",
            request.headers.get("session"),
            f"operationName={op}" if isinstance(op, str) else "",
        )
        if isinstance(admitted, Response):
            return admitted
        if payload is ValueError:
            return _finish(JSONResponse({"errors": [{"message": "POST body is not valid JSON"}]}, 400), admitted)
        result = run_graphql(sim, admitted.token, payload, sim.now())
        if result.drop_response:
            return Response("Gateway Timeout", status_code=504, media_type="text/plain")
        return _finish(JSONResponse(result.body, status_code=result.status), admitted)

    async def assets_endpoint(request: Request) -> Response:
        admitted = await admit(request, "asset", request.headers.get("session"))
        if isinstance(admitted, Response):
            return admitted
        params = request.query_params
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
            minimum = int(params.get("minimumAssetId", 1))
        except ValueError:
            return _finish(_text_error(400, "limit and minimumAssetId must be integers"), admitted)
        if limit < 1:
            return _finish(_text_error(400, "limit must be at least 1"), admitted)
        body = list_assets(sim.fleet, sim.now(), minimum, min(limit, MAX_LIMIT), sim.modes.asset_omit_keys)
        if sim.modes.asset_envelope == "response":
            body = {"response": body}  # the published OpenAPI's shape
        return _finish(JSONResponse(body), admitted)

    async def asset_endpoint(request: Request) -> Response:
        admitted = await admit(request, "asset", request.headers.get("session"))
        if isinstance(admitted, Response):
            return admitted
        try:
            asset_id = int(request.path_params["asset_id"])
        except ValueError:
            return _finish(_text_error(404, "Asset not found"), admitted)
        ep = sim.fleet.assets.get(asset_id)
        if ep is None:
            return _finish(_text_error(404, "Asset not found"), admitted)
        return _finish(JSONResponse({"data": asset_row(sim.fleet, ep, sim.now(), sim.modes.asset_omit_keys)}), admitted)

    async def stats_count_endpoint(request: Request) -> Response:
        admitted = await admit(request, "asset", request.headers.get("session"))
        if isinstance(admitted, Response):
            return admitted
        return _finish(JSONResponse(asset_count(sim.fleet)), admitted)

    async def session_validate_endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {}
        session = payload.get("session") if isinstance(payload, dict) else None
        admitted = await admit(request, "platform", session or request.headers.get("session"))
        if isinstance(admitted, Response):
            return admitted
        tok = admitted.token
        body = {
            "data": {
                "session": tok.token_string,
                "persona": tok.persona,
                "expiration": tok.expiration.isoformat(),
            }
        }
        return _finish(JSONResponse(body), admitted)

    async def catch_all(request: Request) -> Response:
        if sim.modes.console_host != "off":
            return _console_response(request, sim.modes.console_host)
        return _text_error(404, "Not Found")

    routes = [
        Route(GATEWAY_PATH, graphql_endpoint, methods=["POST"]),
        Route(f"{ASSET_PREFIX}/assets", assets_endpoint, methods=["GET"]),
        Route(f"{ASSET_PREFIX}/assets/{{asset_id}}", asset_endpoint, methods=["GET"]),
        Route(f"{ASSET_PREFIX}/stats/count", stats_count_endpoint, methods=["GET"]),
        Route(SESSION_VALIDATE_PATH, session_validate_endpoint, methods=["POST"]),
        *_control_routes(sim),
        Route("/{path:path}", catch_all, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app


# ---- control API -------------------------------------------------------------------------------------------
#
# GET  /_sim/state                 fleet, clock, tokens, modes, faults, requests served
# GET|POST|DELETE /_sim/faults     list / arm (a Fault as JSON) / disarm all
# POST /_sim/clock                 {"offset_s": n} or {"advance_s": n}
# GET|POST /_sim/modes             SimModes switches
# POST /_sim/tokens                grant a token; POST /_sim/personas: a persona's management groups
# POST /_sim/cursors/expire        every open cursor expires now
# POST /_sim/checkin               connected endpoints (or {"eids": [...]}) register now
# POST /_sim/endpoints             {"groups": [...], "role", "name", "online", "asset_row"}: a new endpoint
# POST /_sim/endpoints/<eid>       {"last_seen": iso|null} stops it registering; {"online": true} reconnects
#                                  it; {"groups": [...]} replaces its customer groups

Handler = Callable[[Request], Awaitable[Response]]


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=400)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value


def _control(handler: Callable[[Request], Awaitable[Response]]) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except (ValueError, TypeError, KeyError) as exc:
            return _bad(str(exc))

    return wrapped


def _control_routes(sim: TaniumSimulator) -> list[Route]:
    fault_fields = {f.name for f in fields(Fault)} - {"hits"}

    async def state(request: Request) -> Response:
        return JSONResponse(sim.summary())

    async def list_faults(request: Request) -> Response:
        return JSONResponse([asdict(f) for f in sim.faults.faults])

    async def add_fault(request: Request) -> Response:
        body = await _json_object(request)
        unknown = set(body) - fault_fields
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        if body.get("kind") not in get_args(FaultKind):
            raise ValueError(f"kind must be one of {', '.join(get_args(FaultKind))}")
        fault = sim.faults.add(Fault(**body))
        return JSONResponse(asdict(fault), status_code=201)

    async def clear_faults(request: Request) -> Response:
        sim.faults.clear()
        return Response(status_code=204)

    async def clock(request: Request) -> Response:
        body = await _json_object(request)
        if "offset_s" in body:
            sim.clock_offset = timedelta(seconds=float(body["offset_s"]))
        if "advance_s" in body:
            sim.advance(float(body["advance_s"]))
        return JSONResponse(
            {
                "now": sim.now().isoformat().replace("+00:00", "Z"),
                "offset_s": sim.clock_offset.total_seconds(),
            }
        )

    async def modes(request: Request) -> Response:
        if request.method == "POST":
            sim.modes.update(await _json_object(request))
        return JSONResponse(asdict(sim.modes))

    async def tokens(request: Request) -> Response:
        body = await _json_object(request)
        persona = str(body.get("persona", "Administrator"))
        if persona not in sim.personas:
            raise ValueError(f"unknown persona {persona!r}; create it with POST /_sim/personas")
        token = sim.tokens.grant(
            sim.now(),
            expires_in_days=float(body.get("expires_in_days", 7)),
            notes=str(body.get("notes", "")),
            persona=persona,
            trusted_ips=list(body.get("trusted_ips") or []),
        )
        return JSONResponse(
            {"id": token.id, "token": token.token_string, "expiration": token.expiration.isoformat()},
            status_code=201,
        )

    async def personas(request: Request) -> Response:
        body = await _json_object(request)
        group_ids = body.get("group_ids")
        sim.add_persona(str(body["name"]), [str(g) for g in group_ids] if group_ids is not None else None)
        return JSONResponse({"name": body["name"], "group_ids": group_ids}, status_code=201)

    async def expire_cursors(request: Request) -> Response:
        sim.cursors.expire_all()
        return Response(status_code=204)

    async def check_in(request: Request) -> Response:
        body = await _json_object(request)
        eids = body.get("eids")
        if eids is not None and not isinstance(eids, list):
            raise ValueError("eids must be a list of endpoint ids")
        return JSONResponse({"checked_in": sim.fleet.check_in(sim.now(), eids)})

    async def add_endpoint(request: Request) -> Response:
        body = await _json_object(request)
        role = body.get("role", "win_ws")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        ep = sim.fleet.add_endpoint(
            groups=[str(g) for g in body.get("groups") or []],
            role=role,
            name=str(body["name"]) if body.get("name") else None,
            online=bool(body.get("online", True)),
            asset_row=bool(body.get("asset_row", True)),
        )
        return JSONResponse(_endpoint_summary(sim, ep), status_code=201)

    async def change_endpoint(request: Request) -> Response:
        body = await _json_object(request)
        eid = str(request.path_params["eid"])
        fleet = sim.fleet
        ep = fleet.endpoint(eid)
        if "last_seen" in body:
            raw = body["last_seen"]
            fleet.set_last_seen(eid, parse_time(str(raw)) if raw else None)
        if body.get("online"):
            fleet.set_online(eid)
        if "groups" in body:
            fleet.set_groups(eid, body["groups"])
        return JSONResponse(_endpoint_summary(sim, ep))

    async def endpoint_apps(request: Request) -> Response:
        """DELETE uninstalls one (name, version) from an endpoint (every row of it); POST puts it back."""
        ep = sim.fleet.endpoints.get(request.path_params["eid"])
        if ep is None:
            return JSONResponse({"detail": "no such endpoint"}, status_code=404)
        body = await _json_object(request)
        name, version = body.get("name"), body.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            raise ValueError("send the application's 'name' and 'version' as strings")
        key = (name, version)
        if request.method == "DELETE":
            if key not in {(a.name, a.version) for a in installed_applications(ep)}:
                return JSONResponse({"detail": f"{name} {version} is not installed"}, status_code=404)
            ep.removed_apps.add(key)
        elif key in ep.removed_apps:
            ep.removed_apps.discard(key)
        else:
            return JSONResponse({"detail": f"{name} {version} was not removed"}, status_code=404)
        return JSONResponse({"eid": ep.eid, "applications": len(installed_applications(ep))})

    return [
        Route("/_sim/state", _control(state), methods=["GET"]),
        Route("/_sim/faults", _control(list_faults), methods=["GET"]),
        Route("/_sim/faults", _control(add_fault), methods=["POST"]),
        Route("/_sim/faults", _control(clear_faults), methods=["DELETE"]),
        Route("/_sim/clock", _control(clock), methods=["POST"]),
        Route("/_sim/modes", _control(modes), methods=["GET", "POST"]),
        Route("/_sim/tokens", _control(tokens), methods=["POST"]),
        Route("/_sim/personas", _control(personas), methods=["POST"]),
        Route("/_sim/cursors/expire", _control(expire_cursors), methods=["POST"]),
        Route("/_sim/checkin", _control(check_in), methods=["POST"]),
        Route("/_sim/endpoints", _control(add_endpoint), methods=["POST"]),
        Route("/_sim/endpoints/{eid}", _control(change_endpoint), methods=["POST"]),
        Route("/_sim/endpoints/{eid}/apps", _control(endpoint_apps), methods=["DELETE", "POST"]),
    ]


def _endpoint_summary(sim: TaniumSimulator, ep: Endpoint) -> dict[str, Any]:
    seen = sim.fleet.eid_last_seen(ep, sim.now())
    return {
        "id": ep.eid,
        "name": ep.name,
        "groups": sorted(ep.groups, key=lambda g: (len(g), g)),
        "online": ep.online_phase_s is not None,
        "eid_last_seen": seen.isoformat().replace("+00:00", "Z") if seen else None,
        "status": sim.fleet.expected_status(ep, sim.now()),
    }


def serve(
    host: str = "127.0.0.1",
    port: int = 8020,
    seed: int = 1,
    groups: int = 8,
    endpoints: int = 2000,
    shared_fleet: int | None = None,
    overlap: float = 0.6,
) -> None:
    """Generate a fleet and serve the simulator with uvicorn until interrupted."""
    import uvicorn

    fleet = generate_fleet(seed=seed, groups=groups, endpoints=endpoints)
    if shared_fleet is not None:  # machines shared with other simulators started with the same seed
        from .shared import apply_shared_fleet

        apply_shared_fleet(fleet, shared_fleet, overlap)
    app = create_app(fleet)
    print(f"Tanium simulator: http://{host}:{port}  (Gateway {GATEWAY_PATH}, Asset {ASSET_PREFIX}/assets)")
    print(f"API token (send as the 'session' header): {DEFAULT_TOKEN}")
    print(f"Fleet: seed={seed} groups={len(fleet.groups)} endpoints={len(fleet.endpoints)}", end=" ")
    print(f"aged-out={len(fleet.aged_out)} assets={len(fleet.assets)}")
    uvicorn.run(app, host=host, port=port, log_level="info")
