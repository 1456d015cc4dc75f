"""The alerts job: poll the RMM's active alerts, upsert them set-wise, resolve what it stopped listing.

The writers are ``ingestion/alerts.py``'s; this module owns the run (batches, counters, finishing),
so the ingestion layer never depends on the sync layer above it.
"""

from __future__ import annotations

from sqlalchemy import select

from rmmbridge.alerts.intake import Owner, apply_activities, queue_refreshes
from rmmbridge.ingestion.alerts import (
    missed_by_webhook,
    missed_sample,
    record_alerts,
    resolve_unlisted,
    upsert_polled,
)
from rmmbridge.ingestion.limits import fit_alert
from rmmbridge.integrations.repository import syncable_mappings
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import AlertEvent, Capability, InvalidRecord, Provider, ProviderError, WebhookTarget
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, SyncCursor, SyncRun
from rmmbridge.tenancy.context import TenantContext

from . import runs

BATCH = 500
ACTIVITY_STREAM = "activities"  # sync_cursors: the highest RMM activity id backfilled


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
    if callable(getattr(provider, "iter_activity_pages", None)):
        counters.update(await backfill_activities(state, ctx, integration, provider, errors))
    async with unit_of_work(state.sessionmaker) as session:
        counters["resolved"] = await resolve_unlisted(
            session, ctx, integration.id, started, poll_seen_only=provider.alert_poll_resolves == "poll_seen"
        )
        counters["missed_by_webhook"] = await missed_by_webhook(
            session, ctx, integration.id, integration.webhook_configured_at
        )
        fresh = await runs.get_run(session, ctx, run.id)
        fresh.counters = counters
        runs.add_errors(fresh, errors)
        await runs.finish_run(session, fresh, "partial" if errors else "succeeded", complete_snapshot=True)
    await _refresh_hints(state, ctx, integration, provider, counters["missed_by_webhook"])


async def _refresh_hints(
    state: AppState, ctx: TenantContext, integration: RmmIntegration, provider: Provider, missed: int
) -> None:
    """When the missed count changed, ask the RMM why (provisioned webhooks only: the provider knows
    what it created) and keep the hints on the integration for the status card."""
    provisioning = dict(integration.webhook_provisioning or {})
    if provisioning.get("hints_for") == missed:
        return
    hints: list[str] = []
    if missed and integration.webhook_configured_at is not None:
        if Capability.webhook_provisioning in provider.capabilities and provisioning.get("provisioned"):
            async with unit_of_work(state.sessionmaker, read_only=True) as session:
                rows = await missed_sample(session, ctx, integration.id, integration.webhook_configured_at)
            missed_events = [
                AlertEvent(
                    external_alert_id=r.external_alert_id,
                    external_device_id=r.external_device_id,
                    severity=r.severity,
                    status=r.status,
                    alert_type=r.alert_type,
                    device_ref=str((r.attributes or {}).get("agent_pk") or "") or None,
                )
                for r in rows
            ]
            target = WebhookTarget(url="", header="", secret="", label=str(provisioning.get("label") or ""))
            try:
                hints = await provider.webhook_hints(target, missed_events)
            except ProviderError as exc:
                hints = [f"Could not ask the RMM why: {exc.message}"]
        else:
            hints = [
                "Polling found alerts the webhook never delivered: check that the RMM's alert action posts "
                "to rmmbridge for every alert kind and severity (or let rmmbridge provision it)."
            ]
    async with unit_of_work(state.sessionmaker) as session:
        row = await session.get(RmmIntegration, (integration.tenant_id, integration.id))
        if row is not None:
            row.webhook_hints = hints
            row.webhook_provisioning = {**(row.webhook_provisioning or {}), "hints_for": missed}


async def backfill_activities(
    state: AppState, ctx: TenantContext, integration: RmmIntegration, provider: Provider, errors: list[dict[str, str]]
) -> dict[str, int]:
    """Missed webhooks (reference/ninjaone.md §6.2): the RMM's activities since the last processed
    one, through the receiver's own writers (alerts; device refreshes and scope syncs, debounced).
    Every write is idempotent (alerts keyed on their series, ordering kept), so a walk that fails
    half-way is simply redone: the watermark moves only after a complete walk. A failure here is an
    error on the run, never the end of the poll."""
    owner = Owner(integration.id, integration.tenant_id, integration.provider, True, integration.state, "")
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        watermark = await session.scalar(
            select(SyncCursor.value).where(
                SyncCursor.tenant_id == ctx.tenant_id,
                SyncCursor.integration_id == integration.id,
                SyncCursor.stream == ACTIVITY_STREAM,
            )
        )
    counters = {"backfilled_alerts": 0, "backfilled_activities": 0}
    newest = watermark
    try:
        async for page in provider.iter_activity_pages(watermark):  # type: ignore[attr-defined]
            newest = page.watermark
            events = []
            for event in page.events:
                try:
                    events.append(fit_alert(event))
                except InvalidRecord as exc:
                    errors.append({"external_id": exc.external_id or "", "error": exc.cause})
            async with unit_of_work(state.sessionmaker) as session:
                now = utcnow()
                if events:
                    results = await record_alerts(session, ctx, integration.id, events, "webhook")
                    counters["backfilled_alerts"] += sum(1 for r in results if r.outcome != "duplicate")
                    await queue_refreshes(state, session, ctx, owner, events, now)
                if page.activities:
                    await apply_activities(state, session, ctx, owner, page.activities, now)
                    counters["backfilled_activities"] += len(page.activities)
    except ProviderError as exc:
        errors.append({"external_id": "", "error": f"missed webhooks not backfilled: {exc.message}"})
        return counters
    if newest is not None and newest != watermark:
        async with unit_of_work(state.sessionmaker) as session:
            row = await session.get(SyncCursor, (ctx.tenant_id, integration.id, ACTIVITY_STREAM))
            if row is None:
                session.add(
                    SyncCursor(
                        tenant_id=ctx.tenant_id, integration_id=integration.id, stream=ACTIVITY_STREAM, value=newest
                    )
                )
            else:
                row.value = newest
    return counters
