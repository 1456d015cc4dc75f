"""Integrations: create, configure credentials, test, disconnect. Services flush; callers commit."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import CapabilityNotSupported, Conflict, NotFound, ValidationFailed, WrongState
from rmmbridge.kit.masking import credential_hint, shown_hints
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import Capability, CheckResult, Provider, ProviderError, ProviderTotpRequired
from rmmbridge.providers.registry import ProviderRegistry
from rmmbridge.state import AppState
from rmmbridge.storage.models import Asset, RmmIntegration
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from . import repository
from .factory import build_provider, credential_prefix, validation_context
from .schemas import (
    CheckOut,
    CredentialsIn,
    IntegrationCreate,
    IntegrationOut,
    IntegrationUpdate,
    ProviderInfo,
    SyncKindStatus,
    TestOut,
)
from .settings import merge_settings, upgrade_stored, validate_framework_settings

ROW_FIELDS = ("instance_url", "auth_mode")


def provider_info(cls: type[Provider]) -> ProviderInfo:
    return ProviderInfo(
        key=cls.key,
        display_name=cls.display_name,
        description=cls.description,
        capabilities=sorted(c.value for c in cls.capabilities),
        auth_modes=list(cls.auth_modes),
        allows_multiple=cls.allows_multiple,
        scope_label=cls.scope_label,
        has_webhook=Capability.alert_webhook in cls.capabilities,
        config_schema=cls.config_model.model_json_schema(),
        secret_fields=sorted(cls.config_model.secret_fields()),
    )


def to_out(row: RmmIntegration, registry: ProviderRegistry) -> IntegrationOut:
    cls = registry.get(row.provider) if row.provider in registry else None
    return IntegrationOut(
        id=row.id,
        provider=row.provider,
        provider_name=cls.display_name if cls else row.provider,
        name=row.name,
        instance_url=row.instance_url,
        auth_mode=row.auth_mode,
        is_active=row.is_active,
        state=row.state,
        state_message=row.state_message,
        settings=row.settings or {},
        credentials=shown_hints(row.credential_hints or {}),
        capabilities=sorted(c.value for c in cls.capabilities) if cls else [],
        webhook_configured=row.webhook_secret_digest is not None,
        connected_at=row.connected_at,
        disconnected_at=row.disconnected_at,
        last_test_at=row.last_test_at,
        last_test_result=[CheckOut(**c) for c in (row.last_test_result or [])],
        sync_status={k: SyncKindStatus(**v) for k, v in (row.sync_status or {}).items()},
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def get_integration(session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID) -> RmmIntegration:
    ctx.require(Permission.settings_read)
    row = await repository.get(session, ctx, integration_id)
    if row is None:
        raise NotFound(f"no integration {integration_id}")
    return row


def require_capability(registry: ProviderRegistry, row: RmmIntegration, capability: Capability) -> type[Provider]:
    cls = registry.get(row.provider)
    if capability not in cls.capabilities:
        raise CapabilityNotSupported(f"{cls.display_name} does not support {capability.value.replace('_', ' ')}")
    return cls


async def create_integration(
    session: AsyncSession, ctx: TenantContext, registry: ProviderRegistry, data: IntegrationCreate
) -> RmmIntegration:
    ctx.require(Permission.settings_update)
    cls = registry.get(data.provider)
    if not cls.allows_multiple and await repository.by_provider(session, ctx, cls.key):
        raise Conflict(f"{cls.display_name} is already set up for this tenant; configure the existing integration")
    settings = merge_settings({}, validate_framework_settings(data.settings))
    wanted = (data.name or "").strip()
    if wanted:
        await _require_free_name(session, ctx, wanted)
        name = wanted
    else:
        name = await repository.free_name(session, ctx, cls.display_name)
    row = RmmIntegration(
        tenant_id=ctx.tenant_id,
        provider=cls.key,
        name=name,
        settings=settings,
        credential_hints={},
        last_test_result=[],
        sync_status={},
    )
    session.add(row)
    await session.flush()
    return row


async def update_integration(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, data: IntegrationUpdate
) -> RmmIntegration:
    ctx.require(Permission.settings_update)
    row = await get_integration(session, ctx, integration_id)
    if data.name is not None:
        name = data.name.strip()
        if not name:
            raise ValidationFailed("the name must not be blank", errors=[{"field": "name", "message": "enter a name"}])
        if name.lower() != row.name.lower():
            await _require_free_name(session, ctx, name)
        row.name = name
    if data.settings is not None:
        row.settings = merge_settings(upgrade_stored(row.settings or {}), validate_framework_settings(data.settings))
    await session.flush()
    return row


async def _require_free_name(session: AsyncSession, ctx: TenantContext, name: str) -> None:
    if await repository.by_name(session, ctx, name) is not None:
        raise Conflict(
            f"an integration named “{name}” already exists; choose another name",
            errors=[{"field": "name", "message": "this name is taken by another integration"}],
        )


def _validation_errors(exc: ValidationError) -> ValidationFailed:
    """The config model's refusal, each error in plain words under the field it belongs to (a
    model-wide check, with no field, is the form's: ``values``)."""
    from rmmbridge.kit.form_errors import plain_message

    errors = []
    for e in exc.errors():
        field = ".".join(str(p) for p in e["loc"]) or "values"
        errors.append({"field": field, "message": plain_message(dict(e), field.split(".")[-1].replace("_", " "))})
    detail = "; ".join(e["message"] if e["field"] == "values" else f"{e['field']}: {e['message']}" for e in errors)
    return ValidationFailed(detail, errors=errors)


def _configuration_errors(
    exc: ValidationError, model: Any, candidate: dict[str, Any], given_fields: set[str]
) -> ValidationFailed | Conflict:
    """422 when a value the caller gave is invalid in itself; otherwise 409: the update is valid, but
    merged with the stored values the configuration still lacks something (a required field, the
    secrets of the chosen auth mode) or is inconsistent (a cross-field rule of the provider)."""
    from rmmbridge.errors import IncompleteConfiguration

    errors = exc.errors()
    if any(e["type"] != "missing" and e["loc"] and str(e["loc"][0]) in given_fields for e in errors):
        return _validation_errors(exc)
    named: list[dict[str, Any]] = []
    for e in errors:
        message = str(e["msg"]).removeprefix("Value error, ")
        if e["loc"]:
            field = str(e["loc"][0])
            stored = "none stored" if e["type"] == "missing" else "the stored value is no longer valid"
            named.append({"field": field, "message": f"{message} ({stored})"})
            continue
        # A model-level rule: name the fields the chosen auth mode needs and lacks (declared by the
        # provider config as ``auth_mode_fields``), else the rule's own message stands alone.
        mode_fields: dict[str, tuple[str, ...]] = getattr(model, "auth_mode_fields", {})
        mode = candidate.get("auth_mode") or getattr(model.model_fields.get("auth_mode"), "default", None)
        lacking = [f for f in mode_fields.get(str(mode), ()) if not candidate.get(f)]
        named.extend({"field": f, "message": message} for f in lacking)
        if not lacking:
            named.append({"field": "values", "message": message})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in named)
    return IncompleteConfiguration(f"the configuration is incomplete: {detail}", errors=named)


async def _check_given_address(state: AppState, url: str) -> None:
    from rmmbridge.kit.urls import check_host_allowed, split_host

    try:
        host = split_host(url if "://" in url else "https://" + url)
    except ValueError:
        return  # not a URL at all: the provider's model says why (422)
    if host:
        await check_host_allowed(host, allow_private=state.settings.allow_private_provider_hosts)


async def save_credentials(
    state: AppState, session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, data: CredentialsIn
) -> RmmIntegration:
    """Validate and store connection settings and secrets.

    Secrets not given keep their stored values (replace one without retyping the others). The
    integration's activity and schedules are left as they are: saving credentials never silently
    switches syncs off; the next test or sync reports whether the new values work.
    """
    ctx.require(Permission.settings_update)
    row = await get_integration(session, ctx, integration_id)
    cls = state.registry.get(row.provider)
    model = cls.config_model
    secret_names = model.secret_fields()
    stored = await state.secrets.get_many(session, ctx.tenant_id, credential_prefix(row.id))
    given = {k: v for k, v in data.values.items() if v is not None and v != ""}
    unknown = set(given) - set(model.model_fields)
    if unknown:
        raise ValidationFailed(
            f"unknown field(s) for {cls.display_name}: {', '.join(sorted(unknown))}",
            errors=[{"field": f"values.{k}"} for k in sorted(unknown)],
        )
    candidate: dict[str, Any] = {k: v for k, v in (row.settings or {}).items() if k in model.model_fields}
    candidate.update({k: v for k, v in stored.items() if k in model.model_fields})
    for name in ROW_FIELDS:
        value = getattr(data, name) if getattr(data, name) is not None else getattr(row, name)
        if name in model.model_fields and value is not None:
            candidate[name] = value
    candidate.update(given)
    # Switching the sign-in mode keeps the other mode's stored secrets (switching back must not
    # cost the admin a key they would have to fetch again); the provider uses only its mode's.
    if state.settings and "instance_url" in model.model_fields and data.instance_url:
        # The policy first: a refused address is a 403 whatever else the configuration lacks.
        await _check_given_address(state, data.instance_url)
    try:
        config = model.model_validate(candidate, context=validation_context(state))
    except ValidationError as exc:
        given_fields = set(given) | {name for name in ROW_FIELDS if getattr(data, name) is not None}
        raise _configuration_errors(exc, model, candidate, given_fields) from None
    if state.settings and "instance_url" in model.model_fields:
        from rmmbridge.kit.urls import check_host_allowed, split_host

        url = getattr(config, "instance_url", None)
        if url:
            await check_host_allowed(split_host(url), allow_private=state.settings.allow_private_provider_hosts)

    dumped = config.model_dump()
    hints: dict[str, str] = {}
    new_settings: dict[str, Any] = {}
    for name, value in dumped.items():
        if name in secret_names:
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            if plain:
                hints[name] = credential_hint(name, plain)
        elif name not in ROW_FIELDS:
            new_settings[name] = value
    # Secrets: write what changed, delete what was cleared.
    prefix = credential_prefix(row.id)
    for name in secret_names:
        value = dumped.get(name)
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        if plain and stored.get(name) != plain:
            await state.secrets.put(session, ctx.tenant_id, prefix + name, plain)
        elif not plain and name in stored:
            await state.secrets.delete_prefix(session, ctx.tenant_id, prefix + name)
    row.instance_url = dumped.get("instance_url", row.instance_url)
    row.auth_mode = dumped.get("auth_mode", row.auth_mode)
    row.settings = merge_settings(row.settings or {}, new_settings)
    row.credential_hints = hints
    if row.state in ("not_configured", "disconnected"):
        row.state = "configured"
        row.state_message = "Credentials saved. Test the connection to activate the integration."
    else:
        row.state_message = "Credentials changed; test the connection to confirm they work."
    await session.flush()
    return row


async def test_connection(
    state: AppState, session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, totp_code: str | None
) -> TestOut:
    ctx.require(Permission.settings_update)
    row = await get_integration(session, ctx, integration_id)
    require_capability(state.registry, row, Capability.connection_test)
    if row.state in ("not_configured", "disconnected"):
        raise WrongState("enter the credentials before testing the connection")
    provider = await build_provider(state, session, row, persist_in=session)
    totp_required = False
    try:
        checks = await provider.test_connection(totp_code=totp_code)
    except ProviderTotpRequired as exc:
        totp_required = True
        checks = [
            CheckResult("one-time code", False, exc.message, fix="Enter the current code from your authenticator app.")
        ]
    except ProviderError as exc:
        checks = [CheckResult("connection", False, exc.message)]
    finally:
        await provider.aclose()
    ok = bool(checks) and all(c.ok for c in checks)
    now = utcnow()
    row.last_test_at = now
    row.last_test_result = [
        {"name": c.name, "ok": c.ok, "message": c.message, "fix": c.fix, "warning": c.warning} for c in checks
    ]
    if ok:
        if not row.is_active or row.connected_at is None:
            row.connected_at = now
        row.is_active = True
        row.state = "connected"
        row.state_message = None
        row.disconnected_at = None
    else:
        failed = next(c for c in checks if not c.ok)
        row.state = "needs_reauth" if totp_required else "needs_attention"
        row.state_message = f"{failed.name}: {failed.message}"
    await session.flush()
    return TestOut(
        ok=ok,
        totp_required=totp_required,
        checks=[CheckOut(**c) for c in row.last_test_result],
        integration=to_out(row, state.registry),
    )


async def disconnect(
    state: AppState,
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    remove_webhook: bool = False,
) -> RmmIntegration:
    """Forget credentials and the webhook secret; keep assets, mappings, alerts and history.

    ``remove_webhook``: first remove what webhook provisioning created in the RMM (best effort;
    the outcome is kept in ``webhook_provisioning``)."""
    ctx.require(Permission.settings_update)
    row = await get_integration(session, ctx, integration_id)
    provider_cls = state.registry.get(row.provider)
    if remove_webhook and row.state not in ("not_configured", "disconnected"):
        from .provisioning import remove

        await remove(state, session, row)
    if row.state not in ("not_configured", "disconnected"):
        try:
            provider = await build_provider(state, session, row, persist_in=session)
        except ValidationFailed:
            provider = None
        if provider is not None:
            try:
                await provider.on_disconnect()
            except ProviderError:
                pass  # best effort: logging out a remote session must not block forgetting it here
            finally:
                await provider.aclose()
    await state.secrets.delete_prefix(session, ctx.tenant_id, f"integration/{row.id}/")
    row.webhook_secret_digest = None
    row.webhook_configured_at = None
    row.previous_webhook_secret_digest = None
    row.previous_webhook_secret_until = None
    row.settings = {k: v for k, v in (row.settings or {}).items() if k != "webhook_provisioned"}
    row.credential_hints = {}
    row.is_active = False
    row.state = "disconnected"
    row.state_message = (
        f"Disconnected. Credentials were deleted; assets, mappings, alerts and history of "
        f"{provider_cls.display_name} are kept."
    )
    row.disconnected_at = utcnow()
    await session.flush()
    return row


async def delete_integration(
    state: AppState, session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID
) -> None:
    """Remove a disconnected integration. Its assets stay (detached); its mappings and alerts go."""
    ctx.require(Permission.settings_update)
    row = await get_integration(session, ctx, integration_id)
    if row.state not in ("disconnected", "not_configured"):
        raise Conflict("disconnect the integration before deleting it")
    await session.execute(
        update(Asset)
        .where(Asset.tenant_id == ctx.tenant_id, Asset.rmm_integration_id == row.id)
        .values(rmm_integration_id=None)
    )
    await state.secrets.delete_prefix(session, ctx.tenant_id, f"integration/{row.id}/")
    await session.delete(row)
    await session.flush()
