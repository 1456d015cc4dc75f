"""The in-process scheduler (direct orchestrator): per-integration schedules, one leader.

Several web processes may run against one PostgreSQL; only the holder of the ``scheduler`` lease
row fires schedules, so a schedule fires once, not once per process. The lease is taken with a
conditional UPDATE (or the first INSERT), renewed every tick, and expires if its holder dies.
Single flight of runs is still enforced by the database underneath, so even two leaders could
not run the same (integration, kind) twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rmmbridge.errors import AppError
from rmmbridge.events.outbox import needs_attention
from rmmbridge.integrations.settings import EffectiveSchedule
from rmmbridge.kit.time import ensure_utc, utcnow
from rmmbridge.providers.registry import ProviderRegistry
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, SchedulerLease, ScheduleState, SyncRun
from rmmbridge.sync.retention import prune_expired
from rmmbridge.tenancy.auth import system_context

from . import runs, schedules
from .runner import process_identity, runner_of
from .service import request_sync

log = structlog.get_logger(__name__)
LEASE_NAME = "scheduler"


async def acquire_lease(session: AsyncSession, holder: str, ttl: timedelta, now: datetime | None = None) -> bool:
    now = now or utcnow()
    result = await session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME, or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    if await session.get(SchedulerLease, LEASE_NAME) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=now + ttl))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def due_schedules(
    sessionmaker: async_sessionmaker[AsyncSession], registry: ProviderRegistry, now: datetime
) -> list[tuple[RmmIntegration, EffectiveSchedule]]:
    """Every (active integration, schedule) due at ``now``: a tick's fixed cost, a few set-based
    queries whatever the number of integrations and the length of their run history."""
    return [(integration, schedule) for integration, schedule, _ in await _due(sessionmaker, registry, now)]


async def _due(
    sessionmaker: async_sessionmaker[AsyncSession], registry: ProviderRegistry, now: datetime
) -> list[tuple[RmmIntegration, EffectiveSchedule, datetime | None]]:
    """:func:`due_schedules`, with when each was due (None: it never fired)."""
    async with unit_of_work(sessionmaker, read_only=True) as session:
        integrations = list(await session.scalars(select(RmmIntegration).where(RmmIntegration.is_active.is_(True))))
        states = {(s.tenant_id, s.integration_id, s.kind): s for s in await session.scalars(select(ScheduleState))}
        passes = await schedules.latest_runs(session, schedules.ADAPTIVE_KINDS, finished=True)
        running = await schedules.active_kinds(session)
    due: list[tuple[RmmIntegration, EffectiveSchedule, datetime | None]] = []
    for integration in integrations:
        if integration.provider not in registry:
            continue
        cls = registry.get(integration.provider)
        for schedule in schedules.supported_schedules(cls, integration.settings or {}):
            key = (integration.tenant_id, integration.id, schedule.kind)
            if not schedule.enabled or key in running:
                continue
            current = states.get(key)
            when = schedules.next_start(
                schedule, current.last_fired_at if current else None, schedules.timing_of(passes.get(key))
            )
            if schedules.is_due(when, now):
                due.append((integration, schedule, when))
    return due


async def fire_due(state: AppState, now: datetime | None = None) -> list[str]:
    """Start every due schedule of every active integration. Returns '<integration>:<kind>' fired.

    Due is :func:`schedules.next_start` (interval from the last firing, adaptive for liveness).
    A kind whose run is still queued or running is skipped quietly: it is not due until it ends.
    """
    now = now or state.clock()
    fired: list[str] = []
    for integration, schedule, when in await _due(state.sessionmaker, state.registry, now):
        key = (integration.tenant_id, integration.id, schedule.kind)
        ctx = system_context(integration.tenant_id, "scheduler")
        try:
            async with unit_of_work(state.sessionmaker) as session:
                started = await request_sync(state, session, ctx, integration.id, schedule.kind, "schedule")
                if started.joined:  # started by someone else since we looked: theirs counts
                    continue
                row = await session.get(ScheduleState, key)
                if row is None:
                    row = ScheduleState(tenant_id=key[0], integration_id=key[1], kind=schedule.kind, next_due_at=now)
                    session.add(row)
                # The cadence is anchored to when the schedule was due, not to the tick that
                # noticed it: a tick fires up to one tick late, and counting the interval from that
                # tick made every period one tick longer (alerts every 15 min ran every 15 min +
                # a tick). After an outage longer than an interval it restarts from now (no burst).
                interval = timedelta(seconds=schedule.interval_seconds)
                fired_at = when if when is not None and now - when < interval else now
                row.last_fired_at = fired_at
                # Informational (the rule is recomputed each tick from current settings).
                row.next_due_at = fired_at + interval
            fired.append(f"{integration.id}:{schedule.kind}")
        except AppError as exc:
            log.warning("schedule_skipped", integration_id=str(integration.id), kind=schedule.kind, reason=exc.detail)
    return fired


ORPHAN_AFTER = timedelta(seconds=5)


async def claim_orphans(state: AppState, now: datetime | None = None) -> int:
    """Run queued runs nobody is running (created by the CLI, or by a process that died).

    Execution claims each run atomically, so a run submitted twice still runs once.
    """
    now = now or utcnow()
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        rows = (
            await session.execute(
                select(SyncRun.tenant_id, SyncRun.id, SyncRun.kind).where(
                    SyncRun.status == "queued", SyncRun.created_at < now - ORPHAN_AFTER
                )
            )
        ).all()
    runner = runner_of(state)
    for tenant_id, run_id, kind in rows:
        await runner.submit(tenant_id, run_id, kind)
    return len(rows)


KEEP_ALIVE = "keepalive"


async def keep_alive_due(state: AppState, now: datetime | None = None) -> list[str]:
    """Keep login sessions of active integrations warm (providers that declare it).

    Not a sync run: a cheap authenticated call. When the session cannot be renewed unattended the
    integration is flagged "needs re-authentication" with the provider's message.
    """
    from rmmbridge.integrations.factory import build_provider
    from rmmbridge.providers.base import ProviderAuthError, ProviderError, ProviderReauthRequired

    now = now or utcnow()
    done: list[str] = []
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        integrations = list(await session.scalars(select(RmmIntegration).where(RmmIntegration.is_active.is_(True))))
        states = {
            (s.tenant_id, s.integration_id): s
            for s in await session.scalars(select(ScheduleState).where(ScheduleState.kind == KEEP_ALIVE))
        }
    for row in integrations:
        cls = state.registry.get(row.provider) if row.provider in state.registry else None
        if cls is None or not cls.keep_alive_minutes:
            continue
        current = states.get((row.tenant_id, row.id))
        if current is not None and not schedules.is_due(ensure_utc(current.next_due_at), now):
            continue
        message = None
        async with unit_of_work(state.sessionmaker) as session:
            fresh = await session.get(RmmIntegration, (row.tenant_id, row.id))
            if fresh is None:
                continue
            await _next_keep_alive(session, row, now, cls.keep_alive_minutes)
            try:
                provider = await build_provider(state, session, fresh, persist_in=session)
            except AppError as exc:  # misconfigured: report it once per interval, keep going with the others
                log.warning("keep_alive_skipped", integration_id=str(row.id), reason=exc.detail)
                continue
            try:
                await provider.keep_alive()
                if provider.credentials_expire_at is not None:
                    fresh.credentials_expire_at = provider.credentials_expire_at
            except ProviderReauthRequired as exc:
                if fresh.state != "needs_reauth":
                    await needs_attention(session, fresh, "needs_reauth", exc.message)
                fresh.state, fresh.state_message = "needs_reauth", exc.message
                message = exc.message
            except ProviderAuthError as exc:
                if fresh.state != "needs_attention":
                    await needs_attention(session, fresh, "needs_attention", exc.message)
                fresh.state, fresh.state_message = "needs_attention", exc.message
                message = exc.message
            except ProviderError as exc:  # transient: try again next time
                message = exc.message
            finally:
                await provider.aclose()
        if message:
            log.warning("keep_alive_failed", integration_id=str(row.id), reason=message)
        done.append(str(row.id))
    return done


async def _next_keep_alive(session: AsyncSession, row: RmmIntegration, now: datetime, minutes: int) -> None:
    sched = await session.get(ScheduleState, (row.tenant_id, row.id, KEEP_ALIVE))
    if sched is None:
        sched = ScheduleState(tenant_id=row.tenant_id, integration_id=row.id, kind=KEEP_ALIVE, next_due_at=now)
        session.add(sched)
    sched.last_fired_at = now
    sched.next_due_at = now + timedelta(minutes=minutes)


# Liveness may run every 30 s; a 10 s tick keeps its cadence within a tenth of that.
TICK_SECONDS = 10.0


class Scheduler:
    def __init__(self, state: AppState, tick_s: float = TICK_SECONDS) -> None:
        self.state = state
        self.tick_s = tick_s
        self.holder = process_identity()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="rmmbridge-scheduler")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        # Give the lease up: the next process (a restart, a redeploy) leads at its first tick
        # instead of waiting out three ticks, and resumes the runs this one handed back.
        try:
            async with unit_of_work(self.state.sessionmaker) as session:
                await session.execute(
                    update(SchedulerLease)
                    .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder)
                    .values(expires_at=utcnow())
                )
        except Exception as exc:  # stopping anyway: the lease then expires on its own
            log.warning("scheduler_lease_release_failed", error=str(exc)[:200])

    async def tick(self) -> list[str]:
        async with unit_of_work(self.state.sessionmaker) as session:
            leader = await acquire_lease(session, self.holder, timedelta(seconds=self.tick_s * 3))
            if leader:
                await runs.fail_stale_runs(session)
        if not leader:
            return []
        await claim_orphans(self.state)
        await keep_alive_due(self.state)
        fired = await fire_due(self.state)
        await prune_expired(self.state)
        return fired

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the loop must survive a bad tick (database blip); the next tick retries
                log.exception("scheduler_tick_failed")
            await asyncio.sleep(self.tick_s)
