"""Read models shared by the integration API and UI."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.deployment import public_url
from rmmbridge.ingestion.alerts import missed_by_webhook
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import Capability
from rmmbridge.state import AppState
from rmmbridge.storage.models import RmmIntegration, RmmOrganizationMapping, WebhookDelivery
from rmmbridge.tenancy.auth import system_context

from . import webhook_secrets
from .schemas import MappingOut, WebhookInfo


def mapping_out(row: RmmOrganizationMapping, client_name: str | None, asset_count: int | None) -> MappingOut:
    out = MappingOut.model_validate(row)
    out.client_name = client_name
    out.asset_count = asset_count or 0
    return out


async def webhook_info(
    state: AppState, session: AsyncSession, row: RmmIntegration, secret: str | None = None
) -> WebhookInfo:
    """The webhook set-up of an integration; ``secret`` (revealed or just rotated) goes into the templates."""
    cls = state.registry.get(row.provider)
    if Capability.alert_webhook not in cls.capabilities:
        return WebhookInfo(
            supported=False, url=None, header=None, secret_configured=False, secret_hint=None, templates={}
        )
    url = (await public_url.current(session, state.settings)).webhook(row.provider)
    counts = dict(
        (
            await session.execute(
                select(WebhookDelivery.accepted, func.count())
                .where(
                    WebhookDelivery.tenant_id == row.tenant_id,
                    WebhookDelivery.integration_id == row.id,
                    # The log's window (sync/retention.py); rejections are capped, not aged out.
                    or_(
                        WebhookDelivery.accepted.is_(False),
                        WebhookDelivery.received_at >= utcnow() - timedelta(days=state.settings.webhook_log_days),
                    ),
                )
                .group_by(WebhookDelivery.accepted)
            )
        ).all()
    )
    ctx = system_context(row.tenant_id, "webhook-info")
    last = (
        await session.execute(
            select(WebhookDelivery.received_at, WebhookDelivery.accepted)
            .where(WebhookDelivery.tenant_id == row.tenant_id, WebhookDelivery.integration_id == row.id)
            .order_by(WebhookDelivery.received_at.desc())
            .limit(1)
        )
    ).first()
    return WebhookInfo(
        supported=True,
        url=url,
        header=cls.webhook_header,
        header_aliases=list(cls.webhook_header_aliases),
        secret_configured=row.webhook_secret_digest is not None,
        secret_hint=await webhook_secrets.hint(state, session, row),
        templates=cls.webhook_templates(url, secret),
        deliveries_accepted=counts.get(True, 0),
        deliveries_rejected=counts.get(False, 0),
        alerts_missed_by_webhook=await missed_by_webhook(session, ctx, row.id, row.webhook_configured_at),
        configured_at=row.webhook_configured_at,
        last_delivery_at=last[0] if last else None,
        last_delivery_accepted=last[1] if last else None,
        can_provision=Capability.webhook_provisioning in cls.capabilities,
        provisioning=dict(row.webhook_provisioning or {}),
        hints=[str(h) for h in row.webhook_hints or []],
    )
