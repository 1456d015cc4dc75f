"""Step one of every device sync: follow the devices the RMM re-keyed since the last sync.

The provider reports ``(old id, new id)`` changes after a watermark; they are applied and the
watermark advanced in one transaction (the per-(integration, stream) cursor), so a change is
never lost and applying one again is harmless.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select

from rmmbridge.ingestion.rekey import RekeyCounters, apply_device_id_changes
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import Provider, ProviderAuthError, ProviderConfigError, ProviderError
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, SyncCursor
from rmmbridge.tenancy.context import TenantContext

log = structlog.get_logger(__name__)

STREAM = "device_id_changes"


async def follow_device_id_changes(
    state: AppState, ctx: TenantContext, integration: RmmIntegration, provider: Provider, errors: list[dict[str, Any]]
) -> RekeyCounters:
    """Apply the re-keyed devices; a provider failure here is a warning on the run, not its end
    (the walk still runs: re-keyed devices then look new until the next sync catches up)."""
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        cursor = await session.scalar(
            select(SyncCursor.value).where(
                SyncCursor.tenant_id == ctx.tenant_id,
                SyncCursor.integration_id == integration.id,
                SyncCursor.stream == STREAM,
            )
        )
    # The first watermark is the integration's creation: nothing before it was ever ingested.
    since = cursor or integration.created_at.isoformat()
    try:
        found = await provider.device_id_changes(since)
    except (ProviderAuthError, ProviderConfigError):
        raise
    except ProviderError as exc:
        log.warning("device_id_changes_failed", integration_id=str(integration.id), error=exc.message)
        errors.append({"scope": "", "error": f"re-keyed devices not checked: {exc.message}", "cause": exc.cause or ""})
        return RekeyCounters()
    if found is None:
        return RekeyCounters()
    async with unit_of_work(state.sessionmaker) as session:
        counters = await apply_device_id_changes(session, ctx, integration.id, found.changes, ctx.actor, utcnow())
        row = await session.get(SyncCursor, (ctx.tenant_id, integration.id, STREAM))
        if row is None:
            session.add(
                SyncCursor(tenant_id=ctx.tenant_id, integration_id=integration.id, stream=STREAM, value=found.watermark)
            )
        else:
            row.value = found.watermark
    if counters.rekeyed:
        log.info(
            "devices_rekeyed", integration_id=str(integration.id), rekeyed=counters.rekeyed, merged=counters.merged
        )
    return counters
