"""NinjaOne end to end through the REST API, on SQLite and PostgreSQL, against the simulator over HTTP.

One test per mistake of reference/ninjaone.md §10 (named after it): each fails if the mistake came back.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from rmmbridge.integrations.factory import build_provider
from rmmbridge.providers.ninjaone import HEADER, NinjaOneProvider, normalize
from rmmbridge.providers.ninjaone import auth as ninja_auth
from rmmbridge.simulators.faults import Fault
from rmmbridge.simulators.ninjaone import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    FUTURE_CLASS,
    WEB_CLIENT_ID,
    WEB_CLIENT_SECRET,
    NinjaFleet,
    NinjaSimulator,
    create_app,
    generate_fleet,
)
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmAlert as Alert
from rmmbridge.storage.models import RmmIntegration, ServerAsset, WorkstationAsset
from tests.conftest import assets_by_device, map_all, run_sync


@dataclass
class Setup:
    tenant: Any
    integration_id: str
    fleet: NinjaFleet
    sim: NinjaSimulator
    host: str
    clients: dict[str, str] | None = None


async def connect(
    http: Any,
    transport: Any,
    tenant: Any,
    app: Any = None,
    *,
    devices: int = 60,
    orgs: int = 3,
    region_key: str = "eu",
    seed: int = 5,
    **values: Any,
) -> Setup:
    fleet = generate_fleet(seed=seed, orgs=orgs, devices=devices, now=datetime.now(UTC))
    client = (
        (lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver"))
        if app
        else None
    )
    sim_app = create_app(fleet, webhook_client=client)
    host = f"sim-{uuid.uuid4().hex[:8]}-{region_key}.ninjarmm.com"
    transport.add(host, sim_app)
    _SIM_APPS[host] = sim_app
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "ninjaone"}, headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    body = {
        "instance_url": f"https://{host}",
        "auth_mode": values.pop("auth_mode", "client_credentials"),
        "values": {
            "region": "custom",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "page_size": 10,
            **values,
        },
    }
    r = await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h, json=body)
    assert r.status_code == 200, r.text
    return Setup(tenant, iid, fleet, sim_app.state.sim, host)


async def connected(http: Any, transport: Any, tenant: Any, app: Any = None, **kw: Any) -> Setup:
    setup = await connect(http, transport, tenant, app, **kw)
    h = tenant.headers()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=h)
    assert r.status_code == 200 and r.json()["ok"], r.text
    return setup


async def synced(http: Any, state: Any, transport: Any, tenant: Any, app: Any, **kw: Any) -> Setup:
    setup = await connected(http, transport, tenant, app, **kw)
    run = await run_sync(http, state, setup, "scopes")
    assert run["status"] == "succeeded", run
    setup.clients = await map_all(http, setup)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    return setup


def approved(fleet: NinjaFleet) -> dict[int, dict[str, Any]]:
    return {i: d for i, d in fleet.devices.items() if d["approvalStatus"] == "APPROVED"}


# --------------------------------------------------------------------------- §10.1


async def test_mistake01_link_header_pagination_truncates(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    """No Link header, no cursor, and a server that silently caps pageSize: every device still arrives."""
    setup = await connected(http, transport, tenant, app, devices=80)
    setup.sim.modes.max_page_size = 4  # asked for 10, gets 4: a client stopping on a short page ends early
    assert (await run_sync(http, state, setup, "scopes"))["status"] == "succeeded"
    await map_all(http, setup)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    assets = await assets_by_device(db, setup)
    assert set(assets) == {str(i) for i in approved(setup.fleet)}
    listed = [p for m, p in setup.sim.requests if "/devices-detailed" in p]
    assert any("after=" in p for p in listed) and all("cursor" not in p for p in listed)


# --------------------------------------------------------------------------- §10.2


async def test_mistake02_mass_delete_from_incomplete_lists(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await synced(http, state, transport, tenant, app)
    before = await assets_by_device(db, setup)
    # The API glitch: an empty array in place of page 1 (twice, so the provider's retry sees it too).
    setup.sim.modes.empty_first_page = 100
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] in ("partial", "failed"), run  # failed: every organization glitched
    assert "missing ratio guard" in json.dumps(run["errors"]) or run["errors"]
    after = await assets_by_device(db, setup, refresh=True)
    assert set(after) == set(before)
    assert all(a.missing_since is None and a.status == "active" for a in after.values())
    setup.sim.modes.empty_first_page = 0
    # A walk that breaks at page k is a failed scope: nothing goes missing either.
    setup.sim.faults.add(Fault("status", path_contains="/devices-detailed", query_contains="after=", status=503))
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] in ("partial", "failed"), run
    after = await assets_by_device(db, setup, refresh=True)
    assert all(a.missing_since is None for a in after.values())


# --------------------------------------------------------------------------- §10.3


async def test_mistake03_org_moves_create_duplicates(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await synced(http, state, transport, tenant, app)
    clients = setup.clients or {}
    before = await assets_by_device(db, setup)
    device = next(d for d in approved(setup.fleet).values() if d["organizationId"] == min(setup.fleet.organizations))
    target = max(setup.fleet.organizations)
    setup.fleet.devices[device["id"]]["organizationId"] = target
    setup.fleet.devices[device["id"]]["locationId"] = next(
        loc["id"] for loc in setup.fleet.locations.values() if loc["organizationId"] == target
    )
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    after = await assets_by_device(db, setup, refresh=True)
    assert len(after) == len(before)
    moved = after[str(device["id"])]
    assert moved.id == before[str(device["id"])].id
    assert moved.rmm_organization_id == str(target) and str(moved.client_id) == clients[str(target)]
    assert moved.missing_since is None


# --------------------------------------------------------------------------- §10.4


async def test_mistake04_seconds_read_as_milliseconds(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await synced(http, state, transport, tenant, app)
    assets = await assets_by_device(db, setup)
    year = datetime.now(UTC).year
    for ext, asset in assets.items():
        contact = setup.fleet.devices[int(ext)]["lastContact"]
        assert asset.last_seen_at is not None
        seen = asset.last_seen_at.replace(tzinfo=UTC) if asset.last_seen_at.tzinfo is None else asset.last_seen_at
        assert abs(seen.timestamp() - contact) < 1 and seen.year >= year - 1
    # Nine-decimal REST seconds, three-decimal webhook seconds, millisecond params (never read as times).
    assert normalize.epoch_seconds(1742412252.744000000).year == 2025
    event = normalize.activity_alert(
        {
            "id": 1,
            "activityTime": 1742391675.556,
            "deviceId": 7,
            "statusCode": "TRIGGERED",
            "seriesUid": "s",
            "data": {"message": {"params": {"end_date": 1742391675556}}},
        }
    )
    assert event.raised_at is not None and event.raised_at.year == 2025
    snap = normalize.device_snapshot(
        {"id": 1, "organizationId": 2, "lastContact": 1742412252.744, "os": {"lastBootTime": 1742000000.123456}},
        datetime.now(UTC),
    )
    assert snap.boot_time is not None and snap.boot_time.year == 2025


# --------------------------------------------------------------------------- §10.5, §10.6, §10.7, §10.8


async def provisioned(http: Any, state: Any, transport: Any, tenant: Any, app: Any) -> Setup:
    setup = await synced(http, state, transport, tenant, app)
    r = await http.post(
        f"/api/v1/integrations/{setup.integration_id}/webhook/provision",
        json={"send_test": False},
        headers=tenant.headers(),
    )
    assert r.status_code == 200 and r.json()["ok"], r.text
    return setup


async def test_mistake05_webhook_authentication_bypass(http, state, transport, tenant, app) -> None:  # type: ignore[no-untyped-def]
    setup = await connected(http, transport, tenant, app)
    payload = {
        "id": 1,
        "activityTime": 1742391675.556,
        "deviceId": 1,
        "activityType": "CONDITION",
        "statusCode": "TRIGGERED",
        "seriesUid": str(uuid.uuid4()),
    }
    # An integration without a secret: no header, an empty header, a guessed header — all 401.
    for headers in ({}, {HEADER: ""}, {HEADER: "guess"}, {"X-Ninja-Signature": "sha256=abc"}):
        r = await http.post("/api/webhooks/ninjaone", json=payload, headers=headers)
        assert r.status_code == 401, (headers, r.text)
    assert setup.sim.webhooks == {}


async def test_mistake06_cross_tenant_routing_by_org_id(http, state, transport, tenant, other_tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    a = await provisioned(http, state, transport, tenant, app)
    b = await provisioned(http, state, transport, other_tenant, app)  # same seed: the same small org ids
    assert set(a.fleet.organizations) == set(b.fleet.organizations)
    device = next(iter(approved(b.fleet)))
    await _sim_event(b, {"kind": "trigger", "deviceId": device})
    delivered = [d for d in b.sim.deliveries if d["status"] == 202]
    assert delivered, b.sim.deliveries
    alerts_b = (await db.scalars(select(Alert).where(Alert.tenant_id == other_tenant.tenant_id))).all()
    alerts_a = (await db.scalars(select(Alert).where(Alert.tenant_id == tenant.tenant_id))).all()
    assert len(alerts_b) == 1 and not alerts_a


async def _sim_event(setup: Setup, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_sim_app(setup)), base_url=f"https://{setup.host}"
    ) as c:
        r = await c.post("/_sim/events", json=body)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


_SIM_APPS: dict[str, Any] = {}


def _sim_app(setup: Setup) -> Any:
    return _SIM_APPS[setup.host]


async def test_mistake07_wrong_payload_fields(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await provisioned(http, state, transport, tenant, app)
    secret = (
        await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/reveal", headers=tenant.headers())
    ).json()["secret"]
    series = str(uuid.uuid4())
    device = next(iter(approved(setup.fleet)))
    # Real shape: no top-level organizationId; display texts are "Triggered"/"Condition".
    trigger = {
        "id": 9001,
        "activityTime": 1742391675.556,
        "deviceId": device,
        "seriesUid": series,
        "activityType": "CONDITION",
        "statusCode": "TRIGGERED",
        "status": "Triggered",
        "type": "Condition",
        "sourceConfigUid": "cfg-1",
        "message": "CPU high",
    }
    r = await http.post("/api/webhooks/ninjaone", json=trigger, headers={HEADER: secret})
    assert r.status_code == 202, r.text
    # Dispatch on statusCode, not on the (localizable) display texts.
    reset = {**trigger, "id": 9002, "activityTime": 1742392575.101, "statusCode": "RESET", "status": "Triggered"}
    r = await http.post("/api/webhooks/ninjaone", json=reset, headers={HEADER: secret})
    assert r.status_code == 202, r.text
    row = (await db.scalars(select(Alert).where(Alert.tenant_id == tenant.tenant_id))).one()
    assert row.status == "resolved"


async def test_mistake08_alert_identity_is_the_activity_id(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await provisioned(http, state, transport, tenant, app)
    device = next(iter(approved(setup.fleet)))
    sent = (await _sim_event(setup, {"kind": "cycle", "deviceId": device}))["sent"]
    assert sent[0]["id"] != sent[1]["id"] and sent[0]["seriesUid"] == sent[1]["seriesUid"]
    rows = (await db.scalars(select(Alert).where(Alert.tenant_id == tenant.tenant_id))).all()
    assert len(rows) == 1 and rows[0].status == "resolved" and rows[0].external_alert_id == sent[0]["seriesUid"]
    # Outbound reset uses the uid (= series uid); an activity id is a 404 ("already gone"), never a reset.
    trig = (await _sim_event(setup, {"kind": "trigger", "deviceId": device}))["sent"][0]
    async with unit_of_work(state.sessionmaker) as s:
        row = await s.get(RmmIntegration, (tenant.tenant_id, uuid.UUID(setup.integration_id)))
        provider = await build_provider(state, s, row)
    try:
        assert await provider.reset_alert(str(trig["id"])) is False  # type: ignore[attr-defined]
        assert trig["seriesUid"] in setup.fleet.alerts
        assert await provider.reset_alert(trig["seriesUid"]) is True  # type: ignore[attr-defined]
        assert trig["seriesUid"] not in setup.fleet.alerts
    finally:
        await provider.aclose()
    # Two conditions on one device stay two alerts (condition identity is not the statusCode).
    await _sim_event(setup, {"kind": "trigger", "deviceId": device, "sourceConfigUid": "cfg-a"})
    await _sim_event(setup, {"kind": "trigger", "deviceId": device, "sourceConfigUid": "cfg-b"})
    active = (
        await db.scalars(select(Alert).where(Alert.tenant_id == tenant.tenant_id, Alert.status == "active"))
    ).all()
    assert len(active) == 2


# --------------------------------------------------------------------------- §10.9


async def test_mistake09_n_plus_one_calls(http, state, transport, tenant, app) -> None:  # type: ignore[no-untyped-def]
    setup = await synced(http, state, transport, tenant, app, devices=90)
    setup.sim.requests.clear()
    await run_sync(http, state, setup, "devices")
    await run_sync(http, state, setup, "software")
    paths = [p for _, p in setup.sim.requests]
    assert not [p for p in paths if p.startswith("/v2/device/")], "per-device calls"
    orgs = len(setup.fleet.organizations)
    pages = sum(1 for p in paths if "/devices-detailed" in p)
    assert pages <= orgs * (90 // 10 + 2)
    assert sum(1 for p in paths if "/organizations" in p) == 0  # a device sync does not re-list organizations


# --------------------------------------------------------------------------- §10.10


async def _auth_code_tokens(setup: Setup, redirect: str = "https://psa.example/cb") -> dict[str, Any]:
    sim_app = _sim_app(setup)
    setup.sim.apps[WEB_CLIENT_ID].redirect_uris = [redirect]
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=f"https://{setup.host}") as c:
        q = {
            "response_type": "code",
            "client_id": WEB_CLIENT_ID,
            "redirect_uri": redirect,
            "state": "s1",
            "scope": "monitoring management offline_access",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        r = await c.post("/ws/oauth/authorize", params=q, data={"decision": "allow"})
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        r = await c.post(
            "/ws/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": WEB_CLIENT_ID,
                "client_secret": WEB_CLIENT_SECRET,
                "code_verifier": verifier,
            },
        )
        return r.json()  # type: ignore[no-any-return]


async def test_mistake10_refresh_token_races(http, state, transport, tenant, app) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(
        http,
        transport,
        tenant,
        app,
        auth_mode="authorization_code",
        client_id=WEB_CLIENT_ID,
        client_secret=WEB_CLIENT_SECRET,
    )
    tokens = await _auth_code_tokens(setup)
    iid = uuid.UUID(setup.integration_id)
    prefix = f"integration/{iid}/cred/"
    async with unit_of_work(state.sessionmaker) as s:  # what the callback stores; the access token has expired
        await state.secrets.put(s, tenant.tenant_id, prefix + ninja_auth.ACCESS, "expired-token")
        await state.secrets.put(s, tenant.tenant_id, prefix + ninja_auth.EXPIRES, "1.0")
        await state.secrets.put(s, tenant.tenant_id, prefix + ninja_auth.REFRESH, tokens["refresh_token"])
    r = await http.post(f"/api/v1/integrations/{iid}/test", headers=tenant.headers())
    assert r.json()["ok"], r.text
    async with unit_of_work(state.sessionmaker) as s:
        await state.secrets.put(s, tenant.tenant_id, prefix + ninja_auth.EXPIRES, "1.0")
    # Two "processes": two provider instances of the same integration, refreshing at the same time.
    providers: list[NinjaOneProvider] = []
    for _ in range(3):
        async with unit_of_work(state.sessionmaker) as s:
            row = await s.get(RmmIntegration, (tenant.tenant_id, iid))
            providers.append(await build_provider(state, s, row))  # type: ignore[arg-type]
    setup.sim.token_requests.clear()
    try:
        results = await asyncio.gather(*(p.list_scopes() for p in providers))
    finally:
        for p in providers:
            await p.aclose()
    assert all(r for r in results)
    refreshes = [t for t in setup.sim.token_requests if t.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1, refreshes  # re-read under the row lock: the others used its token
    async with unit_of_work(state.sessionmaker) as s:
        stored = await state.secrets.get_many(s, tenant.tenant_id, prefix)
    assert stored[ninja_auth.REFRESH] != tokens["refresh_token"]  # the rotated one was stored
    # A refresh answered without a refresh_token keeps the stored one.
    setup.sim.modes.rotate_refresh = False
    async with unit_of_work(state.sessionmaker) as s:
        await state.secrets.put(s, tenant.tenant_id, prefix + ninja_auth.EXPIRES, "1.0")
        row = await s.get(RmmIntegration, (tenant.tenant_id, iid))
        provider = await build_provider(state, s, row)
    try:
        await provider.list_scopes()
    finally:
        await provider.aclose()
    async with unit_of_work(state.sessionmaker) as s:
        kept = await state.secrets.get_many(s, tenant.tenant_id, prefix)
    assert kept[ninja_auth.REFRESH] == stored[ninja_auth.REFRESH]
    # A refused refresh is terminal: the integration needs re-authentication, with a clear message.
    assert (await run_sync(http, state, setup, "scopes"))["status"] == "succeeded"
    setup.sim.modes.revoked = True
    async with unit_of_work(state.sessionmaker) as s:
        await state.secrets.put(s, tenant.tenant_id, prefix + ninja_auth.EXPIRES, "1.0")
    await map_all(http, setup)
    r = await http.post(f"/api/v1/integrations/{iid}/test", headers=tenant.headers())
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "failed"
    r = await http.get(f"/api/v1/integrations/{iid}", headers=tenant.headers())
    assert r.json()["state"] == "needs_reauth" and "reconnect" in r.json()["state_message"].lower()


# --------------------------------------------------------------------------- §10.11


async def test_mistake11_scopes_and_grants(http, state, transport, tenant, app) -> None:  # type: ignore[no-untyped-def]
    setup = await connected(http, transport, tenant, app)
    grants = [t for t in setup.sim.token_requests if t.get("grant_type") == "client_credentials"]
    assert grants and all("offline_access" not in t.get("scope", "") for t in grants)
    assert all("control" not in t.get("scope", "") for t in grants)  # no remote actions: no control
    h = tenant.headers()
    r = await http.put(
        f"/api/v1/integrations/{setup.integration_id}/credentials",
        headers=h,
        json={"values": {"enable_remote_actions": True}},
    )
    assert r.status_code == 200, r.text
    setup.sim.token_requests.clear()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=h)
    assert r.json()["ok"], r.text
    assert "control" in setup.sim.token_requests[-1]["scope"]
    # An app not given a scope: a named check with a fix, not an exception.
    setup.sim.apps[DEFAULT_CLIENT_ID].scopes = frozenset({"monitoring", "management"})
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=h)
    failed = [c for c in r.json()["checks"] if not c["ok"]]
    assert failed and failed[0]["name"] == "Grant and scopes accepted" and failed[0]["fix"]


# --------------------------------------------------------------------------- §10.12


async def test_mistake12_secrets_handling(http, state, transport, tenant, app, db, capsys) -> None:  # type: ignore[no-untyped-def]
    setup = await provisioned(http, state, transport, tenant, app)
    conf = setup.sim.webhooks[DEFAULT_CLIENT_ID]
    header = conf["headers"][0]
    assert header["name"] == HEADER and "secret" not in conf["url"] and "?" not in conf["url"]
    row = await db.get(RmmIntegration, (tenant.tenant_id, uuid.UUID(setup.integration_id)))
    await db.refresh(row)
    assert header["value"] not in json.dumps(row.settings) and row.webhook_secret_digest
    logged = capsys.readouterr()
    assert header["value"] not in logged.out + logged.err


# --------------------------------------------------------------------------- §10.13


async def test_mistake13_unchanged_check_too_narrow(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await synced(http, state, transport, tenant, app)
    device = next(d for d in approved(setup.fleet).values() if "os" in d)
    device["os"] = {**device["os"], "name": "Windows 11 Enterprise"}
    device["ipAddresses"] = ["10.99.99.99"]
    device["lastLoggedInUser"] = "CORP\\someone-else"
    run = await run_sync(http, state, setup, "devices")
    assert run["counters"]["updated"] >= 1, run
    asset = (await assets_by_device(db, setup))[str(device["id"])]
    table = ServerAsset if asset.asset_type == "server" else WorkstationAsset
    ext = await db.get(table, (tenant.tenant_id, asset.id))
    await db.refresh(ext)
    assert ext.os_name == "Windows 11 Enterprise" and ext.primary_ip == "10.99.99.99"
    assert ext.current_user == "CORP\\someone-else"


# --------------------------------------------------------------------------- §10.14


async def test_mistake14_fabricated_and_assumed_data(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await synced(http, state, transport, tenant, app, devices=40)
    assets = await assets_by_device(db, setup)
    future = next(i for i, d in setup.fleet.devices.items() if d["nodeClass"] == FUTURE_CLASS)
    assert assets[str(future)].asset_type == "unknown"
    for cls, expected in (
        ("NMS_SWITCH", "unknown"),
        ("NMS", "unknown"),
        ("VMWARE_VM_HOST", "server"),
        ("WINDOWS_WORKSTATION", "workstation"),
        ("HYPERV_VMM_GUEST", "server"),
    ):
        assert normalize.asset_type_of(cls) == expected
    # A VMware host without os/system: nothing is made up for it.
    host = next(i for i, d in setup.fleet.devices.items() if d["nodeClass"] == "VMWARE_VM_HOST")
    snap = normalize.device_snapshot(setup.fleet.devices[host], datetime.now(UTC))
    assert snap.os_name is None and snap.serial_number is None and "os_name" not in (snap.reported or ())


# --------------------------------------------------------------------------- §10.15


async def test_mistake15_region_bookkeeping(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant, app)
    h = tenant.headers()
    r = await http.put(
        f"/api/v1/integrations/{setup.integration_id}/credentials", headers=h, json={"values": {"region": "eu"}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["instance_url"] == "https://eu.ninjarmm.com" and r.json()["settings"]["region"] == "eu"
    r = await http.put(
        f"/api/v1/integrations/{setup.integration_id}/credentials", headers=h, json={"values": {"region": "us2"}}
    )
    assert r.json()["instance_url"] == "https://us2.ninjarmm.com" and r.json()["settings"]["region"] == "us2"
    r = await http.put(
        f"/api/v1/integrations/{setup.integration_id}/credentials",
        headers=h,
        json={"instance_url": "https://evil.example.com", "values": {"region": "custom"}},
    )
    assert r.status_code == 422, r.text
    # The wrong region: the client app lives on eu, rmmbridge asks us2 → a named check saying so.
    wrong = f"sim-{uuid.uuid4().hex[:6]}-us2.ninjarmm.com"
    transport.add(wrong, _sim_app(setup))
    r = await http.put(
        f"/api/v1/integrations/{setup.integration_id}/credentials",
        headers=h,
        json={"instance_url": f"https://{wrong}", "values": {"region": "custom"}},
    )
    assert r.status_code == 200, r.text
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=h)
    failed = [c for c in r.json()["checks"] if not c["ok"]]
    assert failed and "does not exist on" in failed[0]["message"] and wrong in failed[0]["message"]
