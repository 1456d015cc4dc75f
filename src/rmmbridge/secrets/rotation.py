"""Master-key rotation: re-seal every stored secret under a new key, in one transaction.

The master key does two things (``kit/crypto.Sealer``): it seals ``tenant_secrets`` and it keys the
digests by which webhook secrets are found (``rmm_integrations.webhook_secret_digest``). Rotation
must redo both, or every webhook would be refused with the new key. The digests are recomputed from
the secrets being re-sealed: an integration whose digest is the old key's digest of a secret of its
tenant gets the new key's digest of the same secret — no knowledge of how secrets are named.

All or nothing: one transaction, so a failure (a ciphertext the old key does not open) leaves every
row as it was. The processes that hold the old key must be stopped first (docs/operations.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.crypto import Sealer
from rmmbridge.storage.models import RmmIntegration, TenantSecret


@dataclass(frozen=True)
class Resealed:
    secrets: int
    webhook_digests: int


def _aad(tenant_id: uuid.UUID, name: str) -> str:
    return f"{tenant_id}/{name}"  # as DbSecretStore seals them


async def reseal_all(session: AsyncSession, old: Sealer, new: Sealer) -> Resealed:
    """Re-seal every secret of every tenant under ``new``; raise ``DecryptionError`` when ``old``
    does not open one (the wrong old key: nothing is written, the caller's transaction rolls back)."""
    # (row, column): the current digest, and a rotated-out secret's still in its overlap.
    integrations: dict[tuple[uuid.UUID, str], list[tuple[RmmIntegration, str]]] = {}
    for row in await session.scalars(
        select(RmmIntegration).where(
            or_(
                RmmIntegration.webhook_secret_digest.is_not(None),
                RmmIntegration.previous_webhook_secret_digest.is_not(None),
            )
        )
    ):
        for column in ("webhook_secret_digest", "previous_webhook_secret_digest"):
            if getattr(row, column):
                integrations.setdefault((row.tenant_id, str(getattr(row, column))), []).append((row, column))
    secrets = digests = 0
    for secret in await session.scalars(select(TenantSecret)):
        plaintext = old.open(secret.ciphertext, _aad(secret.tenant_id, secret.name))
        secret.ciphertext = new.seal(plaintext, _aad(secret.tenant_id, secret.name))
        secrets += 1
        for row, column in integrations.get((secret.tenant_id, old.digest(plaintext)), []):
            setattr(row, column, new.digest(plaintext))
            digests += column == "webhook_secret_digest"
    await session.flush()
    return Resealed(secrets, digests)
