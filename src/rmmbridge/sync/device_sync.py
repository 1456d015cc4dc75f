"""Device sync: stream every mapped scope's pages through the shared ingestion pipeline.

Fetching and writing overlap: scope walkers (bounded concurrency) put pages on a queue bounded in
records (``page_queue.py``) and a single writer ingests them, one transaction per page together
with the small pages already waiting behind it, while the next pages download. A failed page
fails its scope loudly; only a run in which every page of every scope succeeded is a complete
snapshot, and only a complete snapshot may mark devices missing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update

from rmmbridge.ingestion.devices import DeviceIngestor, IngestCounters, known_devices_source
from rmmbridge.ingestion.lifecycle import apply_complete_snapshot
from rmmbridge.ingestion.liveness import mark_fresh, recompute_status, status_window
from rmmbridge.ingestion.rekey import RekeyCounters
from rmmbridge.integrations import repository as integrations_repo
from rmmbridge.integrations.settings import lifecycle_of
from rmmbridge.kit.metrics import SYNC_DEVICES
from rmmbridge.kit.time import parse_iso
from rmmbridge.providers.base import (
    Capability,
    DevicePage,
    Provider,
    ProviderAuthError,
    ProviderConfigError,
    ProviderError,
    RemoteScope,
)
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.maintenance import GrowthAnalyzer
from rmmbridge.storage.models import RmmIntegration, RmmOrganizationMapping, SyncRun
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext

from . import runs
from .id_changes import follow_device_id_changes
from .ownership import progressed
from .page_queue import PageQueue

SCOPE_CONCURRENCY = 4
# Records one write transaction takes at most when small pages queue up: the largest page a
# Tactical walk asks for. A transaction costs the writer a dozen statements whatever its size: an
# MSP's small clients (one page of a few dozen agents each) written one page at a time spent more
# on that than on their rows. When the writer keeps up, every page goes alone.
WRITE_BATCH = 1000
# Records the walkers may queue ahead of the writer: four of the biggest pages, or as many small
# pages as fill four writes (page_queue.py).
QUEUE_RECORDS = 4 * WRITE_BATCH


@dataclass
class _Progress:
    scopes_total: int
    scopes_done: int = 0
    pages: int = 0
    expected: int = 0
    counters: IngestCounters = field(default_factory=IngestCounters)
    rekeyed: RekeyCounters = field(default_factory=RekeyCounters)
    per_scope: dict[str, int] = field(default_factory=dict)

    def counters_dict(self) -> dict[str, int]:
        return {**self.counters.as_dict(), **asdict(self.rekeyed)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "scopes_total": self.scopes_total,
            "scopes_done": self.scopes_done,
            "pages": self.pages,
            "devices_expected": self.expected or None,
            "devices_done": self.counters.processed,
        }


async def run_device_sync(
    state: AppState, ctx: TenantContext, run: SyncRun, integration: RmmIntegration, provider: Provider
) -> None:
    incremental = bool(run.params.get("incremental")) and provider.supports(Capability.incremental_device_sync)
    since = parse_iso(run.params.get("since")) if incremental else None
    async with unit_of_work(state.sessionmaker) as session:
        mappings = await integrations_repo.syncable_mappings(session, ctx, integration.id)
    realm_clients = {m.external_org_id: m.client_id for m in mappings if m.client_id is not None}
    scopes = [
        RemoteScope(m.external_org_id, m.external_org_name, m.scope_kind, attributes=dict(m.attributes or {}))
        for m in mappings
    ]
    # Providers whose devices can belong to several scopes (Tanium's overlapping computer groups)
    # need the mapped scopes to pick each device's owner deterministically.
    provider.ctx.settings = {**provider.ctx.settings, "mapped_scope_ids": sorted(realm_clients)}
    provider.ctx.known_devices = known_devices_source(state.sessionmaker, ctx, integration.id)
    window = status_window(integration.settings or {}, provider.supports(Capability.liveness))
    ingestor = DeviceIngestor(
        ctx, integration.id, integration.provider, run.id, realm_clients, ctx.actor, fresh_for=window
    )
    started_at = state.clock()
    progress = _Progress(scopes_total=len(scopes))
    errors: list[dict[str, Any]] = []
    progress.rekeyed = await follow_device_id_changes(state, ctx, integration, provider, errors)
    failed_scopes: dict[str, str] = {}
    fatal: list[ProviderError] = []
    queue: PageQueue[tuple[RemoteScope, DevicePage]] = PageQueue(QUEUE_RECORDS, lambda item: _records(item[1]))
    limit = asyncio.Semaphore(SCOPE_CONCURRENCY)

    async def walk(scope: RemoteScope) -> None:
        async with limit:
            try:
                first = True
                async for page in provider.iter_device_pages(scope, since=since):
                    if first and page.total is not None:
                        progress.expected += page.total
                    first = False
                    progressed()
                    await queue.put((scope, page))
            except (ProviderAuthError, ProviderConfigError) as exc:
                fatal.append(exc)  # no other scope will fare better: stop and show it
                failed_scopes[scope.external_id] = exc.message
            except ProviderError as exc:
                failed_scopes[scope.external_id] = exc.message
                errors.append({"scope": scope.external_id, "error": exc.message, "cause": exc.cause or ""})

    consumer_gone = False

    async def produce() -> None:
        try:
            await asyncio.gather(*(walk(s) for s in scopes))
        finally:
            # The end marker is for a consumer still reading. Once it has stopped (cancelled, or
            # its write failed) nobody will take from the queue any more.
            if not consumer_gone:
                await queue.put(None)

    analyzer = GrowthAnalyzer()
    producer = asyncio.create_task(produce())
    try:
        while (batch := await queue.take(WRITE_BATCH)) is not None:
            page, error_scopes = _merged(batch)
            async with unit_of_work(state.sessionmaker) as session:
                outcome = await ingestor.ingest(session, page, state.clock())
                await analyzer.after_page(session, outcome.counters.created)
                progress.pages += len(batch)
                progress.counters.add(outcome.counters)
                for scope, part in batch:
                    progress.per_scope[scope.external_id] = progress.per_scope.get(scope.external_id, 0) + len(
                        part.snapshots
                    )
                errors.extend({"scope": error_scopes(e), **e} for e in outcome.errors)
                await _save_progress(session, run, progress, errors)
    finally:
        consumer_gone = True
        if not producer.done():
            producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
    progress.scopes_done = len(scopes)
    if fatal:
        raise fatal[0]  # the executor fails the run and flags the integration

    for outcome_key in ("created", "updated", "unchanged", "failed"):
        SYNC_DEVICES.labels(integration.provider, outcome_key).inc(getattr(progress.counters, outcome_key))
    complete = not failed_scopes and since is None and progress.counters.failed == 0
    observed_all = not failed_scopes and since is None  # every device of every mapped scope was read
    await _finish(
        state,
        ctx,
        run,
        integration,
        progress,
        errors,
        failed_scopes,
        complete,
        list(realm_clients),
        (started_at, window) if observed_all else None,
    )


def _records(page: DevicePage) -> int:
    return len(page.snapshots) + len(page.invalid)


def _merged(batch: list[tuple[RemoteScope, DevicePage]]) -> tuple[DevicePage, Callable[[dict[str, str]], str]]:
    """The batch as one page for the ingestor, and which scope an error of it belongs to (a record
    that failed normalization: its page's; a snapshot refused later: the scope that listed it)."""
    if len(batch) == 1:
        scope, page = batch[0]
        return page, lambda _error: scope.external_id
    page = DevicePage(
        [snap for _, part in batch for snap in part.snapshots],
        [record for _, part in batch for record in part.invalid],
    )
    listed = {snap.external_id: scope.external_id for scope, part in batch for snap in part.snapshots}
    # The ingestor reports the page's invalid records first, in their order, then refused snapshots.
    invalid_scopes = iter([scope.external_id for scope, part in batch for _ in part.invalid])

    def scope_of(error: dict[str, str]) -> str:
        return next(invalid_scopes, None) or listed.get(error.get("external_id", ""), batch[0][0].external_id)

    return page, scope_of


async def _save_progress(session: Any, run: SyncRun, progress: _Progress, errors: list[dict[str, Any]]) -> None:
    # Fenced: a page written by an attempt that lost the run rolls back with its refused progress.
    await runs.save_progress(session, run, progress.counters_dict(), progress.as_dict(), errors)


async def _finish(
    state: AppState,
    ctx: TenantContext,
    run: SyncRun,
    integration: RmmIntegration,
    progress: _Progress,
    errors: list[dict[str, Any]],
    failed_scopes: dict[str, str],
    complete: bool,
    realm_ids: list[str],
    freshness: tuple[datetime, timedelta] | None,
) -> None:
    now = state.clock()
    async with unit_of_work(state.sessionmaker) as session:
        fresh = await runs.get_run(session, ctx, run.id)
        counters = progress.counters_dict()
        if complete:
            result = await apply_complete_snapshot(
                session,
                ctx,
                integration.id,
                run.id,
                realm_ids,
                lifecycle_of(integration.settings or {}),
                ctx.actor,
                now,
            )
            counters["missing"], counters["retired"] = result.missing, result.retired
        if freshness is not None:
            await mark_fresh(session, ctx, integration.id, *freshness)
        counters["status_changed"] = await recompute_status(session, ctx, integration.id, now, actor=ctx.actor)
        if complete:  # agent coverage across integrations (identity/coverage.py)
            from rmmbridge.identity.coverage import emit_if_changed

            await emit_if_changed(session, ctx, now)
        await _touch_mappings(session, ctx, integration.id, progress, failed_scopes, now)
        fresh.counters = counters
        fresh.progress = {**progress.as_dict(), "scopes_done": progress.scopes_total}
        fresh.errors = errors[: runs.MAX_ERRORS]
        if failed_scopes and len(failed_scopes) == progress.scopes_total:
            status = "failed"
        elif failed_scopes or progress.counters.failed:
            status = "partial"
        else:
            status = "succeeded"
        await runs.finish_run(session, fresh, status, complete_snapshot=complete)


async def _touch_mappings(
    session: Any,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    progress: _Progress,
    failed: dict[str, str],
    now: datetime,
) -> None:
    """Each synced scope's device count and time: one executemany (an MSP's 200 clients were 200
    round trips at the end of every sync)."""
    counts = [
        {"b_scope": scope_id, "device_count": count}
        for scope_id, count in progress.per_scope.items()
        if scope_id not in failed
    ]
    if not counts:
        return
    table = table_of(RmmOrganizationMapping)
    m = table.c
    await session.execute(
        update(table)
        .where(
            m.tenant_id == ctx.tenant_id,
            m.integration_id == integration_id,
            m.external_org_id == bindparam("b_scope"),
        )
        .values(last_synced_at=now, device_count=bindparam("device_count")),
        counts,
    )
