"""The alerts job: poll the RMM's active alerts, upsert them set-wise, resolve what it stopped listing.

The writers are ``ingestion/alerts.py``'s; this module owns the run (batches, counters, finishing),
so the ingestion layer never depends on the sync layer above it.
"""

from __future__ import annotations

from rmmbridge.ingestion.alerts import missed_by_webhook, resolve_unlisted, upsert_polled
from rmmbridge.ingestion.limits import fit_alert
from rmmbridge.integrations.repository import syncable_mappings
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import AlertEvent, InvalidRecord, Provider
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, SyncRun
from rmmbridge.tenancy.context import TenantContext

from . import runs

BATCH = 500


async def reconcile_alerts(
    state: AppState, ctx: TenantContext, run: SyncRun, integration: RmmIntegration, provider: Provider
) -> None:
    """Poll active alerts: upsert them, and resolve locally what the RMM no longer lists as active."""
    started = utcnow()
    counters = {"processed": 0, "created": 0, "updated": 0, "resolved": 0, "missed_by_webhook": 0, "invalid": 0}
    errors: list[dict[str, str]] = []
    batch: list[AlertEvent] = []

    async def flush() -> None:
        if not batch:
            return
        async with unit_of_work(state.sessionmaker) as session:
            created, updated = await upsert_polled(session, ctx, integration.id, batch)
            counters["created"] += created
            counters["updated"] += updated
            counters["processed"] += len(batch)
        batch.clear()

    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        mapped = [m.external_org_id for m in await syncable_mappings(session, ctx, integration.id)]
    # Only the mapped organizations' alerts: the others have no assets here.
    provider.ctx.settings = {**provider.ctx.settings, "mapped_scope_ids": mapped}
    async for event in provider.iter_alerts():
        if event.status != "active":
            continue
        try:
            event = fit_alert(event)
        except InvalidRecord as exc:  # cannot be stored: counted with its cause, the rest goes on
            counters["invalid"] += 1
            errors.append({"external_id": exc.external_id or "", "error": exc.cause})
            continue
        batch.append(event)
        if len(batch) >= BATCH:
            await flush()
    await flush()
    async with unit_of_work(state.sessionmaker) as session:
        counters["resolved"] = await resolve_unlisted(
            session, ctx, integration.id, started, poll_seen_only=provider.alert_poll_resolves == "poll_seen"
        )
        counters["missed_by_webhook"] = await missed_by_webhook(session, ctx, integration.id)
        fresh = await runs.get_run(session, ctx, run.id)
        fresh.counters = counters
        runs.add_errors(fresh, errors)
        await runs.finish_run(session, fresh, "partial" if errors else "succeeded", complete_snapshot=True)
