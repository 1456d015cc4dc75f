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


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incremental: StrictBool = Field(default=False, description="devices: only devices seen since the last full sync")


class SyncStarted(BaseModel):
    run: SyncRunOut
    joined: bool = Field(description="true when a run of this kind was already active and is returned instead")
