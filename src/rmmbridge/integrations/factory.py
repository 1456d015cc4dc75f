"""Build a provider instance for one integration row (per use; never shared across tenants)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import ValidationFailed
from rmmbridge.providers.base import Provider, ProviderContext
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration


def credential_prefix(integration_id: uuid.UUID) -> str:
    return f"integration/{integration_id}/cred/"


def validation_context(state: AppState) -> dict[str, object]:
    """What provider config validators may consult: the operator's policies."""
    return {"allow_insecure_provider_urls": state.settings.allow_insecure_provider_urls}


async def build_provider(
    state: AppState, session: AsyncSession, row: RmmIntegration, *, persist_in: AsyncSession | None = None
) -> Provider:
    """A provider instance for this row.

    Renewed credentials (``ctx.save_secrets``) are written through ``persist_in`` when given — a
    request that already holds the write transaction (SQLite has one writer) — and otherwise in a
    short transaction of their own, so a renewed token survives even if the caller rolls back.
    """
    cls = state.registry.get(row.provider)
    model = cls.config_model
    secrets = await state.secrets.get_many(session, row.tenant_id, credential_prefix(row.id))
    data = {k: v for k, v in (row.settings or {}).items() if k in model.model_fields}
    if "instance_url" in model.model_fields and row.instance_url:
        data["instance_url"] = row.instance_url
    if "auth_mode" in model.model_fields and row.auth_mode:
        data["auth_mode"] = row.auth_mode
    data.update({k: v for k, v in secrets.items() if k in model.model_fields})
    try:
        config = model.model_validate(data, context=validation_context(state))
    except ValidationError as exc:
        raise ValidationFailed(
            f"{cls.display_name} is not fully configured: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None

    tenant_id, integration_id = row.tenant_id, row.id

    async def save_secrets(values: dict[str, str]) -> None:
        if persist_in is not None:
            for name, value in values.items():
                await state.secrets.put(persist_in, tenant_id, credential_prefix(integration_id) + name, value)
            return
        async with unit_of_work(state.sessionmaker) as s:
            for name, value in values.items():
                await state.secrets.put(s, tenant_id, credential_prefix(integration_id) + name, value)

    @asynccontextmanager
    async def credential_lock() -> AsyncIterator[_LockedCredentials]:
        # The lock is the integration's row: SELECT … FOR UPDATE on PostgreSQL, and on SQLite a
        # no-op UPDATE that takes the single write lock first. Every serve process and worker
        # refreshing this integration's tokens queues here; the caller re-reads inside.
        if persist_in is not None:  # the request already holds the write transaction (SQLite)
            await _lock_row(persist_in, tenant_id, integration_id)
            yield _LockedCredentials(state, persist_in, tenant_id, integration_id)
            return
        async with unit_of_work(state.sessionmaker) as s:
            await _lock_row(s, tenant_id, integration_id)
            yield _LockedCredentials(state, s, tenant_id, integration_id)

    ctx = ProviderContext(
        integration_id=row.id,
        tenant_id=row.tenant_id,
        settings=dict(row.settings or {}),
        http=state.http,
        now=lambda: state.clock(),
        sleep=lambda seconds: state.sleep(seconds),
        save_secrets=save_secrets,
        credential_lock=credential_lock,
    )
    return cls(config, ctx)


async def _lock_row(session: AsyncSession, tenant_id: uuid.UUID, integration_id: uuid.UUID) -> None:
    where = (RmmIntegration.tenant_id == tenant_id, RmmIntegration.id == integration_id)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(RmmIntegration.id).where(*where).with_for_update())
    else:
        await session.execute(update(RmmIntegration).where(*where).values(provider=RmmIntegration.provider))


class _LockedCredentials:
    """The integration's stored credentials, read and written inside the locking transaction."""

    def __init__(self, state: AppState, session: AsyncSession, tenant_id: uuid.UUID, integration_id: uuid.UUID):
        self.state, self.session, self.tenant_id = state, session, tenant_id
        self.prefix = credential_prefix(integration_id)

    async def read(self) -> dict[str, str]:
        return await self.state.secrets.get_many(self.session, self.tenant_id, self.prefix)

    async def write(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            await self.state.secrets.put(self.session, self.tenant_id, self.prefix + name, value)
