"""Software inventory: catalog upsert and per-asset current / uninstalled tracking, in batches.

The provider streams one device's list at a time (bounded memory even when the RMM answers with
hundreds of MB); batches of devices are written set-wise, one transaction each.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import DeviceSoftware, Provider
from rmmbridge.storage.db import dialect_insert, unit_of_work
from rmmbridge.storage.models import AssetSoftware, ExternalEntityMapping, RmmIntegration, SoftwareCatalog, SyncRun
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.web.state import AppState

from .devices import DEVICE

DEVICES_PER_BATCH = 200
_SPACE = re.compile(r"\s+")


def normalize_name(name: str) -> str:
    return _SPACE.sub(" ", name).strip().lower()[:500]


async def ingest_software(
    state: AppState, ctx: TenantContext, run: SyncRun, integration: RmmIntegration, provider: Provider
) -> None:
    from rmmbridge.sync import runs

    started = utcnow()
    counters = {"devices": 0, "devices_unknown": 0, "installations": 0, "uninstalled": 0, "catalog_new": 0}
    batch: list[DeviceSoftware] = []

    async def flush() -> None:
        if batch:
            async with unit_of_work(state.sessionmaker) as session:
                result = await write_batch(session, ctx, integration.id, batch, started)
            for key, value in result.items():
                counters[key] += value
            batch.clear()

    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        from rmmbridge.integrations.repository import syncable_mappings

        mapped = [m.external_org_id for m in await syncable_mappings(session, ctx, integration.id)]
    provider.ctx.settings = {**provider.ctx.settings, "mapped_scope_ids": mapped}
    async for device in provider.iter_software():
        batch.append(device)
        if len(batch) >= DEVICES_PER_BATCH:
            await flush()
    await flush()
    async with unit_of_work(state.sessionmaker) as session:
        fresh = await runs.get_run(session, ctx, run.id)
        fresh.counters = counters
        await runs.finish_run(session, fresh, "succeeded", complete_snapshot=True)


async def write_batch(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    devices: list[DeviceSoftware],
    run_started: datetime,
) -> dict[str, int]:
    now = utcnow()
    m = ExternalEntityMapping
    by_id = {d.external_id for d in devices if d.external_id}
    by_ref = {d.external_ref for d in devices if d.external_ref and not d.external_id}
    rows = await session.execute(
        select(m.external_id, m.external_ref, m.local_id).where(
            m.tenant_id == ctx.tenant_id,
            m.integration_id == integration_id,
            m.entity_type == DEVICE,
            (m.external_id.in_(by_id) | m.external_ref.in_(by_ref)) if by_ref else m.external_id.in_(by_id),
        )
    )
    asset_by_id: dict[str, uuid.UUID] = {}
    asset_by_ref: dict[str, uuid.UUID] = {}
    for ext, ref, local in rows:
        asset_by_id[ext] = local
        if ref:
            asset_by_ref[ref] = local
    installs: dict[tuple[uuid.UUID, str, str], dict[str, Any]] = {}
    assets_seen: set[uuid.UUID] = set()
    unknown = 0
    for device in devices:
        asset_id = asset_by_id.get(device.external_id or "") or asset_by_ref.get(device.external_ref or "")
        if asset_id is None:
            unknown += 1
            continue
        assets_seen.add(asset_id)
        for item in device.software:
            if not item.name.strip():
                continue
            key = (asset_id, normalize_name(item.name), (item.publisher or "").strip()[:500])
            installs[key] = {
                "name": item.name.strip()[:500],
                "version": item.version,
                "install_date": item.install_date,
                "size_bytes": item.size_bytes,
            }
    counts = {
        "devices": len(devices) - unknown,
        "devices_unknown": unknown,
        "installations": len(installs),
        "uninstalled": 0,
        "catalog_new": 0,
    }
    insert = dialect_insert(session)
    catalog_keys = {(k[1], k[2]): v["name"] for k, v in installs.items()}
    if catalog_keys:
        new = await session.execute(
            insert(SoftwareCatalog)
            .on_conflict_do_nothing(index_elements=["tenant_id", "normalized_name", "publisher"])
            .returning(SoftwareCatalog.id),
            [
                {
                    "tenant_id": ctx.tenant_id,
                    "id": uuid7(),
                    "name": name,
                    "normalized_name": norm,
                    "publisher": pub,
                    "created_at": now,
                }
                for (norm, pub), name in catalog_keys.items()
            ],
        )
        counts["catalog_new"] = len(new.all())
        ids = dict(
            (
                ((norm, pub), sid)
                for norm, pub, sid in await session.execute(
                    select(SoftwareCatalog.normalized_name, SoftwareCatalog.publisher, SoftwareCatalog.id).where(
                        SoftwareCatalog.tenant_id == ctx.tenant_id,
                        tuple_(SoftwareCatalog.normalized_name, SoftwareCatalog.publisher).in_(list(catalog_keys)),
                    )
                )
            )
        )
        stmt = insert(AssetSoftware)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "asset_id", "software_id"],
            set_={
                "version": stmt.excluded.version,
                "install_date": stmt.excluded.install_date,
                "size_bytes": stmt.excluded.size_bytes,
                "is_current": True,
                "last_seen_at": now,
                "uninstalled_at": None,
            },
        )
        await session.execute(
            stmt,
            [
                {
                    "tenant_id": ctx.tenant_id,
                    "asset_id": k[0],
                    "software_id": ids[(k[1], k[2])],
                    "version": v["version"],
                    "install_date": v["install_date"],
                    "size_bytes": v["size_bytes"],
                    "is_current": True,
                    "first_seen_at": now,
                    "last_seen_at": now,
                    "uninstalled_at": None,
                }
                for k, v in installs.items()
            ],
        )
    if assets_seen:
        # Whatever these devices listed before this run and not now was uninstalled.
        result = await session.execute(
            update(AssetSoftware)
            .where(
                and_(
                    AssetSoftware.tenant_id == ctx.tenant_id,
                    AssetSoftware.asset_id.in_(assets_seen),
                    AssetSoftware.is_current.is_(True),
                    AssetSoftware.last_seen_at < run_started,
                )
            )
            .values(is_current=False, uninstalled_at=now)
        )
        counts["uninstalled"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return counts
