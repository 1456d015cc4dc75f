"""Provider-level webhook provisioning: rmmbridge configures the RMM's webhook itself (URL and secret
header), so the admin copies nothing. A provider that can do this implements
``provision_webhook(url, secret)`` (NinjaOne: ``PUT /v2/webhook``); the route
``POST /api/v1/integrations/{id}/webhook/provision`` and the UI action dispatch here.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.deployment import public_url
from rmmbridge.errors import AppError, CapabilityNotSupported, WrongState
from rmmbridge.providers.base import Capability, ProviderError
from rmmbridge.state import AppState
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from . import repository, service, webhook_secrets
from .factory import build_provider


class RemoteRefused(AppError):
    """The RMM refused (or could not be reached for) a change rmmbridge asked it to make."""

    status_code = 502
    type = "remote-refused"
    title = "The RMM refused the change"


def can_provision(cls: type) -> bool:
    return callable(getattr(cls, "provision_webhook", None))


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
    url = (await public_url.current(session, state.settings)).webhook(row.provider)
    mappings = await repository.syncable_mappings(session, ctx, row.id)
    provider = await build_provider(state, session, row, persist_in=session)
    provider.ctx.settings = {**provider.ctx.settings, "mapped_scope_ids": sorted(m.external_org_id for m in mappings)}
    try:
        await provider.provision_webhook(url, secret)  # type: ignore[attr-defined]
    except ProviderError as exc:
        raise RemoteRefused(f"{cls.display_name} did not accept the webhook configuration: {exc.message}") from None
    finally:
        await provider.aclose()
    return url
