"""Per-integration webhook secrets: created only by an explicit rotate, stored encrypted, looked up
by keyed digest (``alerts/intake.py`` finds the integration of a delivery that way)."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import WrongState
from rmmbridge.kit.masking import mask
from rmmbridge.kit.time import utcnow
from rmmbridge.state import AppState
from rmmbridge.storage.models import RmmIntegration


def secret_name(row: RmmIntegration) -> str:
    return f"integration/{row.id}/webhook_secret"


async def rotate(state: AppState, session: AsyncSession, row: RmmIntegration, *, mark_configured: bool = True) -> str:
    """A new secret. ``mark_configured``: the admin now configures the RMM by hand, so from here an
    alert polling finds first counts as missed (provisioning marks it itself, once the RMM took it)."""
    # Here, not in each caller, so the REST API and the CLI refuse alike.
    if row.state in ("disconnected", "not_configured"):
        raise WrongState("configure the integration before creating a webhook secret")
    secret = "whs_" + secrets.token_urlsafe(32)
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
