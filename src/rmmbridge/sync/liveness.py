"""The liveness pass (sync kind ``liveness``): every device of the mapped scopes, only what moves.

Scope walkers (bounded concurrency) hand each page to one writer at a time, one transaction per
page (``ingestion/liveness.py``: a lookup and one conditional upsert, status changes recorded only
for devices whose status changed). Devices the pass sees for the first time are fetched at once
with :meth:`Provider.fetch_unknown_device` and ingested like a single-device refresh, so a new
agent appears within one pass. Only a pass in which every scope succeeded advances the
integration's status freshness; a failed scope makes the run partial and leaves it where it was,
so statuses go stale rather than silently old.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rmmbridge.ingestion.devices import DeviceIngestor
from rmmbridge.ingestion.liveness import (
    PassPageOutcome,
    mark_fresh,
    recompute_status,
    record_status_changes,
    status_window,
    write_pass_page,
)
from rmmbridge.integrations import repository as integrations_repo
from rmmbridge.providers.base import (
    DevicePage,
    DeviceSnapshot,
    LivenessRecord,
    Provider,
    ProviderAuthError,
    ProviderConfigError,
    ProviderError,
    RemoteScope,
)
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, SyncRun
from rmmbridge.tenancy.context import TenantContext

from . import runs

SCOPE_CONCURRENCY = 4
# New devices fetched per pass (one request each); more wait for the next pass or the device sync.
MAX_NEW_PER_PASS = 50
FETCH_CONCURRENCY = 4


async def run_liveness_pass(
    state: AppState, ctx: TenantContext, run: SyncRun, integration: RmmIntegration, provider: Provider
) -> None:
    began = time.perf_counter()
    started_at = state.clock()
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        mappings = await integrations_repo.syncable_mappings(session, ctx, integration.id)
    realm_clients = {m.external_org_id: m.client_id for m in mappings if m.client_id is not None}
    scopes = [
        RemoteScope(m.external_org_id, m.external_org_name, m.scope_kind, attributes=dict(m.attributes or {}))
        for m in mappings
    ]
    provider.ctx.settings = {**provider.ctx.settings, "mapped_scope_ids": sorted(realm_clients)}
    counters = dict.fromkeys(
        ("requests", "rows", "rows_written", "status_changed", "new_devices", "failed", "skipped"), 0
    )
    errors: list[dict[str, Any]] = []
    failed_scopes: dict[str, str] = {}
    fatal: list[ProviderError] = []
    unknown: list[LivenessRecord] = []
    write_lock = asyncio.Lock()  # one writer: pages of different scopes never contend for the write lock
    limit = asyncio.Semaphore(SCOPE_CONCURRENCY)

    async def write(records: list[LivenessRecord]) -> PassPageOutcome:
        async with write_lock, unit_of_work(state.sessionmaker) as session:
            now = state.clock()
            out = await write_pass_page(session, ctx, integration.id, records, set(realm_clients), now)
            await record_status_changes(session, ctx, integration.id, out.changes, now, ctx.actor)
        counters["rows"] += out.rows
        counters["rows_written"] += out.rows_written
        counters["status_changed"] += len(out.changes)
        counters["skipped"] += out.skipped
        return out

    async def walk(scope: RemoteScope) -> None:
        async with limit:
            try:
                async for page in provider.iter_liveness_pages(scope):
                    counters["requests"] += page.requests
                    counters["failed"] += len(page.invalid)
                    errors.extend(
                        {"scope": scope.external_id, "external_id": r.external_id or "", "error": r.cause}
                        for r in page.invalid
                    )
                    out = await write(page.records)
                    unknown.extend(out.unknown)
            except (ProviderAuthError, ProviderConfigError) as exc:
                fatal.append(exc)  # no other scope will fare better: stop and show it
                failed_scopes[scope.external_id] = exc.message
            except ProviderError as exc:
                failed_scopes[scope.external_id] = exc.message
                errors.append({"scope": scope.external_id, "error": exc.message, "cause": exc.cause or ""})

    await asyncio.gather(*(walk(s) for s in scopes))
    if fatal:
        raise fatal[0]  # the executor fails the run and flags the integration
    if unknown:
        async with unit_of_work(state.sessionmaker, read_only=True) as session:
            syncing = await runs.active_run(session, ctx, integration.id, "devices") is not None
        if syncing:  # a device sync is bringing every device in: fetching them one by one would be waste
            counters["new_deferred"] = len(unknown)
        else:
            await _ingest_new(state, ctx, run, integration, provider, unknown, realm_clients, counters, errors, write)

    now = state.clock()
    async with unit_of_work(state.sessionmaker) as session:
        if not failed_scopes:
            # Every device of every mapped scope was read from the RMM at (or after) started_at.
            window = status_window(integration.settings or {}, has_liveness=True)
            await mark_fresh(session, ctx, integration.id, started_at, window)
        # Devices the listing did not carry (gone, moved) and time passing: the shared rule decides.
        counters["status_changed"] += await recompute_status(session, ctx, integration.id, now, actor=ctx.actor)
        fresh = await runs.get_run(session, ctx, run.id)
        fresh.counters = {**counters, "seconds": round(time.perf_counter() - began, 3)}
        fresh.progress = {"scopes_total": len(scopes), "scopes_done": len(scopes)}
        fresh.errors = errors[: runs.MAX_ERRORS]
        if scopes and len(failed_scopes) == len(scopes):
            status = "failed"
        elif failed_scopes or counters["failed"]:
            status = "partial"
        else:
            status = "succeeded"
        await runs.finish_run(session, fresh, status)


async def _ingest_new(
    state: AppState,
    ctx: TenantContext,
    run: SyncRun,
    integration: RmmIntegration,
    provider: Provider,
    unknown: list[LivenessRecord],
    realm_clients: dict[str, Any],
    counters: dict[str, int],
    errors: list[dict[str, Any]],
    write: Any,
) -> None:
    """Fetch the devices seen for the first time and ingest them like a single-device refresh, then
    write their liveness records (health, the RMM's verdict) now that they are known."""
    todo = unknown[:MAX_NEW_PER_PASS]
    limit = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def fetch(record: LivenessRecord) -> DeviceSnapshot | None:
        async with limit:
            try:
                snapshot = await provider.fetch_unknown_device(record)
            except (ProviderAuthError, ProviderConfigError):
                raise
            except ProviderError as exc:
                errors.append({"external_id": record.external_id, "error": exc.message, "cause": exc.cause or ""})
                return None
            counters["requests"] += 1
            return snapshot

    snapshots = [s for s in await asyncio.gather(*(fetch(r) for r in todo)) if s is not None]
    if snapshots:
        window = status_window(integration.settings or {}, has_liveness=True)
        ingestor = DeviceIngestor(
            ctx, integration.id, integration.provider, run.id, realm_clients, ctx.actor, fresh_for=window
        )
        async with unit_of_work(state.sessionmaker) as session:
            outcome = await ingestor.ingest(session, DevicePage(snapshots), state.clock())
        counters["new_devices"] += outcome.counters.created
        found = {s.external_id for s in snapshots}
        await write([r for r in todo if r.external_id in found])
