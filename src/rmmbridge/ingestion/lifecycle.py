"""What happens to devices the RMM no longer lists (status recompute: ``ingestion/liveness.py``).

Deletion is decided only after a *complete* snapshot (every page of every synced scope
succeeded). Devices of those scopes that the run did not see get ``missing_since``; after the
grace period — N further complete snapshots *and* at least H hours — they are retired. The asset
and its crosswalk row are kept, so a device that comes back is revived on the same asset.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.events import catalogue
from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.integrations.settings import Lifecycle
from rmmbridge.storage.models import Asset, AssetHistory, AssetSource, ExternalEntityMapping
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext

from .devices import DEVICE, history_row


@dataclass
class LifecycleResult:
    missing: int = 0
    retired: int = 0


async def apply_complete_snapshot(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    run_id: uuid.UUID,
    realm_ids: list[str],
    policy: Lifecycle,
    actor: str,
    now: datetime,
) -> LifecycleResult:
    """Mark unseen devices of the snapshot's scopes missing; retire those past the grace period."""
    result = LifecycleResult()
    if not realm_ids:
        return result
    m = ExternalEntityMapping
    src = AssetSource
    unseen_of_scope = (
        m.tenant_id == ctx.tenant_id,
        m.integration_id == integration_id,
        m.entity_type == DEVICE,
        m.realm_id.in_(realm_ids),
        or_(m.last_seen_run_id.is_(None), m.last_seen_run_id != run_id),
    )
    # Sources first: this integration no longer lists them. An asset with several sources (the same
    # machine in another RMM, or a reinstalled agent) stays live while any of its sources is.
    await session.execute(
        update(src)
        .where(
            src.tenant_id == ctx.tenant_id,
            src.missing_since.is_(None),
            src.mapping_id.in_(select(m.id).where(*unseen_of_scope)),
        )
        .values(missing_since=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    unseen = select(m.local_id).where(*unseen_of_scope)
    live_elsewhere = select(src.asset_id).where(src.tenant_id == ctx.tenant_id, src.missing_since.is_(None))
    in_scope = (
        Asset.tenant_id == ctx.tenant_id,
        Asset.status.not_in(("retired", "merged")),
        Asset.id.in_(unseen),
        Asset.id.not_in(live_elsewhere),
    )
    # Already missing: one more complete snapshot without them.
    await session.execute(
        update(Asset)
        .where(*in_scope, Asset.missing_since.is_not(None))
        .values(missing_snapshots=Asset.missing_snapshots + 1)
        .execution_options(synchronize_session=False)
    )
    newly_missing = list(
        (
            await session.execute(
                update(Asset)
                .where(*in_scope, Asset.missing_since.is_(None))
                .values(missing_since=now, missing_snapshots=1, updated_at=now)
                .returning(Asset.id)
                .execution_options(synchronize_session=False)
            )
        ).scalars()
    )
    mine = select(m.local_id).where(
        m.tenant_id == ctx.tenant_id, m.integration_id == integration_id, m.entity_type == DEVICE
    )
    retired = list(
        (
            await session.execute(
                update(Asset)
                .where(
                    Asset.tenant_id == ctx.tenant_id,
                    Asset.id.in_(mine),
                    Asset.id.not_in(live_elsewhere),
                    Asset.status.not_in(("retired", "merged")),
                    Asset.missing_since.is_not(None),
                    Asset.missing_since <= now - timedelta(hours=policy.retire_after_hours),
                    Asset.missing_snapshots >= policy.retire_after_snapshots,
                )
                .values(status="retired", updated_at=now)
                .returning(Asset.id)
                .execution_options(synchronize_session=False)
            )
        ).scalars()
    )
    result.missing, result.retired = len(newly_missing), len(retired)
    history = [
        history_row(ctx.tenant_id, aid, action, actor, {}, now)
        for action, ids in (("missing", newly_missing), ("retired", retired))
        for aid in ids
    ]
    if history:
        await session.execute(insert(table_of(AssetHistory)), history)
    await write_events(
        session,
        [
            event_row(
                ctx.tenant_id,
                catalogue.ASSET_ACTION_EVENTS[action],
                "asset",
                aid,
                {"integration_id": str(integration_id)},
                now,
            )
            for action, ids in (("missing", newly_missing), ("retired", retired))
            for aid in ids
        ],
    )
    return result
