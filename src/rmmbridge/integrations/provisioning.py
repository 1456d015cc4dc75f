"""One-click webhook provisioning: rmmbridge configures the RMM's alert webhook through the RMM's
own API with the integration's credentials (``Capability.webhook_provisioning``).

The provider does the RMM side (Tactical: key store, URL actions, alert templates, global
toggles; NinjaOne: ``PUT /v2/webhook``); this module supplies what to provision — the public
webhook URL, the header, the secret (created here if the integration has none yet), a label unique
to the integration and the mapped scopes — and keeps the report on the integration.

No database transaction is open while the RMM is called: the RMM's test delivery comes straight
back into rmmbridge's webhook receiver, which must be able to write (SQLite has one writer).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.deployment import public_url
from rmmbridge.errors import ValidationFailed, WrongState
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import (
    AlertTemplateChoice,
    Capability,
    Provider,
    ProviderError,
    ProvisionReport,
    ProvisionStep,
    WebhookTarget,
)
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import ExternalEntityMapping, RmmIntegration
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from . import repository, webhook_secrets
from .factory import build_provider
from .service import get_integration, require_capability

DEVICE = "device"
NO_TEMPLATES_TO_PICK = (
    "nothing to pick: this RMM has no alert templates, or the integration is not connected (test the connection)"
)
# How long the integration page waits for the RMM's alert templates before it says so.
PICKER_TIMEOUT_S = 15.0

log = structlog.get_logger(__name__)


def label_of(row: RmmIntegration) -> str:
    """Short and unique per integration: names in the RMM carry it (Tactical keys ≤ 25 characters)."""
    return row.id.hex[:12].upper()


async def target_for(
    state: AppState,
    session: AsyncSession,
    ctx: TenantContext,
    row: RmmIntegration,
    secret: str,
    template_ids: list[str] | None = None,
) -> WebhookTarget:
    cls = state.registry.get(row.provider)
    url = (await public_url.current(session, state.settings)).webhook(row.provider)
    scopes = tuple(m.external_org_id for m in await repository.syncable_mappings(session, ctx, row.id))
    device = await session.scalar(
        select(ExternalEntityMapping.external_id)
        .where(
            ExternalEntityMapping.tenant_id == row.tenant_id,
            ExternalEntityMapping.integration_id == row.id,
            ExternalEntityMapping.entity_type == DEVICE,
            ExternalEntityMapping.realm_id.in_(scopes),
        )
        .order_by(ExternalEntityMapping.external_id)
        .limit(1)
    )
    return WebhookTarget(
        url=url,
        header=cls.webhook_header or "X-Webhook-Secret",
        secret=secret,
        label=label_of(row),
        scope_ids=scopes,
        template_ids=tuple(template_ids) if template_ids is not None else None,
        test_device_id=device,
    )


def report_dict(report: ProvisionReport, when: Any) -> dict[str, Any]:
    return {
        "at": when.isoformat(),
        "ok": report.ok,
        "steps": [asdict(s) for s in report.steps],
        "test_delivered": report.test_delivered,
        "test_detail": report.test_detail,
    }


async def _prepare(
    state: AppState, ctx: TenantContext, integration_id: uuid.UUID, template_ids: list[str] | None, *, create: bool
) -> tuple[Provider, WebhookTarget] | None:
    """In one short transaction: the secret (created when ``create`` and missing), the target and
    a provider instance; ``None`` when there is no secret and ``create`` is off."""
    async with unit_of_work(state.sessionmaker) as session:
        row = await get_integration(session, ctx, integration_id)
        require_capability(state.registry, row, Capability.webhook_provisioning)
        if row.state in ("disconnected", "not_configured"):
            raise WrongState("configure and test the integration before provisioning its webhook")
        secret = await webhook_secrets.reveal(state, session, row)
        if secret is None:
            if not create:
                return None
            secret = await webhook_secrets.rotate(state, session, row, mark_configured=False)
        target = await target_for(state, session, ctx, row, secret, template_ids)
        provider = await build_provider(state, session, row)
    return provider, target


async def provision(
    state: AppState,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    *,
    template_ids: list[str] | None = None,
    send_test: bool = True,
) -> dict[str, Any]:
    """Provision (idempotently) and return the report, also kept on the integration."""
    ctx.require(Permission.settings_update)
    prepared = await _prepare(state, ctx, integration_id, template_ids, create=True)
    assert prepared is not None
    provider, target = prepared
    try:
        report = await provider.provision_webhook(target, send_test=send_test)
    except ProviderError as exc:
        report = ProvisionReport([ProvisionStep("provisioning", "failed", exc.message)])
    finally:
        await provider.aclose()
    now = utcnow()
    out = report_dict(report, now)
    async with unit_of_work(state.sessionmaker) as session:
        row = await get_integration(session, ctx, integration_id)
        if report.ok:
            # From now on an alert that polling finds first was missed by the webhook.
            row.webhook_configured_at = now
            row.webhook_hints = []
        row.webhook_provisioning = {
            **out,
            "label": target.label,
            "scope_ids": sorted(target.scope_ids),
            "provisioned": report.ok or bool(row.webhook_provisioning.get("provisioned")),
        }
    return out


@dataclass(frozen=True, slots=True)
class TemplatePicker:
    """The RMM's alert templates for the provisioning form, read live; ``error`` (with its ``fix``)
    in plain words when the RMM could not be read — the form then offers the default choice."""

    choices: list[AlertTemplateChoice]
    scope_names: dict[str, str]  # mapped scope id → its name, for "applies to"
    error: str | None = None
    fix: str | None = None


async def template_picker(state: AppState, ctx: TenantContext, integration_id: uuid.UUID) -> TemplatePicker | None:
    """The picker, or ``None`` when there is nothing to pick: the provider has no alert templates
    (``alert_template_picker``), or the integration is not connected (its last connection test did
    not pass). No transaction is open while the RMM is read, and the read has a deadline: the page
    it is shown on must not hang on an unreachable RMM."""
    ctx.require(Permission.settings_update)
    async with unit_of_work(state.sessionmaker) as session:
        row = await get_integration(session, ctx, integration_id)
        cls = state.registry.get(row.provider)
        if Capability.webhook_provisioning not in cls.capabilities or not cls.alert_template_picker:
            return None
        if row.state != "connected":
            # Untested, failing or waiting for a one-time code: reading Tactical now would only
            # repeat the failure (or spend a sign-in attempt).
            return None
        mapped = await repository.syncable_mappings(session, ctx, row.id)
        names = {m.external_org_id: m.external_org_name for m in mapped}
        # Listing templates needs no secret: the target only says which scopes are mapped.
        target = await target_for(state, session, ctx, row, "")
        try:
            provider = await build_provider(state, session, row)
        except ValidationFailed as exc:
            return TemplatePicker([], names, exc.detail)
    try:
        choices = await asyncio.wait_for(provider.alert_templates(target), timeout=PICKER_TIMEOUT_S)
    except ProviderError as exc:
        return TemplatePicker([], names, exc.message, getattr(exc, "fix", None))
    except TimeoutError:
        return TemplatePicker(
            [], names, f"{cls.display_name} did not answer within {PICKER_TIMEOUT_S:g} s.",
            f"Check that {cls.display_name} is reachable (“Test connection”), then reload this page.",
        )
    except Exception:  # the page must still render: say it plainly, keep the details in the log
        log.exception("alert_templates_read_failed", integration_id=str(integration_id))
        return TemplatePicker([], names, f"{cls.display_name}'s alert templates could not be read (see the log).")
    finally:
        await provider.aclose()
    return TemplatePicker(choices, names)


async def send_test(state: AppState, ctx: TenantContext, integration_id: uuid.UUID) -> dict[str, Any]:
    """ "Send test alert": one delivery through the RMM; the outcome is kept with the last report."""
    ctx.require(Permission.settings_update)
    prepared = await _prepare(state, ctx, integration_id, None, create=False)
    if prepared is None:
        raise WrongState("no webhook secret yet: provision the webhook or create a secret first")
    provider, target = prepared
    try:
        delivered, detail = await provider.send_test_webhook(target)
    except ProviderError as exc:
        delivered, detail = False, exc.message
    finally:
        await provider.aclose()
    now = utcnow()
    async with unit_of_work(state.sessionmaker) as session:
        row = await get_integration(session, ctx, integration_id)
        row.webhook_provisioning = {
            **(row.webhook_provisioning or {}),
            "test_delivered": delivered,
            "test_detail": detail,
            "test_at": now.isoformat(),
        }
    return {"test_delivered": delivered, "test_detail": detail, "at": now.isoformat()}


async def after_rotate(state: AppState, ctx: TenantContext, integration_id: uuid.UUID) -> dict[str, Any] | None:
    """The secret was rotated: a provisioned RMM gets the new one (else its deliveries fail)."""
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        row = await get_integration(session, ctx, integration_id)
        if not row.webhook_provisioning.get("provisioned"):
            return None
    prepared = await _prepare(state, ctx, integration_id, None, create=False)
    if prepared is None:
        return None
    provider, target = prepared
    try:
        report = await provider.update_webhook_secret(target)
    except ProviderError as exc:
        report = ProvisionReport([ProvisionStep("key store", "failed", exc.message)])
    finally:
        await provider.aclose()
    return report_dict(report, utcnow())


async def remove(state: AppState, session: AsyncSession, row: RmmIntegration) -> dict[str, Any] | None:
    """On disconnect, when asked: remove what provisioning created (credentials still present)."""
    cls = state.registry.get(row.provider)
    if Capability.webhook_provisioning not in cls.capabilities or not row.webhook_provisioning.get("provisioned"):
        return None
    secret = await webhook_secrets.reveal(state, session, row) or ""
    try:
        provider = await build_provider(state, session, row, persist_in=session)
    except ValidationFailed:
        return None
    target = WebhookTarget(url="", header=cls.webhook_header or "", secret=secret, label=label_of(row))
    try:
        report = await provider.remove_webhook(target)
    except ProviderError as exc:
        report = ProvisionReport([ProvisionStep("removing the webhook", "failed", exc.message)])
    finally:
        await provider.aclose()
    out = report_dict(report, utcnow())
    if report.ok:
        row.webhook_provisioning = {**out, "provisioned": False, "removed": True}
    return out


async def _update_in(
    state: AppState, session: AsyncSession, ctx: TenantContext, row: RmmIntegration, secret: str, *, reprovision: bool
) -> ProvisionReport:
    """Within the caller's transaction (no test delivery comes back, so nothing needs to write
    beside it): send the RMM the new secret, or the whole configuration again."""
    target = await target_for(state, session, ctx, row, secret)
    # Tokens refreshed on the way are written in this transaction (a second one would wait on
    # this one's write lock on SQLite).
    provider = await build_provider(state, session, row, persist_in=session)
    try:
        if reprovision:
            report = await provider.provision_webhook(target, send_test=False)
        else:
            report = await provider.update_webhook_secret(target)
    except ProviderError as exc:
        report = ProvisionReport([ProvisionStep("webhook configuration", "failed", exc.message)])
    finally:
        await provider.aclose()
    if report.ok:
        row.webhook_provisioning = {**(row.webhook_provisioning or {}), "scope_ids": sorted(target.scope_ids)}
    return report


async def rotate_secret(
    state: AppState, session: AsyncSession, ctx: TenantContext, row: RmmIntegration
) -> tuple[str, bool]:
    """Rotate the webhook secret in one transaction (the CLI's path); a provisioned RMM gets the new
    one at once. Returns (secret, the RMM took it). Providers with an overlap keep accepting the old
    secret for a while, so deliveries in flight are not refused."""
    secret = await webhook_secrets.rotate(state, session, row)
    if not (row.webhook_provisioning or {}).get("provisioned"):
        return secret, False
    report = await _update_in(state, session, ctx, row, secret, reprovision=False)
    return secret, report.ok


async def follow_mappings(
    state: AppState, session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID
) -> bool:
    """After the mapped scopes may have changed (a mapping edit, a scope sync): configure the RMM's
    webhook again when rmmbridge provisioned it and the mapped scopes differ from what it was given
    (NinjaOne filters deliveries by organization). Never raises for the RMM's refusal: the mapping
    change stands, the refusal is kept on the integration and the next change tries again."""
    row = await get_integration(session, ctx, integration_id)
    provisioning = dict(row.webhook_provisioning or {})
    if not provisioning.get("provisioned") or row.state in ("disconnected", "not_configured"):
        return False
    cls = state.registry.get(row.provider)
    if Capability.webhook_provisioning not in cls.capabilities:
        return False
    mapped = sorted(m.external_org_id for m in await repository.syncable_mappings(session, ctx, row.id))
    if mapped == provisioning.get("scope_ids"):
        return False
    secret = await webhook_secrets.reveal(state, session, row)
    if not secret:
        return False
    report = await _update_in(state, session, ctx, row, secret, reprovision=True)
    if not report.ok:
        failed = next(s for s in report.steps if s.outcome == "failed")
        log.warning("webhook_reprovision_failed", integration_id=str(row.id), error=failed.detail)
        row.webhook_provisioning = {**provisioning, "follow_error": failed.detail, "scope_ids": None}
    await session.flush()
    return report.ok
