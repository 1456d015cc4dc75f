"""When each (integration, kind) schedule runs next, and what its last run did.

One rule for everyone: the scheduler (direct and Temporal) fires a schedule when
:func:`next_start` says so, and the provider page, the REST API and the CLI show the same instant.
The next start is computed from the *current* settings and the last firing, not stored ahead of
time, so an interval edited by an admin takes effect at the next tick.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import ValidationFailed
from rmmbridge.integrations.schemas import IntegrationUpdate
from rmmbridge.integrations.service import update_integration
from rmmbridge.integrations.settings import SCHEDULE_KINDS, EffectiveSchedule, schedules_of
from rmmbridge.kit.text import InputJson
from rmmbridge.kit.time import ensure_utc, utcnow
from rmmbridge.providers.base import KIND_CAPABILITY, Provider
from rmmbridge.storage.models import RmmIntegration, ScheduleState, SyncRun
from rmmbridge.storage.models.sync import ACTIVE_RUN_STATUSES
from rmmbridge.tenancy.context import TenantContext

from .schemas import ScheduleOut, ScheduleRunOut

# A liveness pass over 20,000 agents costs a Tactical server ~10–20 s of one worker; starting the
# next one no sooner than 10× the last one's duration keeps rmmbridge under ~10 % of its time.
ADAPTIVE_KINDS = frozenset({"liveness"})
ADAPTIVE_FACTOR = 10
# Ticks and the clock reading inside a tick jitter by milliseconds; without slack a 60 s schedule
# checked by a 10 s tick would alternate between 60 s and 70 s. (The cadence itself is anchored to
# the due time, not the tick that fired it: scheduler.fire_due.)
DUE_SLACK = timedelta(seconds=1)

Key = tuple[uuid.UUID, uuid.UUID, str]  # (tenant, integration, kind)


@dataclass(frozen=True, slots=True)
class PassTiming:
    """When the last finished run of a kind started and finished."""

    started_at: datetime
    finished_at: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


def next_start(
    schedule: EffectiveSchedule, last_fired_at: datetime | None, last_pass: PassTiming | None
) -> datetime | None:
    """The earliest instant the schedule may start a run; ``None``: it has never fired (now).

    Liveness is adaptive: never sooner than the last pass's start plus ten times its duration.
    """
    fired = ensure_utc(last_fired_at)
    due = fired + schedule.interval() if fired is not None else None
    if schedule.kind in ADAPTIVE_KINDS and last_pass is not None:
        held = last_pass.started_at + timedelta(seconds=ADAPTIVE_FACTOR * last_pass.seconds)
        due = held if due is None or held > due else due
    return due


def is_due(due: datetime | None, now: datetime) -> bool:
    return due is None or due <= now + DUE_SLACK


async def latest_runs(
    session: AsyncSession,
    kinds: Iterable[str],
    *,
    tenant_id: uuid.UUID | None = None,
    integration_id: uuid.UUID | None = None,
    finished: bool = False,
) -> dict[Key, SyncRun]:
    """The newest whole-integration run of each (integration, kind), ``finished`` ones only if
    asked: one query per kind, each an index walk (``ix_sync_runs_recent_target``) per active
    integration rather than a scan of the run history, which a minutely pass makes long."""
    R, integ = SyncRun, RmmIntegration
    out: dict[Key, SyncRun] = {}
    for kind in kinds:
        newest = (
            select(R.id)
            .where(R.tenant_id == integ.tenant_id, R.integration_id == integ.id, R.kind == kind, R.target == "")
            .order_by(R.created_at.desc())
            .limit(1)
        )
        if finished:
            newest = newest.where(R.finished_at.is_not(None), R.started_at.is_not(None))
        query = select(R).join(
            integ, and_(R.tenant_id == integ.tenant_id, R.id == newest.correlate(integ).scalar_subquery())
        )
        if tenant_id is not None:
            query = query.where(integ.tenant_id == tenant_id)
        if integration_id is not None:
            query = query.where(integ.id == integration_id)
        else:
            query = query.where(integ.is_active.is_(True))
        for run in await session.scalars(query):
            out[(run.tenant_id, run.integration_id, kind)] = run
    return out


def timing_of(run: SyncRun | None) -> PassTiming | None:
    if run is None or run.started_at is None or run.finished_at is None:
        return None
    return PassTiming(ensure_utc(run.started_at), ensure_utc(run.finished_at))  # type: ignore[arg-type]


async def active_kinds(session: AsyncSession, tenant_id: uuid.UUID | None = None) -> set[Key]:
    """(tenant, integration, kind) with a whole-integration run queued or running."""
    R = SyncRun
    query = select(R.tenant_id, R.integration_id, R.kind).where(R.status.in_(ACTIVE_RUN_STATUSES), R.target == "")
    if tenant_id is not None:
        query = query.where(R.tenant_id == tenant_id)
    return {(t, i, k) for t, i, k in await session.execute(query)}


def supported_schedules(cls: type[Provider], settings: dict[str, object]) -> list[EffectiveSchedule]:
    """The schedules of every kind the provider can run, in the order of ``SCHEDULE_KINDS``."""
    return [s for k, s in schedules_of(settings).items() if KIND_CAPABILITY[k] in cls.capabilities]


async def schedule_views(
    session: AsyncSession, ctx: TenantContext, cls: type[Provider], row: RmmIntegration, now: datetime | None = None
) -> list[ScheduleOut]:
    """Every schedule of the integration with its next run and its last run (page, API, CLI)."""
    now = now or utcnow()
    schedules = supported_schedules(cls, row.settings or {})
    kinds = [s.kind for s in schedules]
    states = {
        s.kind: s
        for s in await session.scalars(
            select(ScheduleState).where(
                ScheduleState.tenant_id == ctx.tenant_id,
                ScheduleState.integration_id == row.id,
                ScheduleState.kind.in_(kinds),
            )
        )
    }
    adaptive = [k for k in kinds if k in ADAPTIVE_KINDS]
    timings = await latest_runs(session, adaptive, tenant_id=ctx.tenant_id, integration_id=row.id, finished=True)
    last_runs = await latest_runs(session, kinds, tenant_id=ctx.tenant_id, integration_id=row.id)
    running = await active_kinds(session, ctx.tenant_id)
    out = []
    for schedule in schedules:
        spec = SCHEDULE_KINDS[schedule.kind]
        key = (ctx.tenant_id, row.id, schedule.kind)
        fired = states[schedule.kind].last_fired_at if schedule.kind in states else None
        plain = next_start(EffectiveSchedule(schedule.kind, True, schedule.interval_seconds), fired, None)
        due = next_start(schedule, fired, timing_of(timings.get(key)))
        next_run = None
        if schedule.enabled and row.is_active:
            next_run = due if due is not None and due > now else now
        last = last_runs.get(key)
        out.append(
            ScheduleOut(
                kind=schedule.kind,
                enabled=schedule.enabled,
                interval_seconds=schedule.interval_seconds,
                minimum_seconds=spec.minimum_s,
                maximum_seconds=spec.maximum_s,
                default_seconds=spec.default_s,
                adaptive=schedule.kind in ADAPTIVE_KINDS,
                next_run_at=next_run,
                held_back=bool(next_run and due and plain and due > plain and due > now),
                running=key in running,
                last_fired_at=ensure_utc(fired),
                last_run=ScheduleRunOut.of(last) if last is not None else None,
            )
        )
    return out


async def update_schedule(
    session: AsyncSession,
    ctx: TenantContext,
    cls: type[Provider],
    row: RmmIntegration,
    kind: str,
    *,
    enabled: bool | None = None,
    interval_seconds: int | None = None,
) -> RmmIntegration:
    """Change one schedule (UI form and CLI): the same validation and merge as the settings PATCH,
    plus a clear refusal for a kind the provider cannot run."""
    supported = [s.kind for s in supported_schedules(cls, row.settings or {})]
    if kind not in supported:
        raise ValidationFailed(
            f"{cls.display_name} has no '{kind}' schedule; its schedules: {', '.join(supported)}",
            errors=[{"field": "kind"}],
        )
    change: dict[str, InputJson] = {}
    if enabled is not None:
        change["enabled"] = enabled
    if interval_seconds is not None:
        change["interval_seconds"] = interval_seconds
    return await update_integration(session, ctx, row.id, IntegrationUpdate(settings={"schedules": {kind: change}}))
