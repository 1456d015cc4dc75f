"""Per-integration webhook secrets: created only by an explicit rotate, stored encrypted, looked up
by keyed digest, compared in constant time."""

from __future__ import annotations

import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.masking import mask
from rmmbridge.storage.models import RmmIntegration
from rmmbridge.web.state import AppState


def secret_name(row: RmmIntegration) -> str:
    return f"integration/{row.id}/webhook_secret"


async def rotate(state: AppState, session: AsyncSession, row: RmmIntegration) -> str:
    secret = "whs_" + secrets.token_urlsafe(32)
    await state.secrets.put(session, row.tenant_id, secret_name(row), secret)
    row.webhook_secret_digest = state.secrets.digest(secret)
    await session.flush()
    return secret


async def reveal(state: AppState, session: AsyncSession, row: RmmIntegration) -> str | None:
    if row.webhook_secret_digest is None:
        return None
    return await state.secrets.get(session, row.tenant_id, secret_name(row))


async def hint(state: AppState, session: AsyncSession, row: RmmIntegration) -> str | None:
    value = await reveal(state, session, row)
    return mask(value) if value else None


async def find_by_secret(
    state: AppState, session: AsyncSession, provider: str, presented: str
) -> RmmIntegration | None:
    """The integration owning ``presented`` — cross-tenant by design: the secret *is* the credential."""
    if not presented or len(presented) > 512:
        return None
    digest = state.secrets.digest(presented)
    row = await session.scalar(
        select(RmmIntegration).where(
            RmmIntegration.webhook_secret_digest == digest, RmmIntegration.provider == provider
        )
    )
    if row is None or row.webhook_secret_digest is None:
        return None
    if not hmac.compare_digest(row.webhook_secret_digest, digest):
        return None
    return row
