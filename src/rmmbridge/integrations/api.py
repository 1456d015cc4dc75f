"""REST: ``/api/v1/providers`` and ``/api/v1/integrations`` (credentials, test, mappings, webhook)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from rmmbridge.errors import WrongState
from rmmbridge.kit.text import NO_NUL
from rmmbridge.providers.base import Capability
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.api.pagination import Page, Paging, make_page, paginate
from rmmbridge.web.deps import DB, State, require

from . import bulk_mapping, mappings, repository, service, webhooks
from .schemas import (
    BulkMappingIn,
    BulkMappingOut,
    CredentialsIn,
    IntegrationCreate,
    IntegrationOut,
    IntegrationUpdate,
    MappingOut,
    MappingUpdate,
    MatchesIn,
    NameMatchOut,
    ProviderInfo,
    TestIn,
    TestOut,
    WebhookInfo,
    WebhookSecretOut,
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
    "/integrations/{integration_id}/credentials", response_model=IntegrationOut, responses=error_responses(404, 422)
)
async def put_credentials(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, body: CredentialsIn
) -> IntegrationOut:
    """Store connection settings and secrets. Secrets left out keep their stored values."""
    return service.to_out(await service.save_credentials(state, db, ctx, integration_id, body), state.registry)


@router.post("/integrations/{integration_id}/test", response_model=TestOut, responses=error_responses(404, 409, 422))
async def test_connection(
    state: State, db: DB, ctx: Admin, integration_id: uuid.UUID, body: TestIn | None = None
) -> TestOut:
    """Run the provider's named preflight checks; success activates the integration."""
    return await service.test_connection(state, db, ctx, integration_id, body.totp_code if body else None)


@router.post("/integrations/{integration_id}/disconnect", response_model=IntegrationOut, responses=error_responses(404))
async def disconnect(state: State, db: DB, ctx: Admin, integration_id: uuid.UUID) -> IntegrationOut:
    """Delete stored credentials and the webhook secret; keep assets, mappings, alerts and history."""
    return service.to_out(await service.disconnect(state, db, ctx, integration_id), state.registry)


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
    secret = await webhooks.rotate(state, db, row)
    return WebhookSecretOut(secret=secret, info=await webhook_info(state, db, row, secret))


@router.post(
    "/integrations/{integration_id}/webhook/reveal",
    response_model=WebhookSecretOut,
    responses=error_responses(404, 409),
)
async def reveal_webhook(state: State, db: DB, ctx: Admin, integration_id: uuid.UUID) -> WebhookSecretOut:
    """Show the current webhook secret, templates filled in (admins only; POST so it is never cached)."""
    row = await service.get_integration(db, ctx, integration_id)
    secret = await webhooks.reveal(state, db, row)
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
    db: DB, ctx: Admin, integration_id: uuid.UUID, mapping_id: uuid.UUID, body: MappingUpdate
) -> MappingOut:
    """Map to a PSA client (``client_id``), unmap (``unmap: true``), or switch auto-sync."""
    await service.get_integration(db, ctx, integration_id)
    row = await mappings.update_mapping(db, ctx, integration_id, mapping_id, body)
    return mapping_out(row, None, 0)


@router.post(
    "/integrations/{integration_id}/mappings/{mapping_id}/create-client",
    response_model=MappingOut,
    responses=error_responses(404, 409),
)
async def create_client_for_mapping(db: DB, ctx: Admin, integration_id: uuid.UUID, mapping_id: uuid.UUID) -> MappingOut:
    """Create a PSA client named after the organization (or reuse the live one of that name) and map it."""
    await service.get_integration(db, ctx, integration_id)
    row = await mappings.create_client_for_mapping(db, ctx, integration_id, mapping_id)
    return mapping_out(row, row.external_org_name, 0)


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
async def apply_matches(db: DB, ctx: Admin, integration_id: uuid.UUID, body: MatchesIn) -> BulkMappingOut:
    """Map the confirmed (organization, client) pairs; organizations mapped meanwhile are left alone."""
    await service.get_integration(db, ctx, integration_id)
    pairs = [(m.mapping_id, m.client_id) for m in body.matches]
    return BulkMappingOut(updated=await bulk_mapping.apply_matches(db, ctx, integration_id, pairs))


@router.post(
    "/integrations/{integration_id}/mappings-bulk/create-clients",
    response_model=BulkMappingOut,
    responses=error_responses(404),
)
async def create_clients_for_unmapped(db: DB, ctx: Admin, integration_id: uuid.UUID) -> BulkMappingOut:
    """A PSA client for every unmapped organization (a live client of the same name is reused), mapped."""
    await service.get_integration(db, ctx, integration_id)
    made = await bulk_mapping.create_clients_for_unmapped(db, ctx, integration_id)
    return BulkMappingOut(updated=made.created + made.reused, created_clients=made.created, reused_clients=made.reused)


@router.post(
    "/integrations/{integration_id}/mappings-bulk",
    response_model=BulkMappingOut,
    responses=error_responses(404, 422),
)
async def bulk_update_mappings(db: DB, ctx: Admin, integration_id: uuid.UUID, body: BulkMappingIn) -> BulkMappingOut:
    """Map several organizations to one client (``client_id``), unmap them, and/or switch auto-sync."""
    await service.get_integration(db, ctx, integration_id)
    updated = await bulk_mapping.bulk_update(
        db, ctx, integration_id, body.mapping_ids, client_id=body.client_id, unmap=body.unmap,
        auto_sync=body.auto_sync_assets,
    )  # fmt: skip
    return BulkMappingOut(updated=updated)
