"""NinjaOne gaps closed after the first cut, over HTTP against the simulator on SQLite and PostgreSQL:
poll-confirmed alert reconciliation (§6.1), webhook secret rotation with overlap and re-provisioning
(§7.1), organization activities and activity backfill (§6.2, §7.5), simulator checklist items (§9)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from rmmbridge.kit.time import utcnow
from rmmbridge.providers.ninjaone import HEADER
from rmmbridge.storage.models import RmmAlert, SyncRun
from tests.conftest import run_sync

from .test_flows import provisioned
from .test_section10 import _sim_event, approved


async def _alerts(db: Any, tenant: Any) -> dict[str, RmmAlert]:
    rows = (await db.scalars(select(RmmAlert).where(RmmAlert.tenant_id == tenant.tenant_id))).all()
    for row in rows:
        await db.refresh(row)
    return {a.external_alert_id: a for a in rows}


async def test_poll_resolves_only_poll_confirmed_alerts(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    """§6.1: a webhook alert whose key /v2/alerts never listed (id-space mismatch, §6.3) survives
    every poll; an alert a poll once listed is resolved when a later complete poll omits it."""
    setup = await provisioned(http, state, transport, tenant, app)
    conf = next(iter(setup.sim.webhooks.values()))
    secret = conf["headers"][0]["value"]
    device = next(iter(approved(setup.fleet)))
    # A delivery keyed on a series uid that /v2/alerts never shows.
    foreign = str(uuid.uuid4())
    r = await http.post(
        "/api/webhooks/ninjaone",
        json={
            "id": 990001,
            "activityTime": 1742391675.556,
            "deviceId": device,
            "seriesUid": foreign,
            "activityType": "CONDITION",
            "statusCode": "TRIGGERED",
            "sourceConfigUid": "cfg-1",
            "message": "disk low",
        },
        headers={HEADER: secret},
    )
    assert r.status_code == 202, r.text
    # A webhook alert the poll does list (the simulator's uid = seriesUid): confirmed by the poll.
    trig = (await _sim_event(setup, {"kind": "trigger", "deviceId": device}))["sent"][0]
    confirmed = trig["seriesUid"]
    assert confirmed in setup.fleet.alerts
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "succeeded", run
    rows = await _alerts(db, tenant)
    assert rows[foreign].status == "active" and not rows[foreign].poll_seen
    assert rows[confirmed].poll_seen and rows[confirmed].webhook_seen
    polled_only = next(u for u in setup.fleet.alerts if u != confirmed)
    assert rows[polled_only].poll_seen
    # NinjaOne stops listing both poll-confirmed alerts (reset without a delivery): the next complete
    # poll resolves them, and still leaves the never-polled webhook alert alone.
    setup.fleet.alerts.pop(confirmed)
    setup.fleet.alerts.pop(polled_only)
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "succeeded", run
    rows = await _alerts(db, tenant)
    assert rows[confirmed].status == "resolved" and rows[polled_only].status == "resolved"
    assert rows[foreign].status == "active"
    assert run["counters"]["resolved"] == 2, run
    # A failed poll closes nothing.
    remaining = next(iter(setup.fleet.alerts))
    setup.fleet.alerts.pop(remaining)
    from rmmbridge.simulators.faults import Fault

    setup.sim.faults.add(Fault("status", path_contains="/v2/alerts", status=500))
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "failed", run
    rows = await _alerts(db, tenant)
    assert rows[remaining].status == "active"


async def _deliver(http: Any, secret: str, activity_id: int, device: int) -> int:
    r = await http.post(
        "/api/webhooks/ninjaone",
        json={
            "id": activity_id,
            "activityTime": 1742391675.556,
            "deviceId": device,
            "seriesUid": str(uuid.uuid4()),
            "activityType": "CONDITION",
            "statusCode": "TRIGGERED",
            "sourceConfigUid": "cfg-2",
        },
        headers={HEADER: secret},
    )
    return r.status_code


async def test_secret_rotation_overlap_and_reprovisioning(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    """§7.1: rotating re-sends the configuration with the new secret (PUT /v2/webhook); the old secret
    keeps working for 10 minutes; a refused PUT changes nothing; a mapping change re-sends the
    organization filter."""
    setup = await provisioned(http, state, transport, tenant, app)
    h = tenant.headers()
    device = next(iter(approved(setup.fleet)))
    old = next(iter(setup.sim.webhooks.values()))["headers"][0]["value"]
    base = datetime.now(UTC)
    state.clock = lambda: base
    try:
        r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/rotate", headers=h)
        assert r.status_code == 200, r.text
        new = r.json()["secret"]
        conf = next(iter(setup.sim.webhooks.values()))
        assert new != old and conf["headers"] == [{"name": HEADER, "value": new}]
        # NinjaOne delivers with the new secret (the stored configuration), and a delivery in flight
        # with the old one is still accepted.
        sent = await _sim_event(setup, {"kind": "trigger", "deviceId": device})
        assert setup.sim.deliveries[-1]["status"] == 202, (sent, setup.sim.deliveries)
        assert await _deliver(http, old, 880001, device) == 202
        # Ten minutes later the old secret is refused; the new one still works.
        state.clock = lambda: base + timedelta(minutes=10, seconds=1)
        assert await _deliver(http, old, 880002, device) == 401
        assert await _deliver(http, new, 880003, device) == 202
        # NinjaOne refuses the next configuration: the new secret is stored and the refusal is
        # reported with NinjaOne's reason (rmm_update); NinjaOne keeps delivering with the secret it
        # has, which the overlap still accepts, so nothing is lost while the admin fixes it.
        setup.sim.modes.user_context_required = True
        r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/rotate", headers=h)
        assert r.status_code == 200, r.text
        update = r.json()["rmm_update"]
        assert update["ok"] is False and "signed-in user" in update["steps"][0]["detail"], update
        assert next(iter(setup.sim.webhooks.values()))["headers"][0]["value"] == new
        assert await _deliver(http, new, 880004, device) == 202
        setup.sim.modes.user_context_required = False
        # "Configure NinjaOne webhook" again: NinjaOne gets the current secret.
        r = await http.post(
            f"/api/v1/integrations/{setup.integration_id}/webhook/provision", json={"send_test": False}, headers=h
        )
        assert r.status_code == 200 and r.json()["ok"], r.text
        new = next(iter(setup.sim.webhooks.values()))["headers"][0]["value"]
        assert await _deliver(http, new, 880005, device) == 202
        # Unmapping an organization re-sends the configuration without it.
        mappings = (await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings", headers=h)).json()
        gone = mappings["items"][0]
        r = await http.patch(
            f"/api/v1/integrations/{setup.integration_id}/mappings/{gone['id']}", json={"unmap": True}, headers=h
        )
        assert r.status_code == 200, r.text
        conf = next(iter(setup.sim.webhooks.values()))
        expected = sorted(int(o) for o in setup.fleet.organizations if str(o) != gone["external_org_id"])
        assert sorted(conf["organizationIds"]) == expected
        assert conf["headers"][0]["value"] == new
        # An unchanged set is not re-sent.
        puts = sum(1 for m, p in setup.sim.requests if m == "PUT")
        r = await http.patch(
            f"/api/v1/integrations/{setup.integration_id}/mappings/{gone['id']}",
            json={"auto_sync_assets": False},
            headers=h,
        )
        assert r.status_code == 200
        assert sum(1 for m, p in setup.sim.requests if m == "PUT") == puts
        # Disconnect: both secrets stop at once.
        state.clock = lambda: base
        r = await http.post(f"/api/v1/integrations/{setup.integration_id}/disconnect", headers=h)
        assert r.status_code == 200
        assert await _deliver(http, new, 880005, device) == 401
        assert await _deliver(http, old, 880006, device) == 401
    finally:
        state.clock = utcnow


async def _mutate(setup: Any, body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    from .test_section10 import _sim_app

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_sim_app(setup)), base_url=f"https://{setup.host}"
    ) as c:
        r = await c.post("/_sim/mutate", json=body)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


async def _scope_runs(db: Any, tenant: Any) -> list[SyncRun]:
    return list(
        (await db.scalars(select(SyncRun).where(SyncRun.tenant_id == tenant.tenant_id, SyncRun.kind == "scopes"))).all()
    )


async def _mapping_names(http: Any, setup: Any) -> dict[str, tuple[str, bool]]:
    r = await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings", headers=setup.tenant.headers())
    return {m["external_org_id"]: (m["external_org_name"], bool(m.get("missing_since"))) for m in r.json()["items"]}


async def test_client_activities_sync_organizations(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    """§7.5: CLIENT_CREATED / CLIENT_UPDATED / CLIENT_DELETED deliveries queue one (debounced) scope sync."""
    from rmmbridge.sync.runner import runner_of

    setup = await provisioned(http, state, transport, tenant, app, devices=20)
    before = {r.id for r in await _scope_runs(db, tenant)}
    created = await _mutate(setup, {"op": "create_org", "name": "Northwind Traders"})
    answer = setup.sim.deliveries[-1]
    assert answer["payload"]["statusCode"] == "CLIENT_CREATED" and answer["status"] == 200, answer
    run_id = answer["answer"] and __import__("json").loads(answer["answer"])["refresh_run_id"]
    assert run_id, answer
    await runner_of(state).wait(uuid.UUID(run_id), timeout=120)
    runs = [r for r in await _scope_runs(db, tenant) if r.id not in before]
    assert len(runs) == 1 and runs[0].trigger == "webhook"
    names = await _mapping_names(http, setup)
    assert names[str(created["id"])] == ("Northwind Traders", False)
    # A deleted organization is flagged missing (its mapping kept) by the sync its activity queued.
    gone = next(iter(setup.fleet.organizations))
    await _mutate(setup, {"op": "delete_org", "id": gone})
    answer = setup.sim.deliveries[-1]
    assert answer["payload"]["statusCode"] == "CLIENT_DELETED" and answer["status"] == 200, answer
    run_id = __import__("json").loads(answer["answer"])["refresh_run_id"]
    await runner_of(state).wait(uuid.UUID(run_id), timeout=120)
    assert (await _mapping_names(http, setup))[str(gone)][1] is True
    # The webhook's organization filter followed: the deleted organization is no longer sent.
    conf = next(iter(setup.sim.webhooks.values()))
    assert gone not in conf["organizationIds"]


async def test_missed_webhooks_backfilled_from_activities(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    """§6.2: the alert poll walks /v2/activities since the last processed id and feeds them through
    the webhook's writers: a condition triggered and reset while deliveries were lost ends resolved,
    an organization created meanwhile is synced; the first poll only sets the watermark."""
    from rmmbridge.sync.runner import runner_of

    setup = await provisioned(http, state, transport, tenant, app, devices=20)
    device = next(iter(approved(setup.fleet)))
    await _sim_event(setup, {"kind": "trigger", "deviceId": device})  # delivered: history before the watermark
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "succeeded" and run["counters"]["backfilled_alerts"] == 0, run
    # NinjaOne loses the configuration: nothing is delivered any more.
    setup.sim.webhooks.clear()
    cycle = (await _sim_event(setup, {"kind": "cycle", "deviceId": device}))["sent"]
    setup.sim.modes.delivery = "normal"
    created = await _mutate(setup, {"op": "create_org", "name": "Contoso Backfill"})
    assert (await _mapping_names(http, setup)).get(str(created["id"])) is None
    before = {r.id for r in await _scope_runs(db, tenant)}
    setup.sim.requests.clear()
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "succeeded", run
    assert run["counters"]["backfilled_alerts"] >= 1 and run["counters"]["backfilled_activities"] == 1, run
    assert any("/v2/activities?" in p and "newerThan=" in p for _, p in setup.sim.requests), setup.sim.requests
    rows = await _alerts(db, tenant)
    assert rows[cycle[0]["seriesUid"]].status == "resolved"
    queued = [r for r in await _scope_runs(db, tenant) if r.id not in before]
    assert len(queued) == 1
    await runner_of(state).wait(queued[0].id, timeout=120)
    assert (await _mapping_names(http, setup))[str(created["id"])][0] == "Contoso Backfill"
    # The watermark moved: the next poll backfills nothing again.
    run = await run_sync(http, state, setup, "alerts")
    assert run["counters"]["backfilled_alerts"] == 0 and run["counters"]["backfilled_activities"] == 0, run


async def test_stalled_answer_times_out_and_fails_closed(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    """§8/§9: a NinjaOne answer that stalls is given up on after the request deadline and retried; one
    that keeps stalling stops the run, and nothing is marked missing."""
    from rmmbridge.simulators.faults import Fault
    from tests.conftest import assets_by_device

    from .test_section10 import synced

    setup = await synced(http, state, transport, tenant, app, devices=20, request_timeout_s=1)
    setup.sim.faults.add(Fault("stall", path_contains="/devices-detailed", times=1))
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    setup.sim.faults.add(Fault("stall", path_contains="/devices-detailed", query_contains="after="))
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] in ("failed", "partial"), run
    assert "timed out" in str(run), run
    assets = await assets_by_device(db, setup, refresh=True)
    assert assets and all(a.missing_since is None for a in assets.values())


async def test_inventory_from_query_reports_when_detailed_rows_lack_it(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    """§4.7/§5.2: devices-detailed without system/os → computer-systems and operating-systems reports
    for the page's devices (df=id in (…)), joined on deviceId: serial and OS still arrive, no per-device calls."""
    from .test_section10 import synced

    setup = await synced(http, state, transport, tenant, app, devices=30)
    r = await http.get("/api/v1/assets", params={"page_size": 200}, headers=tenant.headers())
    before = {i["rmm_device_id"]: (i.get("serial_number"), i.get("os_name")) for i in r.json()["items"]}
    setup.sim.modes.omit_inventory = True
    # Change one agent device's hardware and OS so only the reports can bring the news.
    target = next(d for d in approved(setup.fleet).values() if d["nodeClass"] == "WINDOWS_WORKSTATION")
    target["system"] = {**target["system"], "serialNumber": "REPORT-SN-1", "biosSerialNumber": "REPORT-SN-1"}
    target["os"] = {**target["os"], "name": "Windows 11 Enterprise"}
    setup.sim.requests.clear()
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run
    paths = [p for _, p in setup.sim.requests]
    assert any(p.startswith("/v2/queries/computer-systems?") and "id%20in" in p.replace("+", "%20") for p in paths), (
        paths
    )
    assert any(p.startswith("/v2/queries/operating-systems?") for p in paths), paths
    assert not any(p.startswith("/v2/device/") for p in paths), paths
    r = await http.get("/api/v1/assets", params={"page_size": 200}, headers=tenant.headers())
    after = {i["rmm_device_id"]: (i.get("serial_number"), i.get("os_name")) for i in r.json()["items"]}
    assert after[str(target["id"])][0] == "REPORT-SN-1", after[str(target["id"])]
    assert "Enterprise" in str(after[str(target["id"])][1]), after[str(target["id"])]
    unchanged = [k for k in before if k != str(target["id"])]
    assert all(after[k] == before[k] for k in unchanged)


async def test_fed_instance_older_app_version(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    """§1/§7.1: on FED (older app version) devices lack the newer fields and the webhook PUT refuses
    organizationIds: sync, alerts and provisioning still work (the PUT is retried without the field)."""
    from rmmbridge.simulators.ninjaone import DEFAULT_CLIENT_ID
    from tests.conftest import map_all

    from .test_section10 import connect

    setup = await connect(http, transport, tenant, app, devices=20, region_key="fed")
    setup.sim.apps[DEFAULT_CLIENT_ID].instance = "fed"
    h = tenant.headers()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=h)
    assert r.status_code == 200 and r.json()["ok"], r.text
    assert (await run_sync(http, state, setup, "scopes"))["status"] == "succeeded"
    setup.clients = await map_all(http, setup)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded" and run["counters"]["created"] == len(approved(setup.fleet)), run
    assert (await run_sync(http, state, setup, "alerts"))["status"] == "succeeded"
    setup.sim.requests.clear()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/provision", headers=h)
    assert r.status_code == 200, r.text
    assert [m for m, p in setup.sim.requests if p == "/v2/webhook"] == ["PUT", "PUT"]
    conf = next(iter(setup.sim.webhooks.values()))
    assert "organizationIds" not in conf and conf["headers"][0]["name"] == HEADER


async def test_master_key_rotation_re_keys_the_secret_in_its_overlap(http, state, transport, tenant, app) -> None:  # type: ignore[no-untyped-def]
    """A master-key rotation during the 10-minute overlap re-digests the rotated-out secret too."""
    import os

    from rmmbridge.kit.crypto import Sealer, decode_key
    from rmmbridge.secrets.rotation import reseal_all
    from rmmbridge.storage.models import RmmIntegration
    from tests.conftest import TEST_SECRET_KEY

    setup = await provisioned(http, state, transport, tenant, app, devices=20)
    old_secret = next(iter(setup.sim.webhooks.values()))["headers"][0]["value"]
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/rotate", headers=tenant.headers())
    assert r.status_code == 200, r.text
    new_secret = r.json()["secret"]
    old, new = Sealer(decode_key(TEST_SECRET_KEY)), Sealer(os.urandom(32))
    iid = uuid.UUID(setup.integration_id)
    async with state.sessionmaker() as session, session.begin():
        await reseal_all(session, old, new)
        row = await session.get(RmmIntegration, (tenant.tenant_id, iid))
        assert row is not None and row.webhook_secret_digest == new.digest(new_secret)
        assert row.previous_webhook_secret_digest == new.digest(old_secret)
        await session.rollback()  # the shared test database keeps its key
