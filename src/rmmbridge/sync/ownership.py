"""Who owns a sync run: its fencing token, its lease, and the heartbeat that renews the lease.

A claim makes a process (or a Temporal worker) the run's owner and increments ``attempt``, the
fencing token. Every later write of the run's state names that token in its WHERE clause, so an
owner that lost the run (its lease expired and another took over, or the orchestrator retried it
elsewhere) has its late writes refused instead of overwriting its successor's.

The lease is renewed by :class:`LeaseKeeper` every third of its length, but only while the work
makes progress (a page fetched, rows written: :func:`progressed`) and the owner is not stopping.
A wedged run therefore loses its lease instead of holding it forever, while a run that is merely
waiting on a slow page keeps it: liveness comes from the owner, not from how long one page takes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import ColumnElement, update

from rmmbridge.kit.http import response_observer
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import SyncRun

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Fence:
    """The owner of one attempt of a run, and its fencing token."""

    owner: str
    attempt: int
    lease_s: float = 30.0


class RunSuperseded(Exception):
    """The run is no longer this owner's (a newer attempt took it, or it ended): the write is refused."""


# The fence of the attempt executing in this task (and the tasks it starts): run writes deep in
# the jobs (finish_run, save_progress) pick it up without every job passing it along.
current_fence: ContextVar[Fence | None] = ContextVar("rmmbridge_run_fence", default=None)
_current_keeper: ContextVar[LeaseKeeper | None] = ContextVar("rmmbridge_run_keeper", default=None)


def fenced(tenant_id: uuid.UUID, run_id: uuid.UUID, fence: Fence) -> tuple[ColumnElement[bool], ...]:
    """The WHERE clause of every write of a run's state by its owner."""
    return (
        SyncRun.tenant_id == tenant_id,
        SyncRun.id == run_id,
        SyncRun.attempt == fence.attempt,
        SyncRun.status == "running",
    )


def refused(run_id: uuid.UUID, fence: Fence, what: str) -> RunSuperseded:
    log.warning("sync_write_refused", run_id=str(run_id), attempt=fence.attempt, owner=fence.owner, write=what)
    return RunSuperseded(f"run {run_id}: attempt {fence.attempt} of {fence.owner} no longer owns it ({what} refused)")


def progressed() -> None:
    """The current run made progress (a page fetched, rows written): its heartbeat may beat."""
    keeper = _current_keeper.get()
    if keeper is not None:
        keeper.progressed()


def lease_until(lease_s: float) -> timedelta:
    return timedelta(seconds=lease_s)


class LeaseKeeper:
    """Renews one run's lease while its work progresses; notices when the run was taken over.

    ``on_beat`` runs after each renewal (the Temporal activity's heartbeat, so Temporal and the
    database agree on whether the worker is alive). When a renewal is refused by the fence, the
    task executing the run is cancelled and :attr:`superseded` is set.
    """

    def __init__(
        self,
        sessionmaker: object,
        tenant_id: uuid.UUID,
        run_id: uuid.UUID,
        fence: Fence,
        *,
        lease_s: float,
        stall_s: float,
        on_beat: Callable[[], None] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.tenant_id, self.run_id, self.fence = tenant_id, run_id, fence
        self.lease_s, self.stall_s = lease_s, stall_s
        self.every = lease_s / 3
        self._on_beat = on_beat
        self._last_progress = time.monotonic()
        self._stopping = False
        self._stalled_logged = False
        self.superseded = False
        self._task: asyncio.Task[None] | None = None
        self._owner_task: asyncio.Task[object] | None = None

    def progressed(self) -> None:
        self._last_progress = time.monotonic()
        self._stalled_logged = False

    def stop_beating(self) -> None:
        """The owner is stopping: no more renewals (the lease runs out unless the run is handed back)."""
        self._stopping = True

    def start(self) -> None:
        self._owner_task = asyncio.current_task()
        _current_keeper.set(self)
        response_observer.set(self.progressed)
        self._task = asyncio.create_task(self._loop(), name=f"lease-{self.run_id}")

    async def close(self) -> None:
        _current_keeper.set(None)
        response_observer.set(None)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def beating(self) -> bool:
        if self._stopping:
            return False
        stalled = time.monotonic() - self._last_progress > self.stall_s
        if stalled and not self._stalled_logged:
            self._stalled_logged = True
            log.warning("sync_run_stalled", run_id=str(self.run_id), seconds_without_progress=round(self.stall_s))
        return not stalled

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            if not self.beating():
                continue
            try:
                async with unit_of_work(self._sessionmaker) as session:  # type: ignore[arg-type]
                    now = utcnow()
                    result = await session.execute(
                        update(SyncRun)
                        .where(*fenced(self.tenant_id, self.run_id, self.fence))
                        .values(heartbeat_at=now, lease_expires_at=now + lease_until(self.lease_s))
                    )
                    renewed = bool(result.rowcount)  # type: ignore[attr-defined]
            except Exception as exc:  # a database blip: the next beat retries, well inside the lease
                log.warning("sync_lease_renewal_failed", run_id=str(self.run_id), error=str(exc)[:200])
                continue
            if not renewed:
                self.superseded = True
                refused(self.run_id, self.fence, "lease renewal")
                if self._owner_task is not None:
                    self._owner_task.cancel()
                return
            if self._on_beat is not None:
                self._on_beat()
