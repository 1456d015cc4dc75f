"""REST: ``/api/v1/event-types``, ``/api/v1/webhook-subscriptions``, ``/api/v1/alert-routes``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select

from rmmbridge.events import catalogue
from rmmbridge.storage.models import EventDelivery
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.docs import error_responses
from rmmbridge.web.api.pagination import Page, Paging, make_page, paginate
from rmmbridge.web.deps import DB, State, require

from . import routes as routes_svc
from . import subscriptions as subs
from .schemas import (
    DeliveryOut,
    DryRunIn,
    DryRunOut,
    EventTypeOut,
    ReplayOut,
    ReplayRange,
    RotateSecret,
    RouteIn,
    RouteOut,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
    SubscriptionUpdate,
)

router = APIRouter(tags=["event delivery"], responses=error_responses(401, 403))
Reader = Annotated[TenantContext, Depends(require(Permission.settings_read))]
Writer = Annotated[TenantContext, Depends(require(Permission.settings_update))]
SUBS = "/webhook-subscriptions"
ROUTES = "/alert-routes"
DeliveryStatus = Literal["pending", "delivering", "succeeded", "failed", "grouped"]


@router.get("/event-types", response_model=list[EventTypeOut], summary="The event catalogue")
async def event_types(ctx: Reader) -> list[EventTypeOut]:
    legacy: dict[str, list[str]] = {}
    for old, new in catalogue.LEGACY_NAMES.items():
        legacy.setdefault(new, []).append(old)
    return [
        EventTypeOut(
            type=t,
            description=catalogue.DESCRIPTIONS[t],
            schema=catalogue.envelope_schema(t),
            legacy_names=legacy.get(t, []),
        )
        for t in catalogue.SUBSCRIBABLE
    ]


@router.get(SUBS, response_model=list[SubscriptionOut], summary="List webhook subscriptions")
async def list_subscriptions(db: DB, ctx: Reader) -> list[SubscriptionOut]:
    return [SubscriptionOut.model_validate(s) for s in await subs.list_all(db, ctx)]


@router.post(SUBS, response_model=SubscriptionCreated, status_code=201, responses=error_responses(422))
async def create_subscription(db: DB, ctx: Writer, state: State, body: SubscriptionCreate) -> SubscriptionCreated:
    """Create a subscription. The answer carries its signing secret: the only time it is shown."""
    sub, secret = await subs.create(
        state,
        db,
        ctx,
        name=body.name,
        url=body.url,
        fmt=body.format,
        event_types=list(body.event_types),
        client_ids=body.client_ids,
    )
    return SubscriptionCreated(subscription=SubscriptionOut.model_validate(sub), secret=secret)


@router.get(SUBS + "/{sub_id}", response_model=SubscriptionOut, responses=error_responses(404))
async def get_subscription(db: DB, ctx: Reader, sub_id: uuid.UUID) -> SubscriptionOut:
    return SubscriptionOut.model_validate(await subs.get(db, ctx, sub_id))


@router.patch(SUBS + "/{sub_id}", response_model=SubscriptionOut, responses=error_responses(404, 422))
async def update_subscription(
    db: DB, ctx: Writer, state: State, sub_id: uuid.UUID, body: SubscriptionUpdate
) -> SubscriptionOut:
    """Change a subscription; ``enabled: true`` re-enables one that was disabled (and clears why)."""
    sub = await subs.get(db, ctx, sub_id)
    # null means "no change", as for credentials (the document allows it for every field).
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    await subs.update_sub(state, db, sub, changes)
    return SubscriptionOut.model_validate(sub)


@router.delete(SUBS + "/{sub_id}", status_code=204, responses=error_responses(404))
async def delete_subscription(db: DB, ctx: Writer, state: State, sub_id: uuid.UUID) -> Response:
    await subs.delete(state, db, await subs.get(db, ctx, sub_id))
    return Response(status_code=204)


@router.post(SUBS + "/{sub_id}/rotate-secret", response_model=SecretRotated, responses=error_responses(404, 422))
async def rotate_secret(
    db: DB, ctx: Writer, state: State, sub_id: uuid.UUID, body: RotateSecret | None = None
) -> SecretRotated:
    """A new signing secret (shown only now); the old one keeps signing for ``overlap_hours``."""
    sub = await subs.get(db, ctx, sub_id)
    secret, until = await subs.rotate_secret(state, db, sub, timedelta(hours=(body or RotateSecret()).overlap_hours))
    return SecretRotated(secret=secret, previous_secret_expires_at=until)


@router.post(SUBS + "/{sub_id}/test", response_model=DeliveryOut, status_code=202, responses=error_responses(404))
async def send_test_event(db: DB, ctx: Writer, state: State, sub_id: uuid.UUID) -> DeliveryOut:
    """Queue a `delivery.test` event for this subscription; its outcome shows in the delivery log."""
    return DeliveryOut.model_validate(await subs.send_test(state, db, await subs.get(db, ctx, sub_id)))


@router.get(SUBS + "/{sub_id}/deliveries", response_model=Page[DeliveryOut], responses=error_responses(404))
async def list_deliveries(
    db: DB,
    ctx: Reader,
    sub_id: uuid.UUID,
    paging: Paging,
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> Page[DeliveryOut]:
    """The delivery log (newest first; kept ``RMMBRIDGE_DELIVERY_LOG_DAYS`` days)."""
    await subs.get(db, ctx, sub_id)
    query = select(EventDelivery).where(
        EventDelivery.tenant_id == ctx.tenant_id, EventDelivery.subscription_id == sub_id
    )
    if status:
        query = query.where(EventDelivery.status == status)
    rows, total = await paginate(db, query.order_by(EventDelivery.created_at.desc(), EventDelivery.id.desc()), paging)
    return make_page([DeliveryOut.model_validate(r[0]) for r in rows], total, paging)


@router.post(
    SUBS + "/{sub_id}/deliveries/{delivery_id}/replay",
    response_model=DeliveryOut,
    status_code=202,
    responses=error_responses(404, 409, 422),
)
async def replay_delivery(db: DB, ctx: Writer, state: State, sub_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryOut:
    """Send one delivery again (whatever its outcome), starting its retry ladder over."""
    await subs.replay_one(state, db, await subs.get(db, ctx, sub_id), delivery_id)
    row = await db.get(EventDelivery, (ctx.tenant_id, delivery_id), populate_existing=True)
    return DeliveryOut.model_validate(row)


@router.post(
    SUBS + "/{sub_id}/replay", response_model=ReplayOut, status_code=202, responses=error_responses(404, 409, 422)
)
async def replay_range(db: DB, ctx: Writer, state: State, sub_id: uuid.UUID, body: ReplayRange) -> ReplayOut:
    """Send again every event of ``[start, end)`` the subscription wants (still in the outbox or the log)."""
    result = await subs.replay_range(state, db, await subs.get(db, ctx, sub_id), body.start, body.end)
    return ReplayOut(requeued=result.requeued, added=result.added)


@router.get(ROUTES, response_model=list[RouteOut], summary="List alert routing rules (in order)")
async def list_routes(db: DB, ctx: Reader) -> list[RouteOut]:
    return [RouteOut.model_validate(r) for r in await routes_svc.list_routes(db, ctx)]


@router.post(ROUTES, response_model=RouteOut, status_code=201, responses=error_responses(409, 422))
async def create_route(db: DB, ctx: Writer, body: RouteIn) -> RouteOut:
    return RouteOut.model_validate(await routes_svc.create_route(db, ctx, body))


@router.post("/alert-routing/dry-run", response_model=DryRunOut, responses=error_responses(422))
async def dry_run(db: DB, ctx: Reader, state: State, body: DryRunIn) -> DryRunOut:
    """Which recent alerts the rule (or the saved rules) would have matched, and where they would go."""
    rules = [routes_svc.transient(ctx, body.rule)] if body.rule else await routes_svc.list_routes(db, ctx)
    return await routes_svc.dry_run(state, db, ctx, rules, body.days, body.limit)


@router.get(ROUTES + "/{route_id}", response_model=RouteOut, responses=error_responses(404))
async def get_route(db: DB, ctx: Reader, route_id: uuid.UUID) -> RouteOut:
    return RouteOut.model_validate(await routes_svc.get_route(db, ctx, route_id))


@router.put(ROUTES + "/{route_id}", response_model=RouteOut, responses=error_responses(404, 409, 422))
async def replace_route(db: DB, ctx: Writer, route_id: uuid.UUID, body: RouteIn) -> RouteOut:
    return RouteOut.model_validate(await routes_svc.replace_route(db, ctx, route_id, body))


@router.delete(ROUTES + "/{route_id}", status_code=204, responses=error_responses(404))
async def delete_route(db: DB, ctx: Writer, route_id: uuid.UUID) -> Response:
    await db.delete(await routes_svc.get_route(db, ctx, route_id))
    return Response(status_code=204)
