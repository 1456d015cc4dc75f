"""Typed records for sync runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class SyncRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    integration_id: uuid.UUID
    kind: str
    trigger: str
    status: str
    params: dict[str, Any]
    counters: dict[str, Any]
    progress: dict[str, Any]
    errors: list[dict[str, Any]]
    complete_snapshot: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempt: int = Field(default=0, description="attempts so far (a run handed back or resumed runs again)")
    attempts: list[dict[str, Any]] = Field(
        default_factory=list, description="each attempt: attempt, owner, started_at, ended_at, cause, counters"
    )
    lease_expires_at: datetime | None = Field(
        default=None, description="while running: when its owner must have renewed its lease, or lose the run"
    )


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incremental: StrictBool = Field(default=False, description="devices: only devices seen since the last full sync")


class SyncStarted(BaseModel):
    run: SyncRunOut
    joined: bool = Field(description="true when a run of this kind was already active and is returned instead")


class ScheduleRunOut(BaseModel):
    """The newest run of a schedule's kind: what it did and what it cost the RMM."""

    id: uuid.UUID
    status: str
    trigger: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    seconds: float | None = Field(description="wall-clock duration; null while it has not finished")
    counters: dict[str, Any]
    error: str | None = Field(default=None, description="the first error, when the run had any")

    @classmethod
    def of(cls, run: Any) -> ScheduleRunOut:
        seconds = None
        if run.started_at is not None and run.finished_at is not None:
            seconds = round(max(0.0, (run.finished_at - run.started_at).total_seconds()), 3)
        first = (run.errors or [None])[0]
        error = (first.get("error") or first.get("cause")) if isinstance(first, dict) else first
        return cls(
            id=run.id,
            status=run.status,
            trigger=run.trigger,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            seconds=seconds,
            counters=dict(run.counters or {}),
            error=str(error) if error else None,
        )


class ScheduleOut(BaseModel):
    """One sync kind's schedule on one integration, as the scheduler sees it."""

    kind: str
    enabled: bool
    interval_seconds: int
    minimum_seconds: int
    maximum_seconds: int
    default_seconds: int
    adaptive: bool = Field(description="the next start also waits 10× the last run's duration (liveness)")
    next_run_at: datetime | None = Field(description="null when disabled or the integration is not active")
    held_back: bool = Field(description="the next run waits longer than the interval because the last one was slow")
    running: bool
    last_fired_at: datetime | None
    last_run: ScheduleRunOut | None
