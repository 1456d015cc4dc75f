"""The secret store: credentials and webhook secrets, encrypted at rest.

``SecretStore`` is the extension point (a Vault or KMS-backed store can implement it); the default
:class:`DbSecretStore` keeps AES-GCM ciphertext in ``tenant_secrets``, sealed under the master key
with ``tenant_id/name`` as associated data. Writes join the caller's transaction.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.crypto import Sealer
from rmmbridge.storage.models import TenantSecret


class SecretStore(Protocol):
    async def put(self, session: AsyncSession, tenant_id: uuid.UUID, name: str, value: str) -> None:
        """Create or replace the secret ``name``."""

    async def get(self, session: AsyncSession, tenant_id: uuid.UUID, name: str) -> str | None:
        """The plaintext, or ``None`` when absent."""

    async def get_many(self, session: AsyncSession, tenant_id: uuid.UUID, prefix: str) -> dict[str, str]:
        """Every secret under ``prefix`` (names without the prefix) in one query."""

    async def delete_prefix(self, session: AsyncSession, tenant_id: uuid.UUID, prefix: str) -> int:
        """Delete every secret whose name starts with ``prefix``; returns how many."""

    def digest(self, value: str) -> str:
        """Keyed digest of a secret value, for lookups without storing the value."""


class DbSecretStore:
    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    @staticmethod
    def _aad(tenant_id: uuid.UUID, name: str) -> str:
        return f"{tenant_id}/{name}"

    async def put(self, session: AsyncSession, tenant_id: uuid.UUID, name: str, value: str) -> None:
        blob = self._sealer.seal(value, self._aad(tenant_id, name))
        row = await session.get(TenantSecret, (tenant_id, name))
        if row is None:
            session.add(TenantSecret(tenant_id=tenant_id, name=name, ciphertext=blob))
        else:
            row.ciphertext = blob
        await session.flush()

    async def get(self, session: AsyncSession, tenant_id: uuid.UUID, name: str) -> str | None:
        blob = await session.scalar(
            select(TenantSecret.ciphertext).where(TenantSecret.tenant_id == tenant_id, TenantSecret.name == name)
        )
        return None if blob is None else self._sealer.open(blob, self._aad(tenant_id, name))

    async def get_many(self, session: AsyncSession, tenant_id: uuid.UUID, prefix: str) -> dict[str, str]:
        rows = await session.execute(
            select(TenantSecret.name, TenantSecret.ciphertext).where(
                TenantSecret.tenant_id == tenant_id, TenantSecret.name.startswith(prefix, autoescape=True)
            )
        )
        return {name[len(prefix) :]: self._sealer.open(blob, self._aad(tenant_id, name)) for name, blob in rows}

    async def delete_prefix(self, session: AsyncSession, tenant_id: uuid.UUID, prefix: str) -> int:
        result = await session.execute(
            delete(TenantSecret).where(
                TenantSecret.tenant_id == tenant_id, TenantSecret.name.startswith(prefix, autoescape=True)
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def digest(self, value: str) -> str:
        return self._sealer.digest(value)
