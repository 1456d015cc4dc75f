"""UI: the assets list (filters, status counts, sorting, paging), asset detail, edit and refresh."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.clients import repository as clients_repo
from rmmbridge.errors import AppError, ValidationFailed
from rmmbridge.kit.form_errors import field_errors
from rmmbridge.providers.base import Capability
from rmmbridge.state import AppState
from rmmbridge.storage.models import ExternalEntityMapping, RmmIntegration, RmmOrganizationMapping, SyncRun
from rmmbridge.storage.models.sync import ACTIVE_RUN_STATUSES
from rmmbridge.sync.service import request_sync
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.pagination import PageParams, paginate
from rmmbridge.web.deps import DB, State
from rmmbridge.web.ui.deps import Form, UiAuth, ui_ctx
from rmmbridge.web.ui.live_status import HEALTH_CHIPS, HEALTH_PARAMS, parse_flag, stale_integrations
from rmmbridge.web.ui.render import redirect, render

from . import columns, repository, saved_views, service, views
from .schemas import AssetUpdate
from .software import group_by_product
from .status import COUNT_BUCKETS

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
SOFTWARE_ROWS = 500
REMOVED_ROWS = 200
TYPES = ("workstation", "server")
ASSET_STATUSES = ("active", "inactive", "retired")
FILTER_KEYS = ("client_id", "provider", "integration_id", "asset_type", "agent_status", "status", "q", *HEALTH_PARAMS)
# Columns that sort, and the label of each.
SORTABLE = {"name": "Name", "client": "Client", "type": "Type", "last_seen": "Last seen", "status": "Status"}


def _choice(value: str, allowed: tuple[str, ...] | list[str]) -> str | None:
    return value if value in allowed else None


def fmt_bytes(value: Any) -> str:
    if value in (None, ""):
        return "—"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") or size >= 100 else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def fmt_duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _list_filters(
    client_id: str, provider: str, integration_id: str, asset_type: str, agent_status: str, status: str, q: str,
    needs_reboot: str, failing_checks: str, patches_pending: str, maintenance_mode: str, sort: str, order: str,
) -> tuple[repository.AssetFilters, dict[str, bool | None], str]:
    """The list's filters from its query string (the page and its CSV export read them alike)."""
    health = {
        "needs_reboot": parse_flag(needs_reboot),
        "failing_checks": parse_flag(failing_checks),
        "patches_pending": parse_flag(patches_pending),
        "maintenance_mode": parse_flag(maintenance_mode),
    }
    sort = sort if sort in repository.SORTS else "name"
    filters = repository.AssetFilters(
        client_id=views.parse_uuid(client_id),
        provider=provider or None,
        integration_id=views.parse_uuid(integration_id),
        asset_type=_choice(asset_type, TYPES),
        agent_status=_choice(agent_status, COUNT_BUCKETS),
        status=_choice(status, ASSET_STATUSES),
        q=q.strip()[:200] or None,
        sort=sort,
        descending=order == "desc",
        needs_reboot=health["needs_reboot"],
        failing_checks=health["failing_checks"],
        patches_pending=health["patches_pending"],
        maintenance_mode=health["maintenance_mode"],
    )
    return filters, health, sort


@router.get("/assets")
async def assets_page(
    request: Request,
    state: State,
    db: DB,
    auth: UiAuth,
    client_id: str = "",
    provider: str = "",
    integration_id: str = "",
    asset_type: str = "",
    agent_status: str = "",
    status: str = "",
    q: str = "",
    needs_reboot: str = "",
    failing_checks: str = "",
    patches_pending: str = "",
    maintenance_mode: str = "",
    sort: str = "name",
    order: str = "asc",
    page: int = 1,
    col: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies the default)
    view: str = "",
    ok: str = "",
    error: str = "",
    view_error: str = "",
    view_name: str = "",
) -> Response:
    ctx = ui_ctx(auth, Permission.assets_read)
    shown = columns.normalize(col, strict=False) if col else columns.DEFAULT
    filters, health, sort = _list_filters(
        client_id, provider, integration_id, asset_type, agent_status, status, q, needs_reboot, failing_checks,
        patches_pending, maintenance_mode, sort, order,
    )  # fmt: skip
    now = state.clock()
    params = PageParams(page=max(1, page), page_size=PAGE_SIZE)
    rows, total = await paginate(db, repository.list_query(ctx, filters, now), params)
    # Status and health counts of the same filtered rows (the status chips ignore their own filter).
    per_client, health_counts = await repository.summary_counts(db, ctx, filters, now)
    counts: dict[str, int] = {}
    for (_client, bucket), n in per_client.items():
        counts[bucket] = counts.get(bucket, 0) + n
    current = {
        "client_id": str(filters.client_id) if filters.client_id else "",
        "provider": filters.provider or "",
        "integration_id": str(filters.integration_id) if filters.integration_id else "",
        "asset_type": filters.asset_type or "",
        "agent_status": filters.agent_status or "",
        "status": filters.status or "",
        "q": filters.q or "",
        **{k: ("true" if v else "false") if v is not None else "" for k, v in health.items()},
    }

    def url(**changes: Any) -> str:
        """This list's URL with some parameters changed (filters kept, page reset unless given)."""
        merged: dict[str, Any] = {**current, "sort": sort, "order": order, "col": list(shown) if col else [],
                                  **changes}
        if merged.get("sort") == "name":
            merged.pop("sort")
        if merged.get("order") == "asc":
            merged.pop("order")
        if merged.get("page") in (1, "1"):
            merged.pop("page")
        return "/assets?" + urlencode({k: v for k, v in merged.items() if v not in (None, "", [])}, doseq=True)

    integration = None
    if filters.integration_id:
        integration = await db.get(RmmIntegration, (ctx.tenant_id, filters.integration_id))
    providers = [(cls.key, cls.display_name) for cls in state.registry]
    present = set(
        await db.scalars(select(RmmIntegration.provider).where(RmmIntegration.tenant_id == ctx.tenant_id).distinct())
    )
    providers += [(p, p) for p in sorted(present) if p not in state.registry]
    active_filters = sum(1 for k in FILTER_KEYS if current[k])
    my_views = await saved_views.list_views(db, ctx) if ctx.user_id else []
    applied = next((v for v in my_views if str(v.id) == view), None)
    return render(
        request,
        "assets.html",
        shown=shown,
        column_choice=bool(col),
        all_columns=columns.COLUMNS,
        saved_views=my_views,
        applied_view=applied,
        view_query=url().split("?", 1)[1] if "?" in url() else "",
        view_error=view_error,
        view_name=view_name,
        assets=[views.summary(*row) for row in rows],
        total=total,
        counts=counts,
        count_all=sum(counts.values()),
        statuses=COUNT_BUCKETS,
        health_chips=HEALTH_CHIPS,
        health_counts=health_counts,
        data_as_of=await repository.data_as_of(db, ctx, filters.integration_id),
        stale=await stale_integrations(db, ctx, state.registry, now),
        current=current,
        sort=sort,
        order=order,
        sortable=SORTABLE,
        url=url,
        page=params.page,
        pages=max(1, -(-total // params.page_size)),
        clients=await clients_repo.all_live(db, ctx),
        providers=providers,
        provider_names=dict(providers),
        types=TYPES,
        asset_statuses=ASSET_STATUSES,
        integration=integration,
        active_filters=active_filters,
        multi_provider=len(present) > 1,
        csv_url="/assets.csv?" + url().split("?", 1)[1] if "?" in url() else "/assets.csv",
        can_write=ctx.can(Permission.assets_write),
        can_sync=ctx.can(Permission.sync_run),
        back_url=url(page=params.page),
        ok=ok,
        error=error,
    )


async def _refresh_support(state: Any, db: Any, ctx: Any, integration_id: uuid.UUID | None) -> tuple[bool, str | None]:
    """Whether the asset's RMM can refresh one device now, and why not."""
    if integration_id is None:
        return False, "This asset is not linked to an RMM."
    row = await db.get(RmmIntegration, (ctx.tenant_id, integration_id))
    if row is None:
        return False, "The RMM integration of this asset was removed."
    if row.provider not in state.registry:
        return False, f"The {row.provider} provider is not installed."
    cls = state.registry.get(row.provider)
    if Capability.device_refresh not in cls.capabilities:
        return False, f"{cls.display_name} cannot refresh a single device; it is updated by the next device sync."
    if not row.is_active:
        return False, f"{row.name} is not connected."
    if not ctx.can(Permission.assets_write):
        return False, "Your role may not refresh assets."
    return True, None


async def _actor_names(db: Any, ctx: Any, actors: list[str]) -> dict[str, str]:
    """Readable names for history actors: users by email, system work by what it was."""
    from rmmbridge.storage.models import User

    names: dict[str, str] = {}
    user_ids = {}
    for actor in set(actors):
        kind, _, rest = actor.partition(":")
        if kind == "user":
            parsed = views.parse_uuid(rest)
            if parsed is not None:
                user_ids[parsed] = actor
        elif kind == "token":
            names[actor] = "an API token"
        elif kind == "system":
            what = rest.split(":", 1)[0]
            names[actor] = {"sync": "a sync", "webhook": "a webhook"}.get(what, what or "the system")
    if user_ids:
        rows = await db.execute(
            select(User.id, User.email).where(User.tenant_id == ctx.tenant_id, User.id.in_(list(user_ids)))
        )
        for user_id, email in rows.all():
            names[user_ids[user_id]] = email
    return names


@router.get("/assets/{asset_id}")
async def asset_page(
    request: Request,
    state: State,
    db: DB,
    auth: UiAuth,
    asset_id: uuid.UUID,
    run: uuid.UUID | None = None,
    ok: str = "",
    error: str = "",
) -> Response:
    ctx = ui_ctx(auth, Permission.assets_read)
    asset = await service.get_asset(db, ctx, asset_id)
    out = await views.asset_out(db, ctx, asset, state.clock())
    software_rows = list((await db.execute(repository.software_query(ctx, asset.id, True).limit(SOFTWARE_ROWS))).all())
    software_counts = await repository.software_counts(db, ctx, asset.id)
    removed_rows = list((await db.execute(repository.software_query(ctx, asset.id, False).limit(REMOVED_ROWS))).all())
    integration = None
    provider_name = asset.rmm_provider
    org_name = None
    if asset.rmm_integration_id:
        integration = await db.get(RmmIntegration, (ctx.tenant_id, asset.rmm_integration_id))
        if integration is not None and integration.provider in state.registry:
            provider_name = state.registry.get(integration.provider).display_name
        if asset.rmm_organization_id:
            org_name = await db.scalar(
                select(RmmOrganizationMapping.external_org_name).where(
                    RmmOrganizationMapping.tenant_id == ctx.tenant_id,
                    RmmOrganizationMapping.integration_id == asset.rmm_integration_id,
                    RmmOrganizationMapping.external_org_id == asset.rmm_organization_id,
                )
            )
    can_refresh, refresh_reason = await _refresh_support(state, db, ctx, asset.rmm_integration_id)
    shown_run = None
    if run is not None:
        shown_run = await db.get(SyncRun, (ctx.tenant_id, run))
    if shown_run is None and asset.rmm_integration_id and asset.rmm_device_id:
        shown_run = await db.scalar(
            select(SyncRun).where(
                SyncRun.tenant_id == ctx.tenant_id,
                SyncRun.integration_id == asset.rmm_integration_id,
                SyncRun.kind == "agent",
                SyncRun.target == asset.rmm_device_id,
                SyncRun.status.in_(ACTIVE_RUN_STATUSES),
            )
        )
    run_view = None
    if shown_run is not None:
        from rmmbridge.integrations.ui import RunView, counters_text, run_percent

        run_view = RunView(
            run=shown_run,
            label="Device refresh",
            percent=run_percent(shown_run),
            active=shown_run.status in ACTIVE_RUN_STATUSES,
            counters=counters_text(shown_run.counters or {}),
        )
    actors = await _actor_names(db, ctx, [h.actor for h in out.history])
    return render(
        request,
        "asset.html",
        actor_name=lambda actor: actors.get(actor, actor),
        a=out,
        d=out.details,
        software=group_by_product(software_rows),
        software_shown=len(software_rows),
        software_counts=software_counts,
        removed=[{"s": s, "name": n, "publisher": p, "last_seen_at": seen} for s, n, p, seen in removed_rows],
        integration=integration,
        provider_name=provider_name,
        org_name=org_name,
        can_refresh=can_refresh,
        refresh_reason=refresh_reason,
        can_write=ctx.can(Permission.assets_write),
        run_view=run_view,
        fmt_bytes=fmt_bytes,
        fmt_duration=fmt_duration,
        ok=ok,
        error=error,
    )


@router.post("/assets/{asset_id}/refresh")
async def refresh_asset(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, asset_id: uuid.UUID
) -> Response:
    ctx = ui_ctx(auth, Permission.assets_write)
    asset = await service.get_asset(db, ctx, asset_id)
    ok, reason = await _refresh_support(state, db, ctx, asset.rmm_integration_id)
    if not ok or asset.rmm_integration_id is None or asset.rmm_device_id is None:
        return redirect(f"/assets/{asset.id}", error=reason or "This asset is not linked to an RMM device.")
    ref = await db.scalar(
        select(ExternalEntityMapping.external_ref).where(
            ExternalEntityMapping.tenant_id == ctx.tenant_id,
            ExternalEntityMapping.local_id == asset.id,
            ExternalEntityMapping.integration_id == asset.rmm_integration_id,
        )
    )
    try:
        started = await request_sync(
            state,
            db,
            ctx,
            asset.rmm_integration_id,
            "agent",
            "manual",
            {"external_id": asset.rmm_device_id, "external_ref": ref},
        )
    except AppError as exc:
        return redirect(f"/assets/{asset.id}", error=exc.detail)
    return redirect(f"/assets/{asset.id}", run=str(started.run.id), ok="Refresh requested from the RMM.")


EDIT_LABELS = {"name": "name", "asset_type": "type", "client_id": "client", "location": "location", "notes": "notes"}


async def _edit_form(
    request: Request,
    state: AppState,
    db: AsyncSession,
    ctx: TenantContext,
    asset_id: uuid.UUID,
    *,
    error: str = "",
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    asset = await service.get_asset(db, ctx, asset_id)
    out = await views.asset_out(db, ctx, asset, state.clock())
    return render(
        request,
        "asset_edit.html",
        status_code=status_code,
        a=out,
        v=typed or {},
        errors=errors or {},
        clients=await clients_repo.all_live(db, ctx),
        types=TYPES,
        asset_statuses=ASSET_STATUSES,
        error=error,
        linked=asset.rmm_integration_id is not None,
    )


@router.get("/assets/{asset_id}/edit")
async def edit_page(
    request: Request, state: State, db: DB, auth: UiAuth, asset_id: uuid.UUID, error: str = ""
) -> Response:
    ctx = ui_ctx(auth, Permission.assets_write)
    return await _edit_form(request, state, db, ctx, asset_id, error=error)


@router.post("/assets/{asset_id}/edit")
async def edit_asset(request: Request, state: State, db: DB, auth: UiAuth, form: Form, asset_id: uuid.UUID) -> Response:
    ctx = ui_ctx(auth, Permission.assets_write)
    asset = await service.get_asset(db, ctx, asset_id)
    typed = {k: str(form.get(k, "")) for k in ("name", "asset_type", "client_id", "status", "location", "notes")}
    # Only fields that changed are sent: an unchanged name must not become an override.
    changes: dict[str, Any] = {}
    name = typed["name"].strip()
    if name != asset.name:
        changes["name"] = typed["name"]  # blank or spaces: refused by the schema, with its reason
    asset_type = typed["asset_type"]
    if asset_type and asset_type != asset.asset_type:
        changes["asset_type"] = asset_type
    raw_client = typed["client_id"]
    client_id = views.parse_uuid(raw_client)
    errors: dict[str, str] = {}
    if raw_client and client_id is None:
        errors["client_id"] = "Choose a client from the list."
    elif client_id != asset.client_id:
        changes["client_id"] = client_id
    for key in ("location", "notes"):
        value = typed[key].strip() or None
        if value != getattr(asset, key):
            changes[key] = value
    status = typed["status"]
    if status and status != asset.status:
        changes["status"] = status
    clear = [k for k in ("name", "asset_type", "client_id") if form.get(f"clear_{k}") in ("true", "on", "1")]
    try:
        if errors:
            raise ValidationFailed("; ".join(errors.values()))
        data = AssetUpdate.model_validate({**changes, "clear_overrides": clear})
        await service.edit_asset(db, ctx, asset_id, data)
    except (ValidationError, AppError) as exc:
        # Rolled back: the ORM rows are expired, so nothing below reads them (the id comes from
        # the path); the form is shown again, errors beside their fields, what was typed kept.
        await db.rollback()
        errors = errors or field_errors(exc, EDIT_LABELS, default="name")
        return await _edit_form(
            request, state, db, ctx, asset_id, error="Not saved: correct the fields marked below.",
            typed=typed, errors=errors, status_code=422,
        )  # fmt: skip
    message = "Saved." if changes or clear else "Nothing changed."
    return redirect(f"/assets/{asset_id}", ok=message)


# --------------------------------------------------------------------------- CSV export and bulk actions

CSV_BATCH = 1000


@router.get("/assets.csv")
async def assets_csv(
    request: Request,
    state: State,
    db: DB,
    auth: UiAuth,
    client_id: str = "",
    provider: str = "",
    integration_id: str = "",
    asset_type: str = "",
    agent_status: str = "",
    status: str = "",
    q: str = "",
    needs_reboot: str = "",
    failing_checks: str = "",
    patches_pending: str = "",
    maintenance_mode: str = "",
    sort: str = "name",
    order: str = "asc",
    col: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies the default)
) -> Response:
    """The current view (its filters, order and chosen columns; every page) as CSV, read in batches: memory stays
    bounded whatever the fleet's size."""
    import csv
    import io

    from fastapi.responses import StreamingResponse

    ctx = ui_ctx(auth, Permission.assets_read)
    filters, _, _ = _list_filters(
        client_id, provider, integration_id, asset_type, agent_status, status, q, needs_reboot, failing_checks,
        patches_pending, maintenance_mode, sort, order,
    )  # fmt: skip
    now = state.clock()
    chunks: list[str] = []
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    keys = columns.normalize(col, strict=False) if col else columns.FULL_CSV
    shown = [columns.BY_KEY[k] for k in keys]
    writer.writerow([columns.csv_header(k) for k in keys])
    offset = 0
    # The request's session is read here, before the response streams (it closes with the request).
    while True:
        rows = (await db.execute(repository.list_query(ctx, filters, now).limit(CSV_BATCH).offset(offset))).all()
        for row in rows:
            a = views.summary(*row)
            writer.writerow([c.csv(a) for c in shown])
        chunks.append(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CSV_BATCH:
            break
        offset += CSV_BATCH
    stamp = now.strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        iter(chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="assets-{stamp}.csv"'},
    )


BULK_MAX = 200


def _back_to(path: str, **params: str) -> Response:
    """``redirect`` to a list URL that may already carry its filters (``/assets?client_id=…``)."""
    from fastapi.responses import RedirectResponse

    joiner = "&" if "?" in path else "?"
    return RedirectResponse(path + joiner + urlencode(params), status_code=303)


@router.post("/assets/bulk")
async def assets_bulk(request: Request, state: State, db: DB, auth: UiAuth, form: Form) -> Response:
    """Refresh, set the client of, or archive the selected assets (at most one page's worth)."""
    back = str(form.get("back") or "/assets")
    back = back if back.startswith("/assets") and "//" not in back else "/assets"
    action = str(form.get("bulk_action") or "")
    try:
        ids = list(dict.fromkeys(uuid.UUID(str(v)) for v in (await request.form()).getlist("ids")))
    except ValueError:
        return _back_to(back, error="The selection was not understood; select the assets again.")
    if not ids:
        return _back_to(back, error="Select at least one asset first.")
    if len(ids) > BULK_MAX:
        return _back_to(back, error=f"Select at most {BULK_MAX} assets at once.")
    try:
        if action == "client":
            ctx = ui_ctx(auth, Permission.assets_write)
            raw = str(form.get("bulk_client_id") or "")
            client = views.parse_uuid(raw)
            if raw and client is None:
                raise ValidationFailed("choose a client from the list")
            for asset_id in ids:
                await service.edit_asset(db, ctx, asset_id, AssetUpdate(client_id=client))
            done = f"Set the client of {len(ids)} asset{'s' if len(ids) != 1 else ''}."
        elif action == "archive":
            ctx = ui_ctx(auth, Permission.assets_write)
            for asset_id in ids:
                await service.edit_asset(db, ctx, asset_id, AssetUpdate(status="retired"))
            done = (f"Archived {len(ids)} asset{'s' if len(ids) != 1 else ''} (status retired; a later sync that still "
                    "sees one revives it).")  # fmt: skip
        elif action == "refresh":
            ctx = ui_ctx(auth, Permission.sync_run)
            started, skipped = 0, 0
            for asset_id in ids:
                asset = await service.get_asset(db, ctx, asset_id)
                supported, _ = await _refresh_support(state, db, ctx, asset.rmm_integration_id)
                if not supported or not asset.rmm_device_id or asset.rmm_integration_id is None:
                    skipped += 1
                    continue
                ref = await db.scalar(
                    select(ExternalEntityMapping.external_ref).where(
                        ExternalEntityMapping.tenant_id == ctx.tenant_id,
                        ExternalEntityMapping.local_id == asset.id,
                        ExternalEntityMapping.integration_id == asset.rmm_integration_id,
                    )
                )
                await request_sync(state, db, ctx, asset.rmm_integration_id, "agent", "manual",
                                   {"external_id": asset.rmm_device_id, "external_ref": ref})  # fmt: skip
                started += 1
            done = f"Refresh requested for {started} asset{'s' if started != 1 else ''}" + (
                f"; {skipped} cannot be refreshed from their RMM." if skipped else ".")
        else:
            raise ValidationFailed("choose what to do with the selected assets")
    except (AppError, ValidationError) as exc:
        await db.rollback()
        message = exc.detail if isinstance(exc, AppError) else "Check the values you chose."
        return _back_to(back, error=f"Nothing changed: {message}")
    return _back_to(back, ok=done)
