"""The software job: stream each device's installed software from the provider, write it in batches.

The set-based writer is ``ingestion/software.py``'s ``write_batch``; this module owns the run, so the
ingestion layer never depends on the sync layer above it.
"""

from __future__ import annotations

from rmmbridge.ingestion.software import COUNTERS, write_batch
from rmmbridge.integrations.repository import syncable_mappings
from rmmbridge.providers.base import DeviceSoftware, Provider
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.maintenance import SOFTWARE_TABLES, GrowthAnalyzer
from rmmbridge.storage.models import RmmIntegration, SyncRun
from rmmbridge.tenancy.context import TenantContext

from . import runs

DEVICES_PER_BATCH = 200


async def ingest_software(
    state: AppState, ctx: TenantContext, run: SyncRun, integration: RmmIntegration, provider: Provider
) -> None:
    counters = dict.fromkeys(COUNTERS, 0)
    batch: list[DeviceSoftware] = []

    analyzer = GrowthAnalyzer(SOFTWARE_TABLES)

    async def flush() -> None:
        if batch:
            async with unit_of_work(state.sessionmaker) as session:
                result = await write_batch(session, ctx, integration.id, batch)
                await analyzer.after_page(session, result["installed"] + result["catalog_new"])
            for key, value in result.items():
                counters[key] += value
            batch.clear()

    async with unit_of_work(state.sessionmaker, read_only=True) as session:
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
