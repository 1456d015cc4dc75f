"""Tactical RMM end to end through the REST API, on SQLite and PostgreSQL: configure (API key and
password sign-in), test, scopes, mapping, devices, client moves, single-agent refresh, alerts,
software and webhooks."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from rmmbridge.integrations.factory import credential_prefix
from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, create_app, generate_fleet, totp
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import AssetSoftware, RmmAlert, SoftwareCatalog
from rmmbridge.sync.runner import runner_of
from rmmbridge.sync.service import request_sync
from tests.conftest import assets_by_device, map_all, run_sync

CREDS = DEFAULT_CREDENTIALS


@dataclass
class Setup:
    tenant: Any
    integration_id: str
    app: Any
    fleet: Any
    host: str


async def connect(http: Any, transport: Any, tenant: Any, mode: str = "api_key", **values: str) -> Setup:
    fleet = generate_fleet(seed=31, clients=3, agents=45, sites_per_client=2, now=datetime.now(UTC))
    app = create_app(fleet, login_rate_per_minute=1000)
    host = f"api-{uuid.uuid4().hex[:8]}.example.com"
    transport.add(host, app)
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "tacticalrmm"}, headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    if mode == "api_key":
        values = values or {"api_key": CREDS.api_key}
    else:
        values = values or {"username": CREDS.username, "password": CREDS.password}
    r = await http.put(
        f"/api/v1/integrations/{iid}/credentials",
        headers=h,
        json={"instance_url": f"https://{host}/beta/v1/", "auth_mode": mode, "values": values},
    )
    assert r.status_code == 200, r.text
    assert r.json()["instance_url"] == f"https://{host}"  # normalised
    return Setup(tenant, iid, app, fleet, host)


async def check_connection(http: Any, setup: Setup, code: str | None = None) -> dict[str, Any]:
    body = {"totp_code": code} if code else None
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=setup.tenant.headers(), json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_api_key_flow_end_to_end(http, state, transport, tenant, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant)
    fleet = setup.fleet
    h = tenant.headers()
    result = await check_connection(http, setup)
    assert result["ok"], result
    assert [c["name"] for c in result["checks"]][:3] == ["Reachable", "API host, not dashboard", "Host accepted"]
    integ = result["integration"]
    assert integ["state"] == "connected" and integ["credentials"]["api_key"].endswith(CREDS.api_key[-4:])
    assert CREDS.api_key not in json.dumps(integ)

    run = await run_sync(http, state, setup, "scopes")
    assert run["status"] == "succeeded" and run["counters"]["created"] == len(fleet.clients)
    clients = await map_all(http, setup)
    assert set(clients) == {str(c) for c in fleet.clients}

    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    assert run["complete_snapshot"] is True and run["counters"]["created"] == len(fleet.agents)
    assets = await assets_by_device(db, setup)
    assert len(assets) == len(fleet.agents)

    # Fields: serial, make/model, LAN IP, "None" user → null, uptime inputs, client and site.
    windows = next(
        a for a in fleet.agents.values()
        if a.plat == "windows" and a.last_seen is not None and a.logged_in_username == "None" and not a.legacy_wmi
    )  # fmt: skip
    asset = assets[windows.agent_id]
    out = (await http.get(f"/api/v1/assets/{asset.id}", headers=h)).json()
    async with _tactical(setup) as tactical:
        detail = (await tactical.get(f"/beta/v1/agent/{windows.pk}/")).json()
    assert out["serial_number"] == detail["serial_number"] and out["serial_number"]
    assert f"{out['details']['manufacturer']} {out['details']['model']}" == detail["make_model"]
    assert out["details"]["primary_ip"] == detail["local_ips"].split(", ")[0]
    assert out["details"]["current_user"] is None and out["current_user"] is None
    assert out["details"]["boot_time"] and out["last_seen_at"] and out["details"]["uptime_seconds"] > 0
    assert out["offline_after_s"] == windows.offline_time * 60 and out["overdue_after_s"] == windows.overdue_time * 60
    assert out["client_id"] == clients[str(fleet.client_id_of(windows))]
    assert out["rmm_site_id"] == str(windows.site_id) and out["rmm_site_name"] == fleet.sites[windows.site_id].name
    assert out["agent_status"] == detail["status"]
    mapping = next(m for m in out["mappings"] if m["integration_id"] == setup.integration_id)
    assert mapping["external_ref"] == str(windows.pk) and mapping["realm_id"] == str(fleet.client_id_of(windows))

    # An agent moved to another client is updated in place (same asset, new client).
    old_client = fleet.client_id_of(windows)
    new_site = next(s for s in fleet.sites.values() if s.client_id != old_client)
    fleet.move_agent(windows.pk, new_site.id)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    assets = await assets_by_device(db, setup)
    assert len(assets) == len(fleet.agents)
    moved = (await http.get(f"/api/v1/assets/{asset.id}", headers=h)).json()
    assert moved["client_id"] == clients[str(new_site.client_id)] and moved["rmm_site_id"] == str(new_site.id)

    # Single-agent refresh by pk creates a new agent's asset.
    new_agent = fleet.add_agent(new_site.id, kind="win_srv", last_seen=datetime.now(UTC))
    async with unit_of_work(state.sessionmaker) as session:
        started = await request_sync(
            state, session, tenant.admin_ctx, uuid.UUID(setup.integration_id), "agent", "api",
            {"external_id": new_agent.agent_id, "external_ref": str(new_agent.pk)},
        )  # fmt: skip
        run_id = started.run.id
    await runner_of(state).wait(run_id, timeout=60)
    run = (await http.get(f"/api/v1/sync-runs/{run_id}", headers=h)).json()
    assert run["status"] == "succeeded" and run["counters"]["created"] == 1, run
    assets = await assets_by_device(db, setup)
    assert new_agent.agent_id in assets and assets[new_agent.agent_id].asset_type == "server"

    # Alerts: only unresolved ones are upserted; what disappeared is resolved.
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "succeeded", run
    open_ids = {str(a.id) for a in fleet.alerts.values() if not a.resolved and a.agent_pk is not None}
    local = (await db.scalars(select(RmmAlert).where(RmmAlert.integration_id == uuid.UUID(setup.integration_id)))).all()
    assert {a.external_alert_id for a in local} == open_ids and all(a.status == "active" for a in local)
    assert all(a.severity in ("info", "warning", "error") for a in local)
    linked = [a for a in local if a.asset_id is not None]
    assert linked
    gone = next(iter(sorted(open_ids, key=int)))
    fleet.resolve_alert(int(gone))
    run = await run_sync(http, state, setup, "alerts")
    assert run["counters"]["resolved"] == 1, run
    resolved = await db.scalar(
        select(RmmAlert).where(
            RmmAlert.integration_id == uuid.UUID(setup.integration_id), RmmAlert.external_alert_id == gone
        )
    )
    await db.refresh(resolved)
    assert resolved.status == "resolved" and resolved.resolved_at is not None

    # Software: catalog and per-asset rows; an item that disappears is marked uninstalled.
    run = await run_sync(http, state, setup, "software")
    assert run["status"] == "succeeded", run
    with_inventory = [a for a in fleet.agents.values() if a.software_id is not None]
    assert run["counters"]["devices"] == len(with_inventory) and run["counters"]["devices_unknown"] == 0
    catalog = await db.scalar(select(func.count()).select_from(SoftwareCatalog).where(
        SoftwareCatalog.tenant_id == tenant.tenant_id))  # fmt: skip
    assert catalog and catalog > 10
    target = with_inventory[0]
    target_asset = assets[target.agent_id]
    before = (await db.scalars(select(AssetSoftware).where(AssetSoftware.asset_id == target_asset.id))).all()
    assert before and all(s.is_current for s in before)

    from rmmbridge.simulators.tacticalrmm import serializers

    original = serializers.software_items

    def without_first(fleet_: Any, agent: Any) -> list[dict[str, Any]]:
        items = original(fleet_, agent)
        return items[1:] if agent.pk == target.pk else items

    monkeypatch.setattr(serializers, "software_items", without_first)
    run = await run_sync(http, state, setup, "software")
    assert run["status"] == "succeeded" and run["counters"]["uninstalled"] >= 1, run
    sw = (await http.get(f"/api/v1/assets/{target_asset.id}/software?current=false", headers=h)).json()
    assert sw["total"] >= 1 and all(item["uninstalled_at"] for item in sw["items"])
    first_name = original(fleet, target)[0]["name"]
    assert first_name in {item["name"] for item in sw["items"]}


async def test_password_sign_in_flow(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant, mode="password")
    result = await check_connection(http, setup)
    assert result["ok"], result
    token = await _secret(state, setup, "token")
    assert token and token in setup.app.auth.tokens
    await run_sync(http, state, setup, "scopes")
    await map_all(http, setup)
    # The token dies (e.g. unused for 5 h): the next sync signs in again with the stored password.
    setup.app.auth.expire(token)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    assert run["counters"]["created"] == len(setup.fleet.agents)
    renewed = await _secret(state, setup, "token")
    assert renewed and renewed != token and renewed in setup.app.auth.tokens
    # Disconnect logs the Knox token out.
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/disconnect", headers=tenant.headers())
    assert r.status_code == 200, r.text
    assert renewed not in setup.app.auth.tokens


async def test_totp_sign_in_flow(http, state, transport, tenant) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(
        http, transport, tenant, mode="password", username=CREDS.totp_username, password=CREDS.totp_password
    )
    result = await check_connection(http, setup)
    assert not result["ok"] and result["totp_required"] and result["integration"]["state"] == "needs_reauth"
    result = await check_connection(http, setup, code=totp(CREDS.totp_secret, datetime.now(UTC)))
    assert result["ok"], result
    await run_sync(http, state, setup, "scopes")
    # The session dies: a TOTP account cannot sign in unattended → "sign-in required".
    setup.app.auth.expire(await _secret(state, setup, "token"))
    run = await run_sync(http, state, setup, "scopes")
    assert run["status"] == "failed" and "Tactical sign-in required" in json.dumps(run["errors"]), run
    integ = (await http.get(f"/api/v1/integrations/{setup.integration_id}", headers=tenant.headers())).json()
    assert integ["state"] == "needs_reauth"


async def test_webhook_delivery_records_alert_and_refreshes_a_new_agent(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant)
    assert (await check_connection(http, setup))["ok"]
    await run_sync(http, state, setup, "scopes")
    await map_all(http, setup)
    h = tenant.headers()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/rotate", headers=h)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    info = r.json()["info"]
    assert info["header"] == "X-Webhook-Secret" and info["header_aliases"] == ["X-Alga-Webhook-Secret"]
    template = info["templates"]["failure"]

    fleet = setup.fleet
    site = next(iter(fleet.sites.values()))
    agent = fleet.add_agent(site.id, last_seen=datetime.now(UTC))
    values = {
        "{{alert.id}}": "90001", "{{alert.alert_type}}": "check", "{{alert.severity}}": "warning",
        "{{alert.alert_time}}": "2025-11-22 10:58:03.407861+00:00", "{{agent.agent_id}}": agent.agent_id,
        "{{agent.id}}": str(agent.pk), "{{agent.hostname}}": agent.hostname, "{{client.id}}": str(site.client_id),
        "{{site.id}}": str(site.id), "{{alert.assigned_check.id}}": "12", "{{alert.assigned_task.id}}": "None",
        "{{alert.message}}": f'{agent.hostname} has a script check: Script Check: "Backup" that failed.',
    }  # fmt: skip
    rendered = template
    for var, value in values.items():
        rendered = rendered.replace(var, value)
    body = json.dumps(rendered)  # the quote broke the JSON: Tactical sends it as a string literal
    r = await http.post("/api/webhooks/tacticalrmm", content=body, headers={"X-Alga-Webhook-Secret": secret})
    assert r.status_code == 202, r.text
    refresh = r.json()["refresh_run_id"]
    assert refresh
    await runner_of(state).wait(uuid.UUID(refresh), timeout=60)
    assets = await assets_by_device(db, setup)
    assert agent.agent_id in assets  # the agent's pk from the payload created its asset
    alert = await db.scalar(select(RmmAlert).where(
        RmmAlert.integration_id == uuid.UUID(setup.integration_id), RmmAlert.external_alert_id == "90001"))  # fmt: skip
    assert alert is not None and alert.severity == "warning" and alert.status == "active"
    # The answer names both: rmmbridge's alert and Tactical's own alert id.
    assert r.json()["alert_id"] == str(alert.id) and r.json()["external_alert_id"] == "90001"

    resolved = info["templates"]["resolved"]
    for var, value in {**values, "{{alert.resolved_on}}": "2025-11-22 11:58:03+00:00"}.items():
        resolved = resolved.replace(var, value)
    # The rotate answer's headers template carries the new secret: pasted as is, it authenticates.
    headers = json.loads(info["templates"]["headers"])
    assert headers == {"Content-Type": "application/json", "X-Webhook-Secret": secret}
    r = await http.post("/api/webhooks/tacticalrmm", content=resolved, headers=headers)
    assert r.status_code == 202, r.text
    assert r.json()["outcome"] == "resolved" and r.json()["external_alert_id"] == "90001"


async def test_bad_instance_urls_are_422_with_a_reason(http, tenant) -> None:  # type: ignore[no-untyped-def]
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "tacticalrmm"}, headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    for bad_url, reason in (
        ("ftp://x.example.com", "https://"),
        ("http://api.example.com", "in clear"),
        ("https://u:p@api.example.com", "user name and password"),
        ("", "Enter the Tactical API address"),
    ):
        r = await http.put(
            f"/api/v1/integrations/{iid}/credentials",
            headers=h,
            json={"instance_url": bad_url, "auth_mode": "api_key", "values": {"api_key": "K" * 32}},
        )
        assert r.status_code == 422, r.text
        assert "instance_url" in r.text and reason in r.text, r.text


# --------------------------------------------------------------------------- helpers


def _tactical(setup: Setup) -> Any:
    import httpx

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=setup.app), base_url=f"https://{setup.host}",
        headers={"X-API-KEY": CREDS.api_key},
    )  # fmt: skip


async def _secret(state: Any, setup: Setup, name: str) -> str | None:
    async with unit_of_work(state.sessionmaker) as session:
        values = await state.secrets.get_many(
            session, setup.tenant.tenant_id, credential_prefix(uuid.UUID(setup.integration_id))
        )
    return values.get(name)
