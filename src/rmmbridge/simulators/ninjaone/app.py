"""The NinjaOne simulator as one ASGI app serving every regional instance (reference/ninjaone.md §9).

The instance is chosen by a path prefix ``/_i/<key>`` (for a simulator on a real port) or by the
``Host`` header (``eu.ninjarmm.com``, or a test's ``sim-3f2a-eu.ninjarmm.com``); other hosts are the
``app`` instance. Each client app exists on exactly one instance: the token endpoint elsewhere
answers 404 "Client app not exist". The API is served under ``/v2`` and ``/api/v2``, OAuth under
``/ws/oauth`` and ``/oauth``. Lists are bare arrays keyed by ``after`` (exclusive id), with no Link
header, no cursor and no count; query reports use expiring cursors. ``/_sim/...`` is the control API.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from rmmbridge.simulators.faults import (
    MALFORMED_BODY,
    Fault,
    FaultPlan,
    apply_delay,
    apply_stall,
    truncate_body,
)

from .fleet import NinjaFleet, generate_fleet, new_device
from .state import INSTANCES, AuthCode, ClientApp, Clock, Cursor, Modes, NinjaSimulator, instance_of_host

DEFAULT_CLIENT_ID = "sim-m2m-client"
DEFAULT_CLIENT_SECRET = "sim-m2m-secret-0123456789"  # noqa: S105 - a simulator's published credential
WEB_CLIENT_ID = "sim-web-client"
WEB_CLIENT_SECRET = "sim-web-secret-0123456789"  # noqa: S105
DEFAULT_INSTANCE = "eu"
DEFAULT_PAGE_SIZE = 100
CODE_TTL_S = 60.0
_TS_MARK = "\x00TS:"
_TS_RE = re.compile(r'"\\u0000TS:([0-9.]+)"')
SUPPORTED_DF_KEYS = {
    "org": "organizationId",
    "organization": "organizationId",
    "loc": "locationId",
    "location": "locationId",
    "id": "id",
    "class": "nodeClass",
    "status": "approvalStatus",
}


# --------------------------------------------------------------------------- rendering


TS_KEYS = frozenset(
    {
        "created",
        "lastContact",
        "lastUpdate",
        "createTime",
        "updateTime",
        "timestamp",
        "expires",
        "lastBootTime",
        "activityTime",
    }
)
NESTED = ("os", "cursor", "device")


def _mark(value: Any) -> Any:
    """Timestamps (known keys, top level and in ``os``/``cursor``/``device``) marked for nine-decimal
    printing; a shallow pass per row, so big pages stay cheap to render."""
    if isinstance(value, list):
        return [_mark(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key in TS_KEYS.intersection(out):
        v = out[key]
        if isinstance(v, float) and 1e8 < v < 1e11:
            out[key] = f"{_TS_MARK}{v:.9f}"  # NinjaOne prints epoch seconds with nine decimals
    for key in NESTED:
        if isinstance(out.get(key), dict):
            out[key] = _mark(out[key])
    if isinstance(out.get("results"), list):
        out["results"] = [_mark(r) for r in out["results"]]
    return out


# Fields only the newer spec has (§3–§6): the FED instance, an older app version, never sends them.
NEWER_FIELDS = {
    "device": frozenset({"uid", "assignedOwnerUid"}),
    "alert": frozenset({"priority", "severity", "conditionName", "conditionHealthStatus", "useGlobalHealthStatus"}),
    "software": frozenset({"isSystemComponent"}),
}


def ninja_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = _TS_RE.sub(r"\1", json.dumps(_mark(data), separators=(",", ":")))
    return Response(text, status_code=status, media_type="application/json", headers=headers)


def _app_error(status: int, code: str, message: str, sim: NinjaSimulator) -> Response:
    return JSONResponse(
        {"resultCode": code, "errorMessage": message, "incidentId": sim.incident_id()}, status_code=status
    )


# --------------------------------------------------------------------------- df filter


class DfError(ValueError):
    pass


Pred = Callable[[dict[str, Any]], bool]


def _offline_is(want: bool) -> Pred:
    return lambda d: bool(d.get("offline")) == want


def _term(key: str, values: set[str], negate: bool) -> Pred:
    return lambda d: (str(d.get(key)) in values) != negate


def parse_df(raw: str | None) -> list[Callable[[dict[str, Any]], bool]]:
    """The §4.3 subset: ``org|loc|id|class|status`` with ``=``, ``!=``, ``in (…)``, and the bare
    ``online``/``offline``, joined by AND. Anything else is a 400."""
    preds: list[Callable[[dict[str, Any]], bool]] = []
    if raw is None or not raw.strip():
        raw = ""
    terms = [t.strip() for t in re.split(r"\s+(?:AND|and)\s+|\s*&&\s*", raw) if t.strip()]
    has_status = False
    for term in terms:
        if term in ("online", "offline"):
            want = term == "offline"
            preds.append(_offline_is(want))
            continue
        m = re.fullmatch(r"(\w+)\s*(=|eq|!=|neq|<>|in|nin|notin)\s*(.+)", term)
        if not m or m.group(1) not in SUPPORTED_DF_KEYS:
            raise DfError(f"unsupported device filter term: {term!r}")
        key, op, value = SUPPORTED_DF_KEYS[m.group(1)], m.group(2), m.group(3).strip()
        if op in ("in", "nin", "notin"):
            if not (value.startswith("(") and value.endswith(")")):
                raise DfError(f"'{op}' needs a parenthesized list: {term!r}")
            values = {v.strip() for v in value[1:-1].split(",") if v.strip()}
        else:
            values = {value}
        negate = op in ("!=", "neq", "<>", "nin", "notin")
        if key == "approvalStatus":
            has_status = True
        preds.append(_term(key, values, negate))
    if not has_status:
        preds.append(lambda d: d.get("approvalStatus") == "APPROVED")
    return preds


# --------------------------------------------------------------------------- app


def create_app(
    fleet: NinjaFleet,
    *,
    clock: Clock | None = None,
    faults: FaultPlan | None = None,
    modes: Modes | None = None,
    instance: str = DEFAULT_INSTANCE,
    webhook_client: Callable[[], httpx.AsyncClient] | None = None,
) -> Starlette:
    """The simulator around ``fleet``. Two client apps exist on ``instance``: a machine-to-machine app
    (``DEFAULT_CLIENT_ID``; client credentials; monitoring, management, control) and a Web app
    (``WEB_CLIENT_ID``; authorization code with PKCE and the refresh grant; redirect URIs registered
    through ``POST /_sim/apps``). ``app.state.sim`` is the :class:`NinjaSimulator`."""
    start, real_start = fleet.generated_at, datetime.now(UTC)
    sim = NinjaSimulator(
        fleet,
        clock or (lambda: start + (datetime.now(UTC) - real_start)),
        faults=faults or FaultPlan(),
        modes=modes or Modes(),
    )
    sim.add_app(
        ClientApp(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            instance,
            frozenset({"client_credentials"}),
            frozenset({"monitoring", "management", "control"}),
        )
    )
    sim.add_app(
        ClientApp(
            WEB_CLIENT_ID,
            WEB_CLIENT_SECRET,
            instance,
            frozenset({"authorization_code", "refresh_token"}),
            frozenset({"monitoring", "management", "control", "offline_access"}),
        )
    )
    make_client = webhook_client or (lambda: httpx.AsyncClient(timeout=10.0))
    background: set[asyncio.Task[None]] = set()

    def instance_of(request: Request) -> str:
        # A host that names no region (127.0.0.1, a demo host) is the instance the default apps live on.
        return request.scope.get("ninja_instance") or instance_of_host(request.headers.get("host", "")) or instance

    # ------------------------------------------------------------------ OAuth

    async def token(request: Request) -> Response:
        form = dict(await request.form())
        sim.token_requests.append({k: v for k, v in form.items() if k in ("grant_type", "scope", "client_id")})
        for fault in sim.faults.take("POST", request.url.path, ""):
            if fault.kind == "status":
                return Response("Service Unavailable", status_code=fault.status)
        app = sim.apps.get(str(form.get("client_id", "")))
        if app is None or app.instance != instance_of(request):
            return JSONResponse(
                {"resultCode": "Client app not exist", "incidentId": sim.incident_id()}, status_code=404
            )
        if form.get("client_secret") != app.client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = form.get("grant_type")
        if grant not in app.grants:
            return JSONResponse(
                {"error": "unauthorized_client", "error_description": "grant not allowed"}, status_code=400
            )
        asked = frozenset(str(form.get("scope") or "").split())
        if grant == "client_credentials":
            if "offline_access" in asked:  # the EU instance's behaviour
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            if asked - app.scopes:
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            return JSONResponse(sim.issue(app, asked or app.scopes, user_context=False))
        if grant == "authorization_code":
            code = sim.codes.pop(str(form.get("code", "")), None)
            if code is None or code.app is not app or code.expires_at < sim.now():
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if form.get("redirect_uri") != code.redirect_uri:
                return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri"}, status_code=400)
            if code.challenge is not None:
                verifier = str(form.get("code_verifier", ""))
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if digest != code.challenge:
                    return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            body = sim.issue(app, code.scopes, user_context=True)
            if "offline_access" in code.scopes and app.refresh_enabled and "refresh_token" in app.grants:
                body["refresh_token"] = sim.issue_refresh(app, code.scopes)
            return JSONResponse(body)
        if grant == "refresh_token":
            presented = str(form.get("refresh_token", ""))
            held = sim.refresh_tokens.get(presented)
            if sim.modes.revoked or held is None or held[0] is not app:
                return JSONResponse({"error": "invalid_token"}, status_code=400)
            body = sim.issue(app, held[1], user_context=True)
            if sim.modes.rotate_refresh:
                del sim.refresh_tokens[presented]  # reuse of the old one is now a 400
                sim.used_refresh_tokens.add(presented)
                body["refresh_token"] = sim.issue_refresh(app, held[1])
            return JSONResponse(body)
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    async def authorize(request: Request) -> Response:
        q = request.query_params
        app = sim.apps.get(q.get("client_id", ""))
        prefix = request.scope.get("ninja_prefix", "")
        if app is None or app.instance != instance_of(request) or q.get("redirect_uri") not in app.redirect_uris:
            qs = urlencode({"error": "unauthorized_client", "error_description": "Invalid redirect_uri"})
            return RedirectResponse(f"{prefix}/ws/oauth/error?{qs}", status_code=302)
        redirect, state = q["redirect_uri"], q.get("state", "")
        if q.get("response_type") != "code":
            return _redirect_with(redirect, {"error": "unsupported_response_type", "state": state})
        scopes = frozenset(q.get("scope", "").split())
        if scopes - app.scopes:
            return _redirect_with(redirect, {"error": "invalid_scope", "state": state})
        if q.get("code_challenge") and q.get("code_challenge_method") != "S256":
            return _redirect_with(redirect, {"error": "invalid_request", "state": state})
        if request.method == "POST":
            form = await request.form()
            if sim.modes.deny_consent or form.get("decision") != "allow":
                return _redirect_with(redirect, {"error": "access_denied", "state": state})
            code = secrets.token_urlsafe(16)
            sim.codes[code] = AuthCode(app, redirect, scopes, q.get("code_challenge") or None, sim.now() + CODE_TTL_S)
            return _redirect_with(redirect, {"code": code, "state": state})
        page = (
            "<!DOCTYPE html><html><head><title>NinjaOne - Authorize</title></head><body>"
            f"<h1>Authorize application</h1><p id='app'>{escape(app.client_id)} requests access: "
            f"<span id='scopes'>{escape(' '.join(sorted(scopes)))}</span></p>"
            f"<form method='post' action='{escape(str(request.url))}'>"
            "<button type='submit' name='decision' value='allow' id='allow'>Allow</button>"
            "<button type='submit' name='decision' value='deny' id='deny'>Deny</button></form></body></html>"
        )
        return HTMLResponse(page)

    async def oauth_error(request: Request) -> Response:
        q = request.query_params
        return HTMLResponse(
            f"<html><body><h1>Error</h1><p id='error'>{escape(q.get('error', ''))}: "
            f"{escape(q.get('error_description', ''))}</p></body></html>",
            status_code=400,
        )

    # ------------------------------------------------------------------ API plumbing

    async def admitted(request: Request, scope: str = "monitoring") -> Response | None:
        sim.requests.append((request.method, request.url.path + ("?" + request.url.query if request.url.query else "")))
        faults = sim.faults.take(request.method, request.url.path, request.url.query)
        await apply_delay(faults)
        await apply_stall(faults)
        for fault in faults:
            if response := _fault_response(fault, sim):
                return response
        if sim.modes.html_throttle > 0:
            sim.modes.html_throttle -= 1
            return HTMLResponse("<html><body>Too many requests, slow down</body></html>", status_code=200)
        header = request.headers.get("authorization")
        if header is None:
            return JSONResponse(
                {"error": "missing_header", "error_description": "Missing required header", "error_code": 2},
                status_code=400,
            )
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return JSONResponse(
                {"error": "invalid_header", "error_description": "Invalid authorization header", "error_code": 1},
                status_code=400,
            )
        token = sim.tokens.get(parts[1])
        if token is None or token.expires_at <= sim.now() or token.app.instance != instance_of(request):
            return JSONResponse(
                {"error": "not_authenticated", "error_description": "Invalid credentials", "error_code": 10},
                status_code=401,
            )
        if scope not in token.scopes:
            return _app_error(403, "FORBIDDEN", f"scope '{scope}' required", sim)
        request.state.token = token
        return None

    def older_app(request: Request, rows: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
        """FED runs an older app version (§1): the newer spec's fields are absent there."""
        if instance_of(request) != "fed":
            return rows
        return [{k: v for k, v in row.items() if k not in NEWER_FIELDS[kind]} for row in rows]

    def truncated(request: Request, response: Response) -> Response:
        if any(f.kind == "truncate" for f in sim.faults.take(request.method, request.url.path + "#out", "")):
            return Response(truncate_body(bytes(response.body)), status_code=200, media_type="application/json")
        return response

    def page_params(request: Request) -> tuple[int | None, int] | Response:
        q = request.query_params
        try:
            after = int(q["after"]) if q.get("after") else None
            size = int(q.get("pageSize") or DEFAULT_PAGE_SIZE)
        except ValueError:
            return _app_error(400, "BAD_REQUEST", "after and pageSize must be integers", sim)
        if size < 1:
            return _app_error(400, "BAD_REQUEST", "pageSize must be positive", sim)
        if sim.modes.max_page_size is not None:
            size = min(size, sim.modes.max_page_size)
        return after, size

    def keyset(
        rows: dict[int, dict[str, Any]],
        after: int | None,
        size: int,
        preds: list[Callable[[dict[str, Any]], bool]] | None = None,
    ) -> list[dict[str, Any]]:
        preds = preds or []
        out = []
        for rid in sorted(rows):
            if after is not None and rid <= after:
                continue
            if all(p(rows[rid]) for p in preds):
                out.append(rows[rid])
                if len(out) >= size:
                    break
        return out

    # ------------------------------------------------------------------ organizations and locations

    async def organizations(request: Request) -> Response:
        if denied := await admitted(request):
            return denied
        params = page_params(request)
        if isinstance(params, Response):
            return params
        rows = keyset(fleet.organizations, *params)
        if request.url.path.endswith("-detailed"):
            rows = [
                {
                    **o,
                    "tags": [],
                    "fields": {},
                    "settings": {},
                    "locations": [loc for loc in fleet.locations.values() if loc["organizationId"] == o["id"]],
                    "policies": [],
                }
                for o in rows
            ]
        return truncated(request, ninja_json(rows))

    async def organization(request: Request) -> Response:
        if denied := await admitted(request):
            return denied
        org = fleet.organizations.get(_int(request.path_params["oid"]))
        if org is None:
            return _app_error(404, "NOT_FOUND", "Organization not found", sim)
        return ninja_json(org)

    async def org_locations(request: Request) -> Response:
        if denied := await admitted(request):
            return denied
        oid = _int(request.path_params["oid"])
        if oid not in fleet.organizations:
            return _app_error(404, "NOT_FOUND", "Organization not found", sim)
        return ninja_json(
            [
                {k: v for k, v in loc.items() if k != "organizationId"}
                for loc in fleet.locations.values()
                if loc["organizationId"] == oid
            ]
        )

    async def locations(request: Request) -> Response:
        if denied := await admitted(request):
            return denied
        params = page_params(request)
        if isinstance(params, Response):
            return params
        return ninja_json(keyset(fleet.locations, *params))

    # ------------------------------------------------------------------ devices

    def detailed(device: dict[str, Any]) -> dict[str, Any]:
        out = dict(device)
        org = fleet.organizations.get(device["organizationId"], {})
        loc = fleet.locations.get(device["locationId"], {})
        out["references"] = {
            "organization": {k: org.get(k) for k in ("id", "name", "nodeApprovalMode") if k in org},
            "location": {k: loc.get(k) for k in ("id", "name") if k in loc},
        }
        if sim.modes.omit_inventory:
            out.pop("system", None)
            out.pop("os", None)
        return out

    def basic(device: dict[str, Any]) -> dict[str, Any]:
        keep = (
            "id",
            "uid",
            "parentDeviceId",
            "organizationId",
            "locationId",
            "nodeClass",
            "nodeRoleId",
            "rolePolicyId",
            "policyId",
            "approvalStatus",
            "offline",
            "displayName",
            "systemName",
            "dnsName",
            "created",
            "lastContact",
            "lastUpdate",
            "maintenance",
        )
        return {k: device[k] for k in keep if k in device}

    async def devices(request: Request, org_id: int | None = None) -> Response:
        if denied := await admitted(request):
            return denied
        params = page_params(request)
        if isinstance(params, Response):
            return params
        try:
            preds = parse_df(request.query_params.get("df"))
        except DfError as exc:
            return _app_error(400, "INVALID_FILTER", str(exc), sim)
        if org_id is not None:
            preds.append(lambda d: d["organizationId"] == org_id)
        if params[0] is None and sim.modes.empty_first_page > 0:
            sim.modes.empty_first_page -= 1  # the API glitch: a first page of nothing
            return ninja_json([])
        rows = keyset(fleet.devices, *params, preds)
        if sim.modes.row_cost_s:
            await asyncio.sleep(sim.modes.row_cost_s * len(rows))
        shape = detailed if request.url.path.endswith("-detailed") else basic
        return truncated(request, ninja_json(older_app(request, [shape(d) for d in rows], "device")))

    async def devices_of_org(request: Request) -> Response:
        return await devices(request, _int(request.path_params["oid"]))

    async def device(request: Request) -> Response:
        if denied := await admitted(request):
            return denied
        d = fleet.devices.get(_int(request.path_params["did"]))
        if d is None:
            return _app_error(404, "NOT_FOUND", "Device not found", sim)
        if d["nodeClass"] == "VMWARE_VM_HOST":  # the hypervisor shape: no os/system, hardware at the top
            return ninja_json(
                {
                    **basic(d),
                    "ipAddresses": d.get("ipAddresses", []),
                    "macAddresses": d.get("macAddresses", []),
                    "cpuMhz": 2195,
                    "cpuModel": "Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz",
                    "cpuPackages": 2,
                    "cpuThreads": 40,
                    "lastBootTime": round(d["lastContact"] - 86400 * 9, 3),
                    "memorySize": 102715461632,
                    "model": "ProLiant DL380 Gen10",
                    "vendor": "HPE",
                    "serviceTag": f"SGH{d['id']:07d}",
                    "releaseName": "VMware ESXi 8.0.1 build-21813344",
                    "version": "8.0.1",
                    "deviceType": "VMHost",
                }
            )
        return ninja_json(detailed(d))

    async def device_software(request: Request) -> Response:
        if denied := await admitted(request):
            return denied
        did = _int(request.path_params["did"])
        if did not in fleet.devices:
            return _app_error(404, "NOT_FOUND", "Device not found", sim)
        return ninja_json([{k: v for k, v in row.items() if k != "timestamp"} for row in fleet.software_of(did)])

    # ------------------------------------------------------------------ query reports

    def report_rows(report: str, did: int, d: dict[str, Any]) -> list[dict[str, Any]] | None:
        """One device's rows of a query report (§5.2); ``None`` for a report this simulator lacks."""
        stamp = round(d.get("lastUpdate") or sim.now(), 3)
        if report == "software":
            return [{"deviceId": did, **row} for row in fleet.software_of(did)]
        if report == "computer-systems":
            return [{"deviceId": did, **d["system"], "timestamp": stamp}] if isinstance(d.get("system"), dict) else []
        if report == "operating-systems":
            return [{"deviceId": did, **d["os"], "timestamp": stamp}] if isinstance(d.get("os"), dict) else []
        if report == "device-health":
            alerts = sum(1 for a in fleet.alerts.values() if a.device_id == did)
            return [
                {
                    "deviceId": did,
                    "offline": bool(d.get("offline")),
                    "parentOffline": False,
                    "healthStatus": "NEEDS_ATTENTION" if alerts else "HEALTHY",
                    "alertCount": alerts,
                    "pendingOSPatchesCount": 0,
                    "failedOSPatchesCount": 0,
                    "activeJobCount": 0,
                }
            ]
        return None

    async def query_report(request: Request) -> Response:
        """``/v2/queries/<report>``: ``{cursor:{name,offset,count,expires}, results}``, rows ordered by
        device; the final page has ``results: []``; a cursor is bound to its query and expires."""
        if denied := await admitted(request):
            return denied
        report = request.path_params["report"]
        if report_rows(report, 0, {}) is None:
            return _app_error(404, "NOT_FOUND", f"Unknown report {report}", sim)
        q = request.query_params
        try:
            size = min(int(q.get("pageSize") or 1000), sim.modes.max_page_size or 10_000)
        except ValueError:
            return _app_error(400, "BAD_REQUEST", "pageSize must be an integer", sim)
        now = sim.now()
        name = q.get("cursor")
        if name:
            cursor = sim.cursors.get(name)
            if cursor is None or cursor.expires < now or cursor.rows_key[0] != report:
                return _app_error(400, "INVALID_CURSOR", "Cursor expired", sim)
            df = cursor.rows_key[1]  # the cursor is bound to its query: a changed df is ignored
        else:
            df = q.get("df") or ""
            cursor = Cursor("c-" + secrets.token_hex(6), (report, df), 0, now + sim.modes.cursor_ttl_s)
            sim.cursors[cursor.name] = cursor
        try:
            preds = parse_df(df)
        except DfError as exc:
            return _app_error(400, "INVALID_FILTER", str(exc), sim)
        older = instance_of(request) == "fed"
        # Rows are ordered by device id; the offset counts rows, so devices are walked in order.
        results: list[dict[str, Any]] = []
        index = 0
        for did in sorted(fleet.devices):
            d = fleet.devices[did]
            if not all(p(d) for p in preds):
                continue
            rows = report_rows(report, did, d) or []
            if index + len(rows) <= cursor.offset:
                index += len(rows)
                continue
            for row in rows:
                if index >= cursor.offset and len(results) < size:
                    results.append({k: v for k, v in row.items() if not (older and k in NEWER_FIELDS["software"])})
                index += 1
            if len(results) >= size:
                break
        body = {
            "cursor": {"name": cursor.name, "offset": cursor.offset, "count": len(results), "expires": cursor.expires},
            "results": results,
        }
        cursor.offset += len(results)
        return truncated(request, ninja_json(body))

    # ------------------------------------------------------------------ alerts and activities

    def alert_row(a: Any) -> dict[str, Any]:
        row = {
            "uid": a.uid,
            "deviceId": a.device_id,
            "message": a.message,
            "createTime": a.create_time,
            "updateTime": a.create_time,
            "sourceType": a.source_type,
            "sourceConfigUid": a.source_config_uid,
            "sourceName": "",
            "subject": a.subject,
            "data": {
                "message": {
                    "code": "agent_cond_cpu",
                    "params": {"threshold": 90, "start_date": int(a.create_time * 1000)},
                }
            },
        }
        if a.severity:
            row["severity"] = a.severity
        if a.priority:
            row["priority"] = a.priority
        return row

    async def alerts(request: Request) -> Response:
        if denied := await admitted(request):
            return denied
        try:
            preds = parse_df(request.query_params.get("df"))
        except DfError as exc:
            return _app_error(400, "INVALID_FILTER", str(exc), sim)
        rows = [
            alert_row(a)
            for a in fleet.alerts.values()
            if a.device_id in fleet.devices and all(p(fleet.devices[a.device_id]) for p in preds)
        ]
        return truncated(request, ninja_json(older_app(request, rows, "alert")))

    async def alert_reset(request: Request) -> Response:
        if denied := await admitted(request, "management"):
            return denied
        alert = fleet.alerts.pop(request.path_params["uid"], None)
        if alert is None:
            return _app_error(404, "NOT_FOUND", "Alert not found", sim)
        await emit(activity(alert.device_id, "CONDITION", "RESET", series=alert.uid, config=alert.source_config_uid))
        return Response(status_code=204)

    async def alert_delete(request: Request) -> Response:
        if denied := await admitted(request, "management"):
            return denied
        if fleet.alerts.pop(request.path_params["uid"], None) is None:
            return _app_error(404, "NOT_FOUND", "Alert not found", sim)
        return Response(status_code=204)

    async def device_alerts(request: Request) -> Response:
        if denied := await admitted(request):
            return denied
        did = _int(request.path_params["did"])
        if did not in fleet.devices:
            return _app_error(404, "NOT_FOUND", "Device not found", sim)
        return ninja_json([alert_row(a) for a in fleet.alerts.values() if a.device_id == did])

    async def activities(request: Request) -> Response:
        """``{lastActivityId, activities}`` newest first; ``newerThan``/``olderThan`` taken literally."""
        if denied := await admitted(request):
            return denied
        q = request.query_params
        try:
            newer = int(q["newerThan"]) if q.get("newerThan") else None
            older = int(q["olderThan"]) if q.get("olderThan") else None
            size = int(q.get("pageSize") or 200)
        except ValueError:
            return _app_error(400, "BAD_REQUEST", "newerThan, olderThan and pageSize are integers", sim)
        if not 10 <= size <= 1000:
            return _app_error(400, "BAD_REQUEST", "pageSize must be between 10 and 1000", sim)
        rows = [
            a
            for a in reversed(sim.activities)
            if (newer is None or a["id"] > newer)
            and (older is None or a["id"] < older)
            and (not q.get("type") or a["activityType"] == q["type"])
            and (not q.get("status") or a["statusCode"] == q["status"])
            and (not q.get("seriesUid") or a.get("seriesUid") == q["seriesUid"])
        ]
        last = sim.activities[-1]["id"] if sim.activities else 0
        return ninja_json({"lastActivityId": last, "activities": rows[:size]})

    # ------------------------------------------------------------------ webhooks

    async def webhook_by_id(request: Request) -> Response:
        """FED's ``DELETE /v2/webhook/{id}`` variant (§7.1); other instances do not have it."""
        if instance_of(request) != "fed":
            return _app_error(404, "NOT_FOUND", "Not found", sim)
        if denied := await admitted(request, "management"):
            return denied
        sim.webhooks.pop(request.state.token.app.client_id, None)
        return Response(status_code=204)

    async def webhook(request: Request) -> Response:
        if denied := await admitted(request, "management"):
            return denied
        token = request.state.token
        if request.method == "DELETE":
            sim.webhooks.pop(token.app.client_id, None)
            return Response(status_code=204)
        if sim.modes.user_context_required and not token.user_context:
            return _app_error(403, "user_context_required", "This operation requires a user context", sim)
        if not token.app.admin:
            return _app_error(403, "FORBIDDEN", "Only system administrators can configure webhooks", sim)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _app_error(400, "BAD_REQUEST", "invalid JSON", sim)
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            return _app_error(400, "BAD_REQUEST", "url is required", sim)
        if instance_of(request) == "fed" and "organizationIds" in body:
            # FED runs an older app version (§1, §7.1): the newer-spec field is refused.
            return _app_error(400, "BAD_REQUEST", "Unrecognized field organizationIds", sim)
        sim.webhooks[token.app.client_id] = body  # one configuration per client app: a PUT replaces it
        return Response(status_code=204)

    def activity(
        device_id: int | None,
        activity_type: str,
        status_code: str,
        *,
        series: str | None = None,
        config: str | None = None,
        severity: str | None = None,
    ) -> dict[str, Any]:
        now = sim.now()
        body: dict[str, Any] = {
            "id": sim.activity_id(),
            "activityTime": round(now, 3),
            "activityType": activity_type,
            "statusCode": status_code,
            "status": status_code.replace("_", " ").capitalize(),
            "type": activity_type.capitalize(),
            "message": f"{status_code} on device {device_id}",
            "activityResult": "SUCCESS",
        }
        if device_id is not None:
            body["deviceId"] = device_id
        if series:
            body["seriesUid"] = series
        if config:
            body["sourceConfigUid"] = config
            body["sourceName"] = "_average_"
            body["subject"] = ""
            body["data"] = {
                "message": {
                    "code": "agent_cond_cpu",
                    "params": {
                        "end_date": int(now * 1000),
                        "start_date": int((now - 300) * 1000),
                        "threshold": 90,
                        "unit": "%",
                        "value": 93.37,
                    },
                }
            }
        if severity:
            body["severity"] = severity
        return body

    async def emit(event: dict[str, Any]) -> None:
        """Deliver an activity to every stored configuration it passes (exact pairs; org filter)."""
        sim.activities.append(event)
        device = fleet.devices.get(event.get("deviceId", -1))
        for client_id, conf in list(sim.webhooks.items()):
            wanted = conf.get("activities")
            if isinstance(wanted, dict) and event["statusCode"] not in (wanted.get(event["activityType"]) or []):
                continue
            orgs = conf.get("organizationIds")
            if orgs and device is not None and device["organizationId"] not in orgs:
                continue
            payload = dict(event)
            if device is not None and "device" in (conf.get("expand") or []):
                stale = detailed(device)
                stale.pop("system", None)
                stale.pop("os", None)
                # The embedded device is a stale snapshot: its lastContact lags by about a week.
                stale["lastContact"] = stale["lastUpdate"] = round(device["lastContact"] - 7 * 86400, 3)
                payload["device"] = stale
            await _deliver(client_id, conf, payload)

    async def _deliver(client_id: str, conf: dict[str, Any], payload: dict[str, Any]) -> None:
        headers = {h["name"]: h["value"] for h in conf.get("headers") or [] if isinstance(h, dict)}
        headers["Content-Type"] = "application/json"
        body = json.dumps(payload)
        copies = 2 if sim.modes.delivery == "duplicate" else 1
        async with make_client() as client:
            for _ in range(copies):
                for attempt in range(1 + sim.modes.delivery_retries):
                    try:
                        r = await client.post(conf["url"], content=body, headers=headers)
                        status, text = r.status_code, r.text[:500]
                    except httpx.HTTPError as exc:
                        status, text = 0, str(exc)
                    sim.deliveries.append(
                        {
                            "client_id": client_id,
                            "payload": payload,
                            "status": status,
                            "answer": text,
                            "attempt": attempt + 1,
                        }
                    )
                    if 200 <= status < 300:
                        break

    # ------------------------------------------------------------------ control API (/_sim)

    async def sim_state(request: Request) -> Response:
        return JSONResponse(
            {
                "instances": list(INSTANCES),
                "devices": len(fleet.devices),
                "organizations": sorted(fleet.organizations),
                "alerts": len(fleet.alerts),
                "apps": [
                    {
                        "client_id": a.client_id,
                        "instance": a.instance,
                        "grants": sorted(a.grants),
                        "scopes": sorted(a.scopes),
                        "redirect_uris": a.redirect_uris,
                    }
                    for a in sim.apps.values()
                ],
                "webhooks": sim.webhooks,
                "deliveries": len(sim.deliveries),
                "modes": {k: getattr(sim.modes, k) for k in sim.modes.__dataclass_fields__},
            }
        )

    async def sim_modes(request: Request) -> Response:
        body = await request.json()
        for key, value in body.items():
            if key not in sim.modes.__dataclass_fields__:
                return JSONResponse({"error": f"unknown mode {key}"}, status_code=400)
            setattr(sim.modes, key, value)
        return JSONResponse({k: getattr(sim.modes, k) for k in sim.modes.__dataclass_fields__})

    async def sim_faults(request: Request) -> Response:
        if request.method == "DELETE":
            sim.faults.clear()
            return Response(status_code=204)
        body = await request.json()
        fault = sim.faults.add(Fault(**body))
        return JSONResponse({"kind": fault.kind}, status_code=201)

    async def sim_apps(request: Request) -> Response:
        body = await request.json()
        app = sim.apps.get(body.get("client_id", ""))
        if app is None:
            return JSONResponse({"error": "unknown app"}, status_code=404)
        if "redirect_uris" in body:
            app.redirect_uris = list(body["redirect_uris"])
        if "refresh_enabled" in body:
            app.refresh_enabled = bool(body["refresh_enabled"])
        if "admin" in body:
            app.admin = bool(body["admin"])
        return JSONResponse({"client_id": app.client_id, "redirect_uris": app.redirect_uris})

    async def sim_events(request: Request) -> Response:
        """Make the fleet emit activities: ``{"kind": "trigger"|"reset"|"ack"|"node_created"|…, "deviceId": n}``."""
        body = await request.json()
        kind, did = body.get("kind"), body.get("deviceId")
        sent: list[dict[str, Any]] = []
        if kind in ("trigger", "reset", "ack", "cycle"):
            series = body.get("seriesUid") or str(__import__("uuid").uuid4())
            config = body.get("sourceConfigUid") or "205b85b2-8a12-4123-834f-164be08b3314"
            codes = {
                "trigger": ["TRIGGERED"],
                "reset": ["RESET"],
                "ack": ["ACKNOWLEDGED"],
                "cycle": ["TRIGGERED", "RESET"],
            }[kind]
            events = [
                activity(did, "CONDITION", code, series=series, config=config, severity=body.get("severity"))
                for code in codes
            ]
            if kind in ("trigger", "cycle"):
                from .fleet import Alert

                fleet.alerts[series] = Alert(
                    series,
                    did,
                    "CONDITION_AGENT_CPU",
                    config,
                    "",
                    events[0]["message"],
                    events[0]["activityTime"],
                    severity=body.get("severity"),
                )
            if kind in ("reset", "cycle"):
                fleet.alerts.pop(series, None)
            if sim.modes.delivery == "out_of_order":
                events.reverse()
        else:
            code = str(body.get("statusCode") or str(kind).upper())
            events = [activity(did, body.get("activityType") or "SYSTEM", code)]
        for event in events:
            await emit(event)
            sent.append(event)
        return JSONResponse({"sent": sent})

    async def sim_mutate(request: Request) -> Response:
        """``{"op": "create"|"delete"|"move"|"approve"|"delete_org"|"create_org", …}``."""
        import random as _random

        body = await request.json()
        op = body.get("op")
        if op == "create":
            d = new_device(
                fleet,
                _random.Random(fleet.next_device_id),
                int(body["organizationId"]),
                body.get("nodeClass", "WINDOWS_WORKSTATION"),
                sim.now(),
            )
            fleet.devices[d["id"]] = d
            return JSONResponse({"id": d["id"]})
        if op == "delete":
            fleet.devices.pop(int(body["id"]), None)
        elif op == "move":
            d = fleet.devices[int(body["id"])]
            d["organizationId"] = int(body["organizationId"])
            d["locationId"] = next(
                loc["id"] for loc in fleet.locations.values() if loc["organizationId"] == d["organizationId"]
            )
        elif op == "approve":
            fleet.devices[int(body["id"])]["approvalStatus"] = "APPROVED"
        elif op == "touch":
            d = fleet.devices[int(body["id"])]
            for key, value in (body.get("set") or {}).items():
                d[key] = value
        elif op in ("create_org", "rename_org", "delete_org"):
            # Organization ("client") mutations also emit their CLIENT_* activity, as NinjaOne does.
            org = _org_mutation(op, body)
            if org is None:
                return JSONResponse({"error": "unknown organization"}, status_code=404)
            code = {"create_org": "CLIENT_CREATED", "rename_org": "CLIENT_UPDATED", "delete_org": "CLIENT_DELETED"}[op]
            event = activity(None, "SYSTEM", code)
            event["message"] = f"Organization {org['name']} ({org['id']}) {code.split('_')[1].lower()}"
            await emit(event)
            return JSONResponse({"id": org["id"], "activity": event})
        else:
            return JSONResponse({"error": f"unknown op {op}"}, status_code=400)
        return JSONResponse({"ok": True})

    def _org_mutation(op: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if op == "create_org":
            oid = fleet.next_org_id = fleet.next_org_id + 2  # ids stay small and non-contiguous
            org = {
                "id": oid,
                "name": str(body.get("name") or f"Organization {oid}"),
                "description": "",
                "nodeApprovalMode": "AUTOMATIC",
                "userData": {},
            }
            fleet.organizations[oid] = org
            lid = max(fleet.locations, default=0) + 1
            fleet.locations[lid] = {
                "id": lid,
                "name": "Main Office",
                "address": "",
                "description": "",
                "organizationId": oid,
            }
            return org
        oid = int(body["id"])
        if oid not in fleet.organizations:
            return None
        if op == "rename_org":
            fleet.organizations[oid]["name"] = str(body.get("name") or fleet.organizations[oid]["name"])
            return fleet.organizations[oid]
        # Deleting an organization removes its locations and devices with it.
        for lid in [i for i, loc in fleet.locations.items() if loc["organizationId"] == oid]:
            fleet.locations.pop(lid)
        for did in [i for i, d in fleet.devices.items() if d["organizationId"] == oid]:
            fleet.devices.pop(did)
        return fleet.organizations.pop(oid)

    api: list[tuple[str, Callable[..., Any], list[str]]] = [
        ("/organizations", organizations, ["GET"]),
        ("/organizations-detailed", organizations, ["GET"]),
        ("/organization/{oid}", organization, ["GET"]),
        ("/organization/{oid}/locations", org_locations, ["GET"]),
        ("/organization/{oid}/devices", devices_of_org, ["GET"]),
        ("/locations", locations, ["GET"]),
        ("/devices", devices, ["GET"]),
        ("/devices-detailed", devices, ["GET"]),
        ("/device/{did}", device, ["GET"]),
        ("/device/{did}/software", device_software, ["GET"]),
        ("/queries/{report}", query_report, ["GET"]),
        ("/alerts", alerts, ["GET"]),
        ("/alert/{uid}/reset", alert_reset, ["POST"]),
        ("/alert/{uid}", alert_delete, ["DELETE"]),
        ("/device/{did}/alerts", device_alerts, ["GET"]),
        ("/activities", activities, ["GET"]),
        ("/webhook", webhook, ["PUT", "DELETE"]),
        ("/webhook/{wid}", webhook_by_id, ["DELETE"]),
    ]
    routes = [
        Route(f"{prefix}{path}", fn, methods=methods) for prefix in ("/v2", "/api/v2") for path, fn, methods in api
    ]
    for prefix in ("/ws/oauth", "/oauth"):
        routes += [
            Route(f"{prefix}/token", token, methods=["POST"]),
            Route(f"{prefix}/authorize", authorize, methods=["GET", "POST"]),
            Route(f"{prefix}/error", oauth_error, methods=["GET"]),
        ]
    routes += [
        Route("/_sim/state", sim_state),
        Route("/_sim/modes", sim_modes, methods=["POST"]),
        Route("/_sim/faults", sim_faults, methods=["POST", "DELETE"]),
        Route("/_sim/apps", sim_apps, methods=["POST"]),
        Route("/_sim/events", sim_events, methods=["POST"]),
        Route("/_sim/mutate", sim_mutate, methods=["POST"]),
    ]
    inner = Starlette(routes=routes)
    inner.state.sim = sim
    inner.state.emit = emit
    inner.state.background = background
    return _InstancePrefix(inner)  # type: ignore[return-value]


class _InstancePrefix:
    """``/_i/<instance>/…`` → the instance and the rest of the path (a simulator on a real port)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            m = re.match(r"^/_i/([a-z0-9]+)(/.*)$", scope["path"])
            if m and m.group(1) in INSTANCES:
                scope = {
                    **scope,
                    "path": m.group(2),
                    "raw_path": m.group(2).encode(),
                    "ninja_instance": m.group(1),
                    "ninja_prefix": f"/_i/{m.group(1)}",
                }
        await self.app(scope, receive, send)


def _redirect_with(uri: str, params: dict[str, str]) -> Response:
    sep = "&" if "?" in uri else "?"
    return RedirectResponse(
        f"{uri}{sep}{urlencode({k: v for k, v in params.items() if v is not None})}", status_code=302
    )


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        return -1


def _fault_response(fault: Fault, sim: NinjaSimulator) -> Response | None:
    if fault.kind == "rate_limit" or (fault.kind == "status" and fault.status == 429):
        if sim.modes.retry_after_form == "date":
            when = sim.clock() + timedelta(seconds=fault.retry_after_s)
            value = format_datetime(when.astimezone(UTC), usegmt=True)
        else:
            value = str(fault.retry_after_s)
        return JSONResponse(
            {"resultCode": "TOO_MANY_REQUESTS", "errorMessage": "Rate limit exceeded"},
            status_code=429,
            headers={"Retry-After": value},
        )
    if fault.kind == "malformed":
        return Response(MALFORMED_BODY, status_code=200, media_type="application/json")
    if fault.kind == "status":
        return JSONResponse(
            {"resultCode": "SERVER_ERROR", "errorMessage": "injected", "incidentId": "x"}, status_code=fault.status
        )
    return None


def serve(
    host: str = "127.0.0.1",
    port: int = 8030,
    seed: int = 1,
    orgs: int = 6,
    devices: int = 600,
    close_connections: bool = True,
) -> None:
    """Generate a fleet and serve every instance on one port until interrupted."""
    import uvicorn

    from rmmbridge.simulators.connections import ConnectionPolicy, protocol_for

    fleet = generate_fleet(seed=seed, orgs=orgs, devices=devices)
    app = create_app(fleet)
    url = f"http://{host}:{port}"
    print("Simulated NinjaOne (API v2), every regional instance on one port", flush=True)
    print(
        f"  URL (instance {DEFAULT_INSTANCE}):  {url}/_i/{DEFAULT_INSTANCE}   (other regions: /_i/<app|us2|ca|oc|fed>)"
    )
    print(f"  client credentials:   client_id={DEFAULT_CLIENT_ID}  client_secret={DEFAULT_CLIENT_SECRET}")
    print(
        f"  authorization code:   client_id={WEB_CLIENT_ID}  client_secret={WEB_CLIENT_SECRET}"
        "  (register redirect URIs with POST /_sim/apps)"
    )
    print(f"  control API:          {url}/_sim/state")
    print(f"  fleet: seed={seed} organizations={len(fleet.organizations)} devices={len(fleet.devices)}", flush=True)
    http = protocol_for(ConnectionPolicy()) if close_connections else "auto"
    uvicorn.run(app, host=host, port=port, log_level="info", http=http)
