"""Devices the RMM re-keyed (Tanium merges and re-registrations give an endpoint a new id).

The crosswalk follows the new id and the asset stays — its history, admin edits and alerts with
it. Without this a re-keyed device would become a new asset and the old one would go missing.
When the new id was already ingested as an asset of its own (the change arrived after the device
was seen under its new id), the older asset takes the id over and the newer duplicate retires.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.events import catalogue
from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.storage.models import AssetHistory, ExternalEntityMapping
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext

from .devices import ASSETS, DEVICE, history_row, update_by_key


@dataclass
class RekeyCounters:
    rekeyed: int = 0
    merged: int = 0


async def apply_device_id_changes(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    changes: Sequence[tuple[str, str]],
    actor: str,
    now: datetime,
) -> RekeyCounters:
    """Apply ``(old id, new id)`` changes in order (chains ``a→b``, ``b→c`` included). Applying a
    change twice is harmless: the old id is no longer mapped the second time."""
    counters = RekeyCounters()
    ids = sorted({i for pair in changes for i in pair})
    if not ids:
        return counters
    rows = await session.scalars(
        select(ExternalEntityMapping).where(
            ExternalEntityMapping.tenant_id == ctx.tenant_id,
            ExternalEntityMapping.integration_id == integration_id,
            ExternalEntityMapping.entity_type == DEVICE,
            ExternalEntityMapping.external_id.in_(ids),
        )
    )
    by_id = {m.external_id: m for m in rows}
    history: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    renamed: dict[uuid.UUID, str] = {}  # asset id → its device id now
    retired: list[uuid.UUID] = []  # newer duplicates that gave their id up

    def log(asset_id: uuid.UUID, action: str, change: dict[str, Any]) -> None:
        history.append(history_row(ctx.tenant_id, asset_id, action, actor, change, now))
        events.append(
            event_row(
                ctx.tenant_id,
                catalogue.ASSET_ACTION_EVENTS[action],
                "asset",
                asset_id,
                {"integration_id": str(integration_id), **change},
                now,
            )
        )

    for old, new in changes:
        mapping = by_id.pop(old, None) if old != new else None
        if mapping is None:
            continue
        duplicate = by_id.pop(new, None)
        if duplicate is not None:
            # The newer asset gives up the id (its row goes first: the id is unique) and retires.
            await session.delete(duplicate)
            await session.flush()
            mapping.realm_id, mapping.site_id = duplicate.realm_id, duplicate.site_id
            mapping.last_seen_run_id = duplicate.last_seen_run_id
            # Correlation may already have attached the new id to the same asset (same hardware):
            # then there is no duplicate asset to retire, only the second crosswalk row to drop.
            if duplicate.local_id != mapping.local_id:
                # The id now belongs to the older asset; the history row keeps it for this one.
                retired.append(duplicate.local_id)
                log(duplicate.local_id, "retired", {"merged_into": str(mapping.local_id), "rmm_device_id": new})
                counters.merged += 1
        mapping.external_id = new
        mapping.content_hash = None  # the next snapshot under the new id is written in full
        await session.flush()
        by_id[new] = mapping
        renamed[mapping.local_id] = new
        log(mapping.local_id, "rekeyed", {"rmm_device_id": [old, new]})
        counters.rekeyed += 1
    # Two set-based updates: renamed assets take their new id; merged duplicates retire.
    for group in (
        [{"b_tenant": ctx.tenant_id, "b_id": a, "rmm_device_id": d, "updated_at": now} for a, d in renamed.items()],
        [
            {"b_tenant": ctx.tenant_id, "b_id": a, "status": "retired", "rmm_device_id": None, "updated_at": now}
            for a in retired
        ],
    ):
        if group:
            await session.execute(update_by_key(ASSETS, "id", group[0]), group)
    if history:
        await session.execute(insert(table_of(AssetHistory)), history)
    await write_events(session, events)
    return counters
