"""What the UI shows about live status and device health: the health chips and the stale banner.

The counts and the status rule are ``assets/repository.py`` and ``assets/status.py``; this module
only decides which integrations the "stale" banner names and how the health filters are offered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.time import ensure_utc, parse_iso
from rmmbridge.providers.registry import ProviderRegistry
from rmmbridge.storage.models import RmmIntegration
from rmmbridge.tenancy.context import TenantContext


@dataclass(frozen=True, slots=True)
class HealthChip:
    """One health filter: its query parameter, its words, and the ``HealthCounts`` field counting it."""

    param: str
    label: str  # after the count: "12 need a reboot"
    count_key: str


HEALTH_CHIPS: tuple[HealthChip, ...] = (
    HealthChip("needs_reboot", "need a reboot", "needs_reboot"),
    HealthChip("failing_checks", "with failing checks", "failing_checks"),
    HealthChip("patches_pending", "with patches pending", "patches_pending"),
    HealthChip("maintenance_mode", "in maintenance", "maintenance_mode"),
)
HEALTH_PARAMS = tuple(c.param for c in HEALTH_CHIPS)


def parse_flag(value: str) -> bool | None:
    """A health filter from the query string: ``true``/``false``; anything else is no filter."""
    text = (value or "").strip().lower()
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no"):
        return False
    return None


@dataclass(frozen=True, slots=True)
class StaleIntegration:
    """An integration whose statuses are no longer fresh: its last successful check is older than
    three liveness intervals (the rule of ``assets/status.py``)."""

    name: str
    provider: str
    checked_at: datetime | None
    last_error: str | None
    id: uuid.UUID | None = None  # links to the integration's own page (a provider may have several)


async def stale_integrations(
    session: AsyncSession, ctx: TenantContext, registry: ProviderRegistry, now: datetime
) -> list[StaleIntegration]:
    """Active integrations whose status checks stopped succeeding (named by the stale banner).

    One that has never completed a check is not listed: its devices have no status to be stale.
    """
    rows = await session.scalars(
        select(RmmIntegration)
        .where(
            RmmIntegration.tenant_id == ctx.tenant_id,
            RmmIntegration.is_active.is_(True),
            RmmIntegration.status_fresh_until.is_not(None),
            RmmIntegration.status_fresh_until < now,
        )
        .order_by(RmmIntegration.name)
    )
    out = []
    for row in rows:
        status = (row.sync_status or {}).get("liveness") or (row.sync_status or {}).get("devices") or {}
        error_at, success_at = parse_iso(status.get("last_error_at")), parse_iso(status.get("last_success_at"))
        error = status.get("last_error") if error_at and (not success_at or error_at > success_at) else None
        name = registry.get(row.provider).display_name if row.provider in registry else row.provider
        out.append(StaleIntegration(row.name or name, row.provider, ensure_utc(row.status_checked_at), error, row.id))
    return out
