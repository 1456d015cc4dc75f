"""Scope sync and single-device refresh jobs; the alerts and software jobs (alert_sync, software_sync)."""

from __future__ import annotations

from rmmbridge.errors import ValidationFailed
from rmmbridge.ingestion.devices import DeviceIngestor
from rmmbridge.ingestion.liveness import recompute_status, status_window
from rmmbridge.integrations import repository as integrations_repo
from rmmbridge.integrations.mappings import apply_scopes
from rmmbridge.integrations.provisioning import follow_mappings
from rmmbridge.providers.base import Capability, DevicePage, Provider
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration, SyncRun
from rmmbridge.tenancy.context import TenantContext

from . import runs


async def run_scope_sync(
    state: AppState, ctx: TenantContext, run: SyncRun, integration: RmmIntegration, provider: Provider
) -> None:
    scopes = await provider.list_scopes()
    async with unit_of_work(state.sessionmaker) as session:
        result = await apply_scopes(session, ctx, integration.id, scopes)
        # Organizations gone or back change the provisioned webhook's organization filter.
        await follow_mappings(state, session, ctx, integration.id)
        fresh = await runs.get_run(session, ctx, run.id)
        fresh.counters = {
            "processed": result.seen,
            "created": result.created,
            "missing": result.missing,
            "revived": result.revived,
        }
        await runs.finish_run(session, fresh, "succeeded", complete_snapshot=True)


async def run_agent_refresh(
    state: AppState, ctx: TenantContext, run: SyncRun, integration: RmmIntegration, provider: Provider
) -> None:
    """Refresh one device now (webhook follow-up, the Refresh button); create it if it is new."""
    external_id = str(run.params.get("external_id") or "")
    external_ref = run.params.get("external_ref")
    if not external_id and not external_ref:
        raise ValidationFailed("an agent refresh needs the device's id")
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        mapped = await integrations_repo.syncable_mappings(session, ctx, integration.id)
    provider.ctx.settings = {**provider.ctx.settings, "mapped_scope_ids": sorted(m.external_org_id for m in mapped)}
    snapshot = await provider.fetch_device(external_id, str(external_ref) if external_ref is not None else None)
    async with unit_of_work(state.sessionmaker) as session:
        fresh = await runs.get_run(session, ctx, run.id)
        if snapshot is None:
            fresh.counters = {"processed": 1, "not_found": 1}
            await runs.finish_run(session, fresh, "succeeded")
            return
        mappings = await integrations_repo.syncable_mappings(session, ctx, integration.id)
        realm_clients = {m.external_org_id: m.client_id for m in mappings if m.client_id is not None}
        window = status_window(integration.settings or {}, provider.supports(Capability.liveness))
        ingestor = DeviceIngestor(
            ctx, integration.id, integration.provider, run.id, realm_clients, ctx.actor, fresh_for=window
        )
        now = state.clock()
        outcome = await ingestor.ingest(session, DevicePage([snapshot]), now)
        # Only this device: a whole-integration recompute per webhook would scan the fleet each time.
        await recompute_status(session, ctx, integration.id, now, list(outcome.asset_ids.values()), ctx.actor)
        fresh.counters = outcome.counters.as_dict()
        fresh.params = {**fresh.params, "asset_id": str(outcome.asset_ids.get(snapshot.external_id) or "")}
        await runs.finish_run(session, fresh, "succeeded")


async def run_alert_sync(
    state: AppState, ctx: TenantContext, run: SyncRun, integration: RmmIntegration, provider: Provider
) -> None:
    from .alert_sync import reconcile_alerts

    await reconcile_alerts(state, ctx, run, integration, provider)


async def run_software_sync(
    state: AppState, ctx: TenantContext, run: SyncRun, integration: RmmIntegration, provider: Provider
) -> None:
    from .software_sync import ingest_software

    await ingest_software(state, ctx, run, integration, provider)
