"""Provider-level webhook provisioning: rmmbridge configures the RMM's webhook itself (URL and secret
header), so the admin copies nothing. A provider that can do this implements
``provision_webhook(url, secret)`` (NinjaOne: ``PUT /v2/webhook``); the route
``POST /api/v1/integrations/{id}/webhook/provision`` and the UI action dispatch here.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.deployment import public_url
from rmmbridge.errors import AppError, CapabilityNotSupported, WrongState
from rmmbridge.providers.base import Capability, ProviderError
from rmmbridge.state import AppState
from rmmbridge.storage.models import RmmIntegration
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from . import repository, service, webhook_secrets
from .factory import build_provider

log = structlog.get_logger(__name__)


class RemoteRefused(AppError):
    """The RMM refused (or could not be reached for) a change rmmbridge asked it to make."""

    status_code = 502
    type = "remote-refused"
    title = "The RMM refused the change"


def can_provision(cls: type) -> bool:
    return callable(getattr(cls, "provision_webhook", None))


MARK = "webhook_provisioned"  # in ``rmm_integrations.settings``: what was last sent (URL, organizations)


async def provision_webhook(
    state: AppState, session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID
) -> str:
    """Create the webhook secret if there is none, and have the provider register rmmbridge's URL and
    that secret with the RMM. Returns the URL registered. Provider errors go up (problem+json)."""
    ctx.require(Permission.settings_update)
    row = await service.get_integration(session, ctx, integration_id)
    cls = service.require_capability(state.registry, row, Capability.alert_webhook)
    if not can_provision(cls):
        raise CapabilityNotSupported(f"{cls.display_name} webhooks are configured in {cls.display_name} by hand")
    if row.state in ("disconnected", "not_configured"):
        raise WrongState("connect the integration before configuring its webhook")
    secret = await webhook_secrets.reveal(state, session, row) or await webhook_secrets.rotate(state, session, row)
    return await _push(state, session, ctx, row, secret)


async def _push(state: AppState, session: AsyncSession, ctx: TenantContext, row: RmmIntegration, secret: str) -> str:
    """Send the configuration (URL, secret header, mapped organizations) and remember what was sent."""
    cls = state.registry.get(row.provider)
    url = (await public_url.current(session, state.settings)).webhook(row.provider)
    ids = await _mapped_ids(session, ctx, row)
    provider = await build_provider(state, session, row, persist_in=session)
    provider.ctx.settings = {**provider.ctx.settings, "mapped_scope_ids": ids}
    try:
        await provider.provision_webhook(url, secret)  # type: ignore[attr-defined]
    except ProviderError as exc:
        raise RemoteRefused(f"{cls.display_name} did not accept the webhook configuration: {exc.message}") from None
    finally:
        await provider.aclose()
    row.settings = {
        **(row.settings or {}),
        MARK: {"url": url, "organization_ids": ids, "at": state.clock().isoformat()},
    }
    await session.flush()
    return url


async def _mapped_ids(session: AsyncSession, ctx: TenantContext, row: RmmIntegration) -> list[str]:
    return sorted(m.external_org_id for m in await repository.syncable_mappings(session, ctx, row.id))


def provisioned(state: AppState, row: RmmIntegration) -> bool:
    """rmmbridge configured this integration's webhook on the RMM (and can do it again)."""
    return (
        row.provider in state.registry
        and can_provision(state.registry.get(row.provider))
        and bool((row.settings or {}).get(MARK))
        and row.state not in ("disconnected", "not_configured")
    )


async def rotate_secret(
    state: AppState, session: AsyncSession, ctx: TenantContext, row: RmmIntegration
) -> tuple[str, bool]:
    """Rotate the webhook secret; when rmmbridge configured the RMM's webhook before, send the new
    secret there first (§7.1), so a refusal changes nothing here. Returns (secret, re-sent)."""
    if not provisioned(state, row):
        return await webhook_secrets.rotate(state, session, row), False
    secret = webhook_secrets.new_secret()
    await _push(state, session, ctx, row, secret)
    return await webhook_secrets.rotate(state, session, row, secret=secret), True


async def follow_mappings(
    state: AppState, session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID
) -> bool:
    """After the mapped organizations may have changed (a mapping edit, a scope sync): re-send the
    webhook configuration when it was provisioned and its organization filter is now different.
    Never raises for the RMM's refusal: the mapping change stands, the refusal is recorded on the
    integration (``settings.webhook_provisioned.error``) and the next change tries again."""
    row = await service.get_integration(session, ctx, integration_id)
    if not provisioned(state, row):
        return False
    mark = dict(row.settings[MARK])
    if await _mapped_ids(session, ctx, row) == mark.get("organization_ids"):
        return False
    secret = await webhook_secrets.reveal(state, session, row)
    if not secret:
        return False
    try:
        await _push(state, session, ctx, row, secret)
    except (RemoteRefused, AppError) as exc:
        log.warning("webhook_reprovision_failed", integration_id=str(row.id), error=exc.detail)
        mark.update(error=exc.detail, error_at=state.clock().isoformat(), organization_ids=None)
        row.settings = {**(row.settings or {}), MARK: mark}
        await session.flush()
        return False
    return True
