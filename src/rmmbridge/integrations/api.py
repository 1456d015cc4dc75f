"""REST: ``/api/v1/providers`` and ``/api/v1/integrations`` (credentials, test, mappings, webhook)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from rmmbridge.errors import WrongState
from rmmbridge.kit.text import NO_NUL
from rmmbridge.providers.base import Capability
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.api.pagination import Page, Paging, make_page, paginate
from rmmbridge.web.deps import DB, State, require

from . import bulk_mapping, credentials_schema, mappings, provisioning, repository, service, webhook_secrets
from .schemas import (
    AlertTemplateOut,
    AlertTemplatesOut,
    BulkMappingIn,
    BulkMappingOut,
    DisconnectIn,
    IntegrationCreate,
    IntegrationOut,
    IntegrationUpdate,
    MappingOut,
    MappingUpdate,
    MatchesIn,
    NameMatchOut,
    ProviderInfo,
    ProvisionIn,
    ProvisionOut,
    ProvisionStepOut,
    TestIn,
    TestOut,
    WebhookInfo,
    WebhookSecretOut,
    WebhookTestOut,
)
from .views import mapping_out, webhook_info

router = APIRouter(tags=["integrations"], responses=error_responses(401, 403))
Reader = Annotated[TenantContext, Depends(require(Permission.settings_read))]
Admin = Annotated[TenantContext, Depends(require(Permission.settings_update))]


@router.get("/providers", response_model=list[ProviderInfo], summary="Registered providers and capabilities")
async def list_providers(state: State, ctx: Reader) -> list[ProviderInfo]:
    return [service.provider_info(cls) for cls in state.registry]


@router.get("/integrations", response_model=list[IntegrationOut])
async def list_integrations(state: State, db: DB, ctx: Reader) -> list[IntegrationOut]:
    return [service.to_out(r, state.registry) for r in await repository.list_all(db, ctx)]


@router.post("/integrations", response_model=IntegrationOut, status_code=201, responses=error_responses(404, 409, 422))
async def create_integration(state: State, db: DB, ctx: Admin, body: IntegrationCreate) -> IntegrationOut:
    return service.to_out(await service.create_integration(db, ctx, state.registry, body), state.registry)


@router.get("/integrations/{integration_id}", response_model=IntegrationOut, responses=error_responses(404))
async def get_integration(state: State, db: DB, ctx: Reader, integration_id: uuid.UUID) -> IntegrationOut:
    return service.to_out(await service.get_integration(db, ctx, integration_id), state.registry)


@router.patch(
    "/integrations/{integration_id}", response_model=IntegrationOut, responses=error_responses(404, 409, 422)
)
async def update_integration(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, body: IntegrationUpdate
) -> IntegrationOut:
    """Rename, or change settings (merged into the stored ones: schedules, lifecycle, provider options).

    Schedules: ``{"settings": {"schedules": {"<kind>": {"enabled": true, "interval_seconds": 60}}}}``;
    liveness 30 s – 15 min, the other kinds 5 min – 7 days (``interval_minutes`` is still accepted).
    ``GET /integrations/{id}/schedules`` shows each one with its next and last run.
    """
    return service.to_out(await service.update_integration(db, ctx, integration_id, body), state.registry)


@router.delete("/integrations/{integration_id}", status_code=204, responses=error_responses(404, 409))
async def delete_integration(state: State, db: DB, ctx: Admin, integration_id: uuid.UUID) -> None:
    """Delete a disconnected integration's configuration. Its assets stay, detached from the RMM."""
    await service.delete_integration(state, db, ctx, integration_id)


@router.put(
    "/integrations/{integration_id}/credentials",
    response_model=IntegrationOut,
    responses=error_responses(404, 409, 422),
)
async def put_credentials(
    state: State,
    db: DB,
    ctx: Admin,
    integration_id: uuid.UUID,
    body: Annotated[dict[str, Any], Body(description="one variant per provider (credentials_schema.py)")],
) -> IntegrationOut:
    """Store connection settings and secrets: a partial update, what is left out keeps its stored value.

    The body is the variant of the integration's provider (``provider`` may name it). 422: a value
    is invalid in itself (the schema says which). 409 ``provider-mismatch``: the body fits another
    provider's variant only. 409 ``incomplete-configuration``: valid, but with the stored values the
    configuration still lacks something (e.g. the secrets of the chosen ``auth_mode``); ``errors``
    names the fields. 403 ``address-refused``: the address is well formed, but the operator's policy
    refuses where it points (metadata or link-local, or private when private hosts are disallowed).
    """
    row = await service.get_integration(db, ctx, integration_id)
    data = credentials_schema.parse_body(state, row.provider, body)
    return service.to_out(await service.save_credentials(state, db, ctx, integration_id, data), state.registry)


@router.post("/integrations/{integration_id}/test", response_model=TestOut, responses=error_responses(404, 409, 422))
async def test_connection(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, body: TestIn | None = None
) -> TestOut:
    """Run the provider's named preflight checks; success activates the integration."""
    return await service.test_connection(state, db, ctx, integration_id, body.totp_code if body else None)


@router.post("/integrations/{integration_id}/disconnect", response_model=IntegrationOut, responses=error_responses(404))
async def disconnect(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, body: DisconnectIn | None = None
) -> IntegrationOut:
    """Delete stored credentials and the webhook secret; keep assets, mappings, alerts and history.
    ``{"remove_webhook": true}`` first removes what webhook provisioning created in the RMM."""
    remove = body.remove_webhook if body else False
    return service.to_out(await service.disconnect(state, db, ctx, integration_id, remove), state.registry)


@router.get("/integrations/{integration_id}/webhook", response_model=WebhookInfo, responses=error_responses(404))
async def get_webhook(state: State, db: DB, ctx: Reader, integration_id: uuid.UUID) -> WebhookInfo:
    """Webhook URL, header and templates (referencing the secret, never containing it). Reading never
    creates a secret."""
    row = await service.get_integration(db, ctx, integration_id)
    return await webhook_info(state, db, row)


@router.post(
    "/integrations/{integration_id}/webhook/rotate",
    response_model=WebhookSecretOut,
    responses=error_responses(404, 409, 422),
)
async def rotate_webhook(state: State, db: DB, ctx: Admin, integration_id: uuid.UUID) -> WebhookSecretOut:
    """Create or replace the webhook secret; the new secret is returned once here (templates filled in)."""
    row = await service.get_integration(db, ctx, integration_id)
    service.require_capability(state.registry, row, Capability.alert_webhook)
    secret = await webhook_secrets.rotate(state, db, row)
    await db.commit()  # stored before the RMM is told; no lock held while it is called
    update = await provisioning.after_rotate(state, ctx, integration_id)
    row = await service.get_integration(db, ctx, integration_id)
    return WebhookSecretOut(secret=secret, info=await webhook_info(state, db, row, secret), rmm_update=update)


@router.post(
    "/integrations/{integration_id}/webhook/test",
    response_model=WebhookTestOut,
    responses=error_responses(404, 409, 422),
)
async def test_webhook(state: State, db: DB, ctx: Admin, integration_id: uuid.UUID) -> WebhookTestOut:
    """Send one test alert through the RMM (Tactical: its URL action test run, for a mapped agent)
    and say whether rmmbridge received and accepted it."""
    await db.commit()  # the delivery comes back into rmmbridge, which must be able to write
    out = await provisioning.send_test(state, ctx, integration_id)
    row = await service.get_integration(db, ctx, integration_id)
    return WebhookTestOut(
        delivered=out["test_delivered"], detail=out["test_detail"], info=await webhook_info(state, db, row)
    )


@router.post(
    "/integrations/{integration_id}/webhook/provision",
    response_model=ProvisionOut,
    responses=error_responses(404, 409, 422),
)
async def provision_webhook(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, body: ProvisionIn | None = None
) -> ProvisionOut:
    """Configure the RMM's alert webhook through its API with this integration's credentials, then
    send a test alert through it (idempotent: a second run changes nothing). Each step is reported;
    a step the RMM refused says why (e.g. which permission the API key lacks)."""
    body = body or ProvisionIn()
    await db.commit()  # the RMM's test delivery comes back into rmmbridge, which must be able to write
    report = await provisioning.provision(
        state, ctx, integration_id, template_ids=body.template_ids, send_test=body.send_test
    )
    row = await service.get_integration(db, ctx, integration_id)
    return ProvisionOut(
        ok=report["ok"],
        steps=[ProvisionStepOut(**s) for s in report["steps"]],
        test_delivered=report["test_delivered"],
        test_detail=report["test_detail"],
        info=await webhook_info(state, db, row),
    )


@router.get(
    "/integrations/{integration_id}/webhook/templates",
    response_model=AlertTemplatesOut,
    responses=error_responses(404, 409),
)
async def webhook_templates(state: State, db: DB, ctx: Admin, integration_id: uuid.UUID) -> AlertTemplatesOut:
    """The RMM's alert templates (read live), for ``template_ids`` of provisioning: each says
    whether it is active, the default, which mapped scopes it applies to and whether it is in the
    default choice. When the RMM refuses or cannot be reached, ``error`` says so (still a 200)."""
    await db.commit()  # no transaction is held while the RMM is read
    picker = await provisioning.template_picker(state, ctx, integration_id)
    if picker is None:
        raise WrongState(provisioning.NO_TEMPLATES_TO_PICK)
    return AlertTemplatesOut(
        templates=[
            AlertTemplateOut(
                id=c.id, name=c.name, active=c.active, default=c.default,
                applies_to=list(c.applies_to) if c.applies_to is not None else None,
                in_default=c.in_default, preselected=c.preselected, action=c.action, ours=c.ours,
            )
            for c in picker.choices
        ],
        error=picker.error,
        fix=picker.fix,
    )  # fmt: skip


@router.post(
    "/integrations/{integration_id}/webhook/reveal",
    response_model=WebhookSecretOut,
    responses=error_responses(404, 409),
)
async def reveal_webhook(state: State, db: DB, ctx: Admin, integration_id: uuid.UUID) -> WebhookSecretOut:
    """Show the current webhook secret, templates filled in (admins only; POST so it is never cached)."""
    row = await service.get_integration(db, ctx, integration_id)
    secret = await webhook_secrets.reveal(state, db, row)
    if secret is None:
        raise WrongState("no webhook secret yet; rotate to create one")
    return WebhookSecretOut(secret=secret, info=await webhook_info(state, db, row, secret))


@router.get("/integrations/{integration_id}/mappings", response_model=Page[MappingOut], responses=error_responses(404))
async def list_mappings(
    db: DB,
    ctx: Reader,
    integration_id: uuid.UUID,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=200, pattern=NO_NUL, description="organization name contains")] = None,
) -> Page[MappingOut]:
    """Organizations of the RMM, unmapped first."""
    await service.get_integration(db, ctx, integration_id)
    rows, total = await paginate(db, repository.mappings_query(ctx, integration_id, q), paging)
    return make_page([mapping_out(m, name, count) for m, name, count in rows], total, paging)


@router.patch(
    "/integrations/{integration_id}/mappings/{mapping_id}",
    response_model=MappingOut,
    responses=error_responses(404, 422),
)
async def update_mapping(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, mapping_id: uuid.UUID, body: MappingUpdate
) -> MappingOut:
    """Map to a PSA client (``client_id``), unmap (``unmap: true``), or switch auto-sync."""
    await service.get_integration(db, ctx, integration_id)
    row = await mappings.update_mapping(db, ctx, integration_id, mapping_id, body)
    await _follow_mappings(state, db, ctx, integration_id)
    return mapping_out(row, None, 0)


@router.post(
    "/integrations/{integration_id}/mappings/{mapping_id}/create-client",
    response_model=MappingOut,
    responses=error_responses(404, 409),
)
async def create_client_for_mapping(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, mapping_id: uuid.UUID
) -> MappingOut:
    """Create a PSA client named after the organization (or reuse the live one of that name) and map it."""
    await service.get_integration(db, ctx, integration_id)
    row = await mappings.create_client_for_mapping(db, ctx, integration_id, mapping_id)
    await _follow_mappings(state, db, ctx, integration_id)
    return mapping_out(row, row.external_org_name, 0)


async def _follow_mappings(state: Any, db: Any, ctx: Any, integration_id: uuid.UUID) -> None:
    """A provisioned RMM webhook follows the mapped organizations (NinjaOne's ``organizationIds``)."""
    from .provisioning import follow_mappings

    await follow_mappings(state, db, ctx, integration_id)


@router.post(
    "/integrations/{integration_id}/mappings-bulk/match-by-name",
    response_model=list[NameMatchOut],
    responses=error_responses(404),
)
async def match_by_name(db: DB, ctx: Admin, integration_id: uuid.UUID) -> list[NameMatchOut]:
    """Propose a PSA client for each unmapped organization by name (exact, then fuzzy). Writes nothing:
    confirm the ones you want with ``POST …/mappings-bulk/apply-matches``."""
    await service.get_integration(db, ctx, integration_id)
    found = await bulk_mapping.suggest_matches(db, ctx, integration_id)
    return [NameMatchOut(**m.__dict__) for m in found]


@router.post(
    "/integrations/{integration_id}/mappings-bulk/apply-matches",
    response_model=BulkMappingOut,
    responses=error_responses(404, 422),
)
async def apply_matches(state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, body: MatchesIn) -> BulkMappingOut:
    """Map the confirmed (organization, client) pairs; organizations mapped meanwhile are left alone."""
    await service.get_integration(db, ctx, integration_id)
    pairs = [(m.mapping_id, m.client_id) for m in body.matches]
    updated = await bulk_mapping.apply_matches(db, ctx, integration_id, pairs)
    await _follow_mappings(state, db, ctx, integration_id)
    return BulkMappingOut(updated=updated)


@router.post(
    "/integrations/{integration_id}/mappings-bulk/create-clients",
    response_model=BulkMappingOut,
    responses=error_responses(404),
)
async def create_clients_for_unmapped(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID
) -> BulkMappingOut:
    """A PSA client for every unmapped organization (a live client of the same name is reused), mapped."""
    await service.get_integration(db, ctx, integration_id)
    made = await bulk_mapping.create_clients_for_unmapped(db, ctx, integration_id)
    await _follow_mappings(state, db, ctx, integration_id)
    return BulkMappingOut(updated=made.created + made.reused, created_clients=made.created, reused_clients=made.reused)


@router.post(
    "/integrations/{integration_id}/mappings-bulk",
    response_model=BulkMappingOut,
    responses=error_responses(404, 422),
)
async def bulk_update_mappings(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, body: BulkMappingIn
) -> BulkMappingOut:
    """Map several organizations to one client (``client_id``), unmap them, and/or switch auto-sync."""
    await service.get_integration(db, ctx, integration_id)
    updated = await bulk_mapping.bulk_update(
        db, ctx, integration_id, body.mapping_ids, client_id=body.client_id, unmap=body.unmap,
        auto_sync=body.auto_sync_assets,
    )  # fmt: skip
    await _follow_mappings(state, db, ctx, integration_id)
    return BulkMappingOut(updated=updated)
