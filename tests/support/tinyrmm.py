"""TinyRMM: a small but real RMM used to drive the provider framework in tests.

It is an HTTP API (a Starlette app) with organizations, cursor-paginated devices, device detail,
active alerts and software, plus fault injection — and a provider that talks to it over HTTP and
implements the contract honestly. Nothing here is mocked: the framework sees exactly what it
would see from a real provider.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rmmbridge.kit.time import parse_iso
from rmmbridge.providers.base import (
    AlertEvent,
    Capability,
    CheckResult,
    DevicePage,
    DeviceSnapshot,
    DeviceSoftware,
    InvalidRecord,
    Provider,
    ProviderAuthError,
    ProviderConfig,
    ProviderConfigError,
    ProviderIncompleteError,
    ProviderRetriableError,
    RemoteScope,
    SoftwareItem,
    WebhookRequest,
)

# ----------------------------------------------------------------------------- the "RMM"


@dataclass
class TinyDevice:
    id: str
    org: str
    hostname: str
    kind: str = "workstation"
    os: str = "Windows 11 Pro"
    serial: str | None = None
    last_seen: datetime | None = None
    ram_gb: int = 16
    user: str | None = None
    software: list[tuple[str, str, str]] = field(default_factory=list)  # name, publisher, version
    broken: bool = False  # normalization must reject it


@dataclass
class TinyFleet:
    orgs: dict[str, str]
    devices: dict[str, TinyDevice]
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_key: str = "tiny-key-123456"
    fail_pages: set[tuple[str, int]] = field(default_factory=set)  # (org, page index) → 500
    delay_s: float = 0.0  # every API answer waits this long (to hold a run open in tests)
    requests: int = 0

    def org_devices(self, org: str) -> list[TinyDevice]:
        return sorted((d for d in self.devices.values() if d.org == org), key=lambda d: d.id)


def make_fleet(orgs: int = 3, devices: int = 30, seed: int = 7, now: datetime | None = None) -> TinyFleet:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    org_map = {f"org-{i}": f"Org {chr(65 + i)}" for i in range(orgs)}
    fleet = TinyFleet(orgs=org_map, devices={})
    for i in range(devices):
        org = f"org-{i % orgs}"
        server = i % 5 == 0
        fleet.devices[f"dev-{i:05d}"] = TinyDevice(
            id=f"dev-{i:05d}",
            org=org,
            hostname=f"HOST-{i:05d}",
            kind="server" if server else "workstation",
            os="Windows Server 2022" if server else "Windows 11 Pro",
            serial=f"SN{i:07d}",
            last_seen=now - timedelta(seconds=rng.choice([10, 30, 600, 4000])),
            ram_gb=rng.choice([8, 16, 32]),
            user=None if server else f"user{i}",
            software=[("Google Chrome", "Google LLC", "120.0"), ("7-Zip", "Igor Pavlov", "23.01")][: 1 + i % 2],
        )
    return fleet


def _device_json(d: TinyDevice) -> dict[str, Any]:
    return {
        "id": d.id,
        "org": d.org,
        "hostname": d.hostname,
        "type": d.kind,
        "os": d.os,
        "serial": d.serial,
        "last_seen": d.last_seen.isoformat() if d.last_seen else None,
        "ram_gb": d.ram_gb,
        "user": d.user,
        **({"hostname": None} if d.broken else {}),
    }


def tiny_app(fleet: TinyFleet) -> Starlette:
    async def auth(request: Request) -> Response | None:
        fleet.requests += 1
        if fleet.delay_s:
            await asyncio.sleep(fleet.delay_s)
        if request.headers.get("x-api-key") != fleet.api_key:
            return JSONResponse({"error": "bad key"}, status_code=401)
        return None

    async def ping(request: Request) -> Response:
        return (await auth(request)) or JSONResponse({"ok": True})

    async def orgs(request: Request) -> Response:
        return (await auth(request)) or JSONResponse([{"id": k, "name": v} for k, v in fleet.orgs.items()])

    async def devices(request: Request) -> Response:
        if denied := await auth(request):
            return denied
        org = request.query_params.get("org", "")
        limit = int(request.query_params.get("limit", "10"))
        cursor = int(request.query_params.get("cursor", "0"))
        if (org, cursor // limit) in fleet.fail_pages:
            return Response("<html>Server Error</html>", status_code=500, media_type="text/html")
        rows = fleet.org_devices(org)
        page = rows[cursor : cursor + limit]
        nxt = cursor + limit if cursor + limit < len(rows) else None
        return JSONResponse({"total": len(rows), "next": nxt, "items": [_device_json(d) for d in page]})

    async def device(request: Request) -> Response:
        if denied := await auth(request):
            return denied
        d = fleet.devices.get(request.path_params["id"])
        return JSONResponse(_device_json(d)) if d else JSONResponse({"error": "not found"}, status_code=404)

    async def alerts(request: Request) -> Response:
        return (await auth(request)) or JSONResponse([a for a in fleet.alerts.values() if a["active"]])

    async def software(request: Request) -> Response:
        if denied := await auth(request):
            return denied
        return JSONResponse(
            [
                {"device": d.id, "software": [{"name": n, "publisher": p, "version": v} for n, p, v in d.software]}
                for d in fleet.devices.values()
            ]
        )

    return Starlette(
        routes=[
            Route("/api/ping", ping),
            Route("/api/orgs", orgs),
            Route("/api/devices", devices),
            Route("/api/devices/{id}", device),
            Route("/api/alerts", alerts),
            Route("/api/software", software),
        ]
    )


# ----------------------------------------------------------------------------- the provider


def normalize(raw: dict[str, Any]) -> DeviceSnapshot:
    """Pure: raw device JSON in, snapshot out."""
    if not raw.get("hostname"):
        raise InvalidRecord(raw.get("id"), "device has no hostname")
    kind = raw.get("type") if raw.get("type") in ("workstation", "server") else "workstation"
    return DeviceSnapshot(
        external_id=str(raw["id"]),
        realm_id=str(raw["org"]),
        name=raw["hostname"],
        asset_type=kind,
        serial_number=raw.get("serial"),
        os_name=raw.get("os"),
        ram_bytes=int(raw["ram_gb"]) * 2**30 if raw.get("ram_gb") else None,
        current_user=raw.get("user"),
        last_seen_at=parse_iso(raw.get("last_seen")),
        offline_after_s=240,
        overdue_after_s=1800,
    )


class TinyConfig(ProviderConfig):
    instance_url: str
    api_key: SecretStr
    page_size: int = 10


class TinyProvider(Provider):
    key: ClassVar[str] = "tinyrmm"
    display_name: ClassVar[str] = "TinyRMM"
    description: ClassVar[str] = "A tiny RMM used by the test suite."
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.connection_test,
            Capability.scope_sync,
            Capability.device_sync,
            Capability.device_refresh,
            Capability.alert_polling,
            Capability.software_inventory,
            Capability.alert_webhook,
        }
    )
    config_model: ClassVar[type[ProviderConfig]] = TinyConfig
    webhook_header: ClassVar[str | None] = "X-Tiny-Secret"

    @property
    def _cfg(self) -> TinyConfig:
        assert isinstance(self.config, TinyConfig)
        return self.config

    def _client(self) -> httpx.AsyncClient:
        return self.ctx.http(self._cfg.instance_url, headers={"X-API-KEY": self._cfg.api_key.get_secret_value()})

    async def _get(self, path: str, **params: Any) -> Any:
        async with self._client() as client:
            try:
                response = await client.get(path, params=params)
            except httpx.TransportError as exc:
                raise ProviderRetriableError(f"cannot reach TinyRMM: {exc}") from exc
        if response.status_code == 401:
            raise ProviderAuthError("TinyRMM does not recognise this API key.")
        if response.status_code >= 500:
            raise ProviderRetriableError(f"TinyRMM answered {response.status_code} for {path}")
        if response.status_code == 404:
            return None
        if "json" not in response.headers.get("content-type", ""):
            raise ProviderConfigError(f"{path} did not answer JSON; is this a TinyRMM?")
        return response.json()

    async def test_connection(self, *, totp_code: str | None = None) -> list[CheckResult]:
        try:
            await self._get("/api/ping")
        except ProviderAuthError as exc:
            return [
                CheckResult("reachable", True, "TinyRMM answered"),
                CheckResult("credentials", False, exc.message, fix="Create a new API key in TinyRMM."),
            ]
        except (ProviderRetriableError, ProviderConfigError) as exc:
            return [CheckResult("reachable", False, exc.message, fix="Check the address.")]
        return [
            CheckResult("reachable", True, "TinyRMM answered"),
            CheckResult("credentials", True, "API key accepted"),
        ]

    async def list_scopes(self) -> list[RemoteScope]:
        return [RemoteScope(o["id"], o["name"]) for o in await self._get("/api/orgs")]

    async def iter_device_pages(self, scope: RemoteScope, *, since: datetime | None = None):  # type: ignore[override]
        cursor: int | None = 0
        seen: set[str] = set()
        total = None
        while cursor is not None:
            body = await self._get("/api/devices", org=scope.external_id, limit=self._cfg.page_size, cursor=cursor)
            total = body["total"]
            snapshots, invalid = [], []
            for raw in body["items"]:
                try:
                    snapshots.append(normalize(raw))
                    seen.add(raw["id"])
                except InvalidRecord as exc:
                    invalid.append(exc)
                    seen.add(raw["id"])
            yield DevicePage(snapshots, invalid, total)
            cursor = body["next"]
        if total is not None and len(seen) != total:
            raise ProviderIncompleteError(f"listed {len(seen)} of {total} devices of {scope.name}")

    async def fetch_device(self, external_id: str, external_ref: str | None = None) -> DeviceSnapshot | None:
        raw = await self._get(f"/api/devices/{external_id}")
        return normalize(raw) if raw else None

    async def iter_alerts(self):  # type: ignore[override]
        for a in await self._get("/api/alerts"):
            yield AlertEvent(
                str(a["id"]), a["device"], a.get("severity", "warning"), "active", message=a.get("message")
            )

    async def iter_software(self):  # type: ignore[override]
        for row in await self._get("/api/software"):
            yield DeviceSoftware(
                row["device"], [SoftwareItem(s["name"], s["publisher"], s["version"]) for s in row["software"]]
            )

    @classmethod
    def parse_webhook(cls, request: WebhookRequest) -> AlertEvent:
        try:
            body = json.loads(request.body)
        except ValueError as exc:
            raise InvalidRecord(None, "body is not JSON") from exc
        if not isinstance(body, dict) or not body.get("device") or not body.get("id"):
            raise InvalidRecord(None, "'device' and 'id' are required")
        return AlertEvent(
            str(body["id"]),
            str(body["device"]),
            body.get("severity", "warning"),
            "resolved" if body.get("resolved") else "active",
            message=body.get("message"),
        )


def move(fleet: TinyFleet, device_id: str, org: str) -> None:
    fleet.devices[device_id] = replace(fleet.devices[device_id], org=org)
