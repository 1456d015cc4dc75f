"""One test per ingestion rule of docs/architecture.md ("The life of a device"), through the real framework and TinyRMM."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import event, func, select

from rmmbridge.ingestion.devices import DeviceIngestor
from rmmbridge.ingestion.liveness import recompute_status
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import DevicePage
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import (
    Asset,
    AssetHistory,
    EventOutbox,
    ExternalEntityMapping,
    ServerAsset,
    WorkstationAsset,
)
from rmmbridge.tenancy.auth import system_context
from tests.conftest import connect_tiny, map_all, run_sync
from tests.support.tinyrmm import _device_json, make_fleet, move, normalize


async def _setup(http, state, transport, tenant, **kw):
    setup = await connect_tiny(http, transport, tenant, **kw)
    await run_sync(http, state, setup, "scopes")
    clients = await map_all(http, setup)
    return setup, clients


async def _asset_by_ext(db, setup, ext):
    return await db.scalar(
        select(Asset)
        .join(
            ExternalEntityMapping,
            (ExternalEntityMapping.tenant_id == Asset.tenant_id) & (ExternalEntityMapping.local_id == Asset.id),
        )
        .where(Asset.tenant_id == setup.tenant.tenant_id, ExternalEntityMapping.external_id == ext)
        .execution_options(populate_existing=True)
    )


async def test_device_moving_between_organizations_stays_one_asset(http, state, transport, tenant, db):
    setup, clients = await _setup(http, state, transport, tenant)
    await run_sync(http, state, setup, "devices")
    before = await _asset_by_ext(db, setup, "dev-00001")
    assert before.rmm_organization_id == "org-1" and str(before.client_id) == clients["org-1"]
    move(setup.fleet, "dev-00001", "org-2")
    run = await run_sync(http, state, setup, "devices")
    assert run["counters"]["created"] == 0 and run["counters"]["updated"] == 1
    after = await _asset_by_ext(db, setup, "dev-00001")
    assert after.id == before.id
    assert after.rmm_organization_id == "org-2" and str(after.client_id) == clients["org-2"]
    total = await db.scalar(select(func.count()).select_from(Asset).where(Asset.tenant_id == tenant.tenant_id))
    assert total == 30
    hist = (
        await db.scalars(
            select(AssetHistory).where(AssetHistory.asset_id == before.id, AssetHistory.action == "updated")
        )
    ).all()
    assert any("client_id" in h.changes and "rmm_organization_id" in h.changes for h in hist)


async def test_unchanged_devices_cause_no_asset_or_extension_write(http, state, transport, tenant, db):
    setup, _ = await _setup(http, state, transport, tenant)
    await run_sync(http, state, setup, "devices")
    stamps = dict(
        (await db.execute(select(Asset.id, Asset.updated_at).where(Asset.tenant_id == tenant.tenant_id))).all()
    )
    ext = dict(
        (
            await db.execute(
                select(WorkstationAsset.asset_id, WorkstationAsset.updated_at).where(
                    WorkstationAsset.tenant_id == tenant.tenant_id
                )
            )
        ).all()
    )
    run = await run_sync(http, state, setup, "devices")
    assert run["counters"]["unchanged"] == 30 and run["counters"]["updated"] == 0
    db.expire_all()
    assert (
        dict((await db.execute(select(Asset.id, Asset.updated_at).where(Asset.tenant_id == tenant.tenant_id))).all())
        == stamps
    )
    assert (
        dict(
            (
                await db.execute(
                    select(WorkstationAsset.asset_id, WorkstationAsset.updated_at).where(
                        WorkstationAsset.tenant_id == tenant.tenant_id
                    )
                )
            ).all()
        )
        == ext
    )
    assert (
        await db.scalar(
            select(func.count())
            .select_from(AssetHistory)
            .where(AssetHistory.tenant_id == tenant.tenant_id, AssetHistory.action == "updated")
        )
        == 0
    )


async def test_two_concurrent_runs_create_no_duplicates(state, tenant, db, backend):
    """Two ingestors race on the same brand-new devices in two transactions."""
    from rmmbridge.integrations.schemas import IntegrationCreate
    from rmmbridge.integrations.service import create_integration

    ctx = system_context(tenant.tenant_id, "test")
    async with unit_of_work(state.sessionmaker) as s:
        integ = await create_integration(s, ctx, state.registry, IntegrationCreate(provider="tinyrmm"))
        from rmmbridge.clients.schemas import ClientCreate
        from rmmbridge.clients.service import create_client

        client = await create_client(s, ctx, ClientCreate(name=f"Race {uuid.uuid4().hex[:6]}"))
    fleet = make_fleet(orgs=1, devices=200)
    page = DevicePage([normalize(_device_json(d)) for d in fleet.devices.values()])

    async def ingest(run_id):
        ingestor = DeviceIngestor(ctx, integ.id, "tinyrmm", run_id, {"org-0": client.id}, "test")
        async with unit_of_work(state.sessionmaker) as s:
            return (await ingestor.ingest(s, page, utcnow())).counters

    a, b = await asyncio.gather(ingest(uuid.uuid4()), ingest(uuid.uuid4()))
    assert a.created + b.created == 200
    assert a.created + a.unchanged + a.updated == 200 and b.created + b.unchanged + b.updated == 200
    n_assets = await db.scalar(select(func.count()).select_from(Asset).where(Asset.rmm_integration_id == integ.id))
    n_maps = await db.scalar(
        select(func.count()).select_from(ExternalEntityMapping).where(ExternalEntityMapping.integration_id == integ.id)
    )
    assert n_assets == 200 and n_maps == 200


async def test_failed_page_marks_nothing_missing(http, state, transport, tenant, db):
    setup, _ = await _setup(http, state, transport, tenant, page_size=4)
    await run_sync(http, state, setup, "devices")
    del setup.fleet.devices["dev-00003"]  # gone from org-0
    setup.fleet.fail_pages.add(("org-1", 1))  # and org-1's second page fails
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "partial" and run["complete_snapshot"] is False
    assert "org-1" in {e.get("scope") for e in run["errors"]}
    missing = await db.scalar(
        select(func.count())
        .select_from(Asset)
        .where(Asset.tenant_id == tenant.tenant_id, Asset.missing_since.is_not(None))
    )
    assert missing == 0


async def test_missing_then_retired_after_grace_then_revived(http, state, transport, tenant, db):
    setup, _ = await _setup(http, state, transport, tenant)
    h = tenant.headers()
    r = await http.patch(
        f"/api/v1/integrations/{setup.integration_id}",
        headers=h,
        json={"settings": {"lifecycle": {"retire_after_snapshots": 2, "retire_after_hours": 0}}},
    )
    assert r.status_code == 200, r.text
    await run_sync(http, state, setup, "devices")
    gone = setup.fleet.devices.pop("dev-00004")
    run = await run_sync(http, state, setup, "devices")
    assert run["counters"]["missing"] == 1 and run["counters"]["retired"] == 0
    asset = await _asset_by_ext(db, setup, "dev-00004")
    assert asset.missing_since is not None and asset.status == "active"
    run = await run_sync(http, state, setup, "devices")
    assert run["counters"]["retired"] == 1
    asset = await _asset_by_ext(db, setup, "dev-00004")
    assert asset.status == "retired"
    setup.fleet.devices["dev-00004"] = gone
    run = await run_sync(http, state, setup, "devices")
    assert run["counters"]["revived"] == 1 and run["counters"]["created"] == 0
    revived = await _asset_by_ext(db, setup, "dev-00004")
    assert revived.id == asset.id and revived.status == "active" and revived.missing_since is None
    actions = [
        h.action
        for h in (
            await db.scalars(
                select(AssetHistory).where(AssetHistory.asset_id == asset.id).order_by(AssetHistory.created_at)
            )
        ).all()
    ]
    assert actions == ["created", "missing", "retired", "revived"]
    events = set(
        (
            await db.scalars(
                select(EventOutbox.event_type).where(
                    EventOutbox.tenant_id == tenant.tenant_id, EventOutbox.entity_id == str(asset.id)
                )
            )
        ).all()
    )
    assert {"asset.created", "asset.missing", "asset.retired", "asset.revived"} <= events


async def test_grace_period_hours_hold_retirement(http, state, transport, tenant, db):
    setup, _ = await _setup(http, state, transport, tenant)  # default grace: 3 snapshots and 24 h
    await run_sync(http, state, setup, "devices")
    setup.fleet.devices.pop("dev-00005")
    for _ in range(4):
        run = await run_sync(http, state, setup, "devices")
        assert run["counters"]["retired"] == 0
    asset = await _asset_by_ext(db, setup, "dev-00005")
    assert asset.status == "active" and asset.missing_snapshots == 4


async def test_admin_overrides_survive_syncs(http, state, transport, tenant, db):
    setup, clients = await _setup(http, state, transport, tenant)
    await run_sync(http, state, setup, "devices")
    asset = await _asset_by_ext(db, setup, "dev-00002")
    other_client = clients["org-0"]
    r = await http.patch(
        f"/api/v1/assets/{asset.id}",
        headers=tenant.headers("technician"),
        json={"name": "Reception PC", "asset_type": "server", "client_id": other_client},
    )
    assert r.status_code == 200, r.text
    assert sorted(r.json()["overrides"]) == ["asset_type", "client_id", "name"]
    setup.fleet.devices["dev-00002"].hostname = "RENAMED-IN-RMM"
    setup.fleet.devices["dev-00002"].ram_gb = 64
    await run_sync(http, state, setup, "devices")
    after = await _asset_by_ext(db, setup, "dev-00002")
    assert (after.name, after.asset_type, str(after.client_id)) == ("Reception PC", "server", other_client)
    server_ext = await db.get(ServerAsset, (tenant.tenant_id, asset.id), populate_existing=True)
    assert server_ext is not None and server_ext.ram_bytes == 64 * 2**30  # non-overridden fields still sync
    # Clearing the override lets the RMM's value win again on the next sync.
    r = await http.patch(f"/api/v1/assets/{asset.id}", headers=tenant.headers(), json={"clear_overrides": ["name"]})
    assert r.status_code == 200
    await run_sync(http, state, setup, "devices")
    assert (await _asset_by_ext(db, setup, "dev-00002")).name == "RENAMED-IN-RMM"


async def test_status_recomputed_set_wise_and_at_read_time(http, state, transport, tenant, db):
    setup, _ = await _setup(http, state, transport, tenant)
    await run_sync(http, state, setup, "devices")
    h = tenant.headers()
    counts = {
        s: (await http.get(f"/api/v1/assets?agent_status={s}", headers=h)).json()["total"]
        for s in ("online", "offline", "overdue")
    }
    assert sum(counts.values()) == 30 and counts["online"] > 0 and counts["overdue"] > 0
    # An hour later everything is overdue: the recompute (one statement) updates every cached status.
    ctx = system_context(tenant.tenant_id, "test")
    async with unit_of_work(state.sessionmaker) as s:
        changed = await recompute_status(s, ctx, uuid.UUID(setup.integration_id), utcnow() + timedelta(hours=2))
    assert changed == 30 - counts["overdue"]
    cached = set(
        (
            await db.scalars(
                select(Asset.agent_status)
                .where(Asset.tenant_id == tenant.tenant_id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    assert cached == {"overdue"}


async def test_invalid_records_are_counted_and_block_deletion(http, state, transport, tenant, db):
    setup, _ = await _setup(http, state, transport, tenant)
    await run_sync(http, state, setup, "devices")
    setup.fleet.devices["dev-00006"].broken = True
    setup.fleet.devices.pop("dev-00009")
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "partial" and run["counters"]["failed"] == 1
    assert any("hostname" in e["error"] for e in run["errors"])
    assert (
        await db.scalar(
            select(func.count())
            .select_from(Asset)
            .where(Asset.tenant_id == tenant.tenant_id, Asset.missing_since.is_not(None))
        )
        == 0
    )


async def test_statement_count_per_page_is_constant(state, tenant, backend):
    """Ingesting a page of 10 and a page of 100 new devices takes the same number of statements."""
    from rmmbridge.clients.schemas import ClientCreate
    from rmmbridge.clients.service import create_client
    from rmmbridge.integrations.schemas import IntegrationCreate
    from rmmbridge.integrations.service import create_integration

    ctx = system_context(tenant.tenant_id, "test")
    async with unit_of_work(state.sessionmaker) as s:
        integ = await create_integration(s, ctx, state.registry, IntegrationCreate(provider="tinyrmm"))
        client = await create_client(s, ctx, ClientCreate(name=f"Count {uuid.uuid4().hex[:6]}"))
    statements: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        statements.append(statement.split()[0])

    async def measure(devices: int, offset: int, mutate: bool = False) -> int:
        fleet = make_fleet(orgs=1, devices=devices + offset)
        snaps = [normalize(_device_json(d)) for d in list(fleet.devices.values())[offset:]]
        if mutate:
            from dataclasses import replace as dc_replace

            snaps = [dc_replace(s, ram_bytes=(s.ram_bytes or 0) + 1) for s in snaps]
        ingestor = DeviceIngestor(ctx, integ.id, "tinyrmm", uuid.uuid4(), {"org-0": client.id}, "test")
        statements.clear()
        event.listen(state.engine.sync_engine, "before_cursor_execute", count)
        try:
            async with unit_of_work(state.sessionmaker) as s:
                await ingestor.ingest(s, DevicePage(snaps), utcnow())
        finally:
            event.remove(state.engine.sync_engine, "before_cursor_execute", count)
        return len([x for x in statements if x not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")])

    small_new, large_new = await measure(10, 0), await measure(100, 10)
    assert small_new == large_new, (small_new, large_new)
    small_upd, large_upd = await measure(10, 0, mutate=True), await measure(100, 10, mutate=True)
    # 12 + correlation: the policy (once per run), the changed assets' sources, their upsert.
    assert small_upd == large_upd and small_upd <= 15, (small_upd, large_upd)
