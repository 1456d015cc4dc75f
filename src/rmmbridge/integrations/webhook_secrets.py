"""Per-integration webhook secrets: created only by an explicit rotate, stored encrypted, looked up
by keyed digest (``alerts/intake.py`` finds the integration of a delivery that way).

A rotation replaces the secret at once, except for providers declaring
``webhook_secret_overlap_s`` (NinjaOne, whose configuration rmmbridge re-sends itself): the previous
secret is then still accepted for that long, so deliveries NinjaOne already signed with it, or
sends before it applied the new configuration, are not refused."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import WrongState
from rmmbridge.kit.masking import mask
from rmmbridge.kit.time import utcnow
from rmmbridge.state import AppState
from rmmbridge.storage.models import RmmIntegration


def secret_name(row: RmmIntegration) -> str:
    return f"integration/{row.id}/webhook_secret"


def previous_name(row: RmmIntegration) -> str:
    return f"integration/{row.id}/webhook_secret_previous"


def new_secret() -> str:
    return "whs_" + secrets.token_urlsafe(32)


def overlap_s(state: AppState, row: RmmIntegration) -> int:
    if row.provider not in state.registry:
        return 0
    return int(getattr(state.registry.get(row.provider), "webhook_secret_overlap_s", 0) or 0)


async def rotate(
    state: AppState,
    session: AsyncSession,
    row: RmmIntegration,
    *,
    secret: str | None = None,
    mark_configured: bool = True,
) -> str:
    """Store a new secret (``secret`` when the caller already sent it to the RMM) and return it.
    ``mark_configured``: the admin now configures the RMM by hand, so from here an alert polling
    finds first counts as missed (provisioning marks it itself, once the RMM took it)."""
    # Here, not in each caller, so the REST API and the CLI refuse alike.
    if row.state in ("disconnected", "not_configured"):
        raise WrongState("configure the integration before creating a webhook secret")
    secret = secret or new_secret()
    overlap = overlap_s(state, row)
    old = await reveal(state, session, row) if overlap else None
    if old:
        await state.secrets.put(session, row.tenant_id, previous_name(row), old)
        row.previous_webhook_secret_digest = row.webhook_secret_digest
        row.previous_webhook_secret_until = state.clock() + timedelta(seconds=overlap)
    else:
        await state.secrets.delete_prefix(session, row.tenant_id, previous_name(row))
        row.previous_webhook_secret_digest = None
        row.previous_webhook_secret_until = None
    await state.secrets.put(session, row.tenant_id, secret_name(row), secret)
    row.webhook_secret_digest = state.secrets.digest(secret)
    if mark_configured and row.webhook_configured_at is None:
        row.webhook_configured_at = utcnow()
    await session.flush()
    return secret


async def reveal(state: AppState, session: AsyncSession, row: RmmIntegration) -> str | None:
    if row.webhook_secret_digest is None:
        return None
    return await state.secrets.get(session, row.tenant_id, secret_name(row))


async def hint(state: AppState, session: AsyncSession, row: RmmIntegration) -> str | None:
    value = await reveal(state, session, row)
    return mask(value) if value else None
