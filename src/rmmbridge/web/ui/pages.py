"""UI: the home dashboard — headline counts, fleet status per client (with a server-side SVG chart),
integrations at a glance and the newest active alerts."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from rmmbridge.assets import repository as assets_repo
from rmmbridge.assets.status import COUNT_BUCKETS as STATUSES
from rmmbridge.clients import repository as clients_repo
from rmmbridge.storage.models import Client, RmmAlert
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.deps import DB, State

from .deps import UiAuth, ui_ctx
from .live_status import HEALTH_CHIPS, stale_integrations
from .render import render

router = APIRouter(include_in_schema=False)
TOP_CLIENTS = 12
# Chart colours, matched by the legend and the CSS badges.
COLORS = {"online": "#1f9d62", "offline": "#d08a12", "overdue": "#c4372b", "unknown": "#98a2b3", "stale": "#6b7280"}


@dataclass
class ClientFleet:
    client_id: uuid.UUID | None
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def segments(self, width: float = 100.0) -> list[dict[str, object]]:
        """Stacked-bar segments (x, width in a 0–100 box) for this client's statuses."""
        out, x = [], 0.0
        for status in STATUSES:
            n = self.counts.get(status, 0)
            if n and self.total:
                w = width * n / self.total
                out.append({"status": status, "x": round(x, 3), "w": round(w, 3), "n": n, "color": COLORS[status]})
                x += w
        return out

    @property
    def health(self) -> int:
        return round(100 * self.counts.get("online", 0) / self.total) if self.total else 0


def donut(counts: dict[str, int], radius: float = 52.0) -> list[dict[str, object]]:
    """Arcs of a donut chart as stroke-dasharray segments on one circle."""
    total = sum(counts.values())
    circumference = 2 * math.pi * radius
    arcs, offset = [], 0.0
    for status in STATUSES:
        n = counts.get(status, 0)
        if not n or not total:
            continue
        length = circumference * n / total
        arcs.append(
            {
                "status": status,
                "n": n,
                "color": COLORS[status],
                "dash": f"{length:.3f} {circumference - length:.3f}",
                "offset": f"{-offset:.3f}",
                "pct": round(100 * n / total),
            }
        )
        offset += length
    return arcs


@router.get("/")
async def home(request: Request, state: State, db: DB, auth: UiAuth) -> Response:
    ctx = ui_ctx(auth, Permission.assets_read)
    now = state.clock()
    clients = await db.scalar(
        select(func.count()).where(Client.tenant_id == ctx.tenant_id, Client.archived_at.is_(None))
    )
    alerts = await db.scalar(
        select(func.count()).where(RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.status == "active")
    )
    # The one status rule (assets/status.py), stale devices in their own bucket.
    per_client, health = await assets_repo.summary_counts(db, ctx, assets_repo.AssetFilters(), now)
    fleets: dict[uuid.UUID | None, ClientFleet] = {}
    totals: dict[str, int] = {}
    for (client_id, status), n in per_client.items():
        fleets.setdefault(client_id, ClientFleet(client_id, "")).counts[status] = int(n)
        totals[status] = totals.get(status, 0) + int(n)
    names = await clients_repo.names_by_id(db, ctx, [c for c in fleets if c is not None])
    for fleet in fleets.values():
        fleet.name = names.get(fleet.client_id, "Unknown client") if fleet.client_id else "No client"
    ranked = sorted(fleets.values(), key=lambda f: (-f.total, f.name.lower()))
    assets = sum(totals.values())

    integrations = []
    if ctx.can(Permission.settings_read):
        from rmmbridge.integrations import repository as integrations_repo
        from rmmbridge.integrations.ui import last_success, status_of

        for row in await integrations_repo.list_all(db, ctx):
            badge, label = status_of(row)
            name = state.registry.get(row.provider).display_name if row.provider in state.registry else row.provider
            integrations.append({"row": row, "name": name, "badge": badge, "label": label, "last": last_success(row)})
    recent = []
    if ctx.can(Permission.alerts_read):
        from rmmbridge.alerts import repository as alerts_repo
        from rmmbridge.alerts import views as alerts_views

        query = alerts_repo.list_query(ctx, alerts_repo.AlertFilters(status="active")).limit(6)
        recent = [alerts_views.from_row(r) for r in (await db.execute(query)).all()]

    return render(
        request,
        "home.html",
        counts={"clients": clients, "assets": assets, "alerts": alerts, **totals},
        totals=totals,
        fleets=ranked[:TOP_CLIENTS],
        more_clients=max(0, len(ranked) - TOP_CLIENTS),
        arcs=donut(totals),
        statuses=STATUSES,
        colors=COLORS,
        integrations=integrations,
        recent=recent,
        online_pct=round(100 * totals.get("online", 0) / assets) if assets else 0,
        data_as_of=await assets_repo.data_as_of(db, ctx),
        health=health,
        health_chips=HEALTH_CHIPS,
        stale=await stale_integrations(db, ctx, state.registry, now),
        identity_counts=await _identity_counts(db, ctx),
    )


async def _identity_counts(db: Any, ctx: Any) -> dict[str, int] | None:
    """Coverage gaps and open merge candidates for the dashboard (None when there is nothing to say)."""
    from rmmbridge.identity.coverage import coverage_counts
    from rmmbridge.storage.models import MergeCandidate

    candidates = await db.scalar(
        select(func.count()).where(MergeCandidate.tenant_id == ctx.tenant_id, MergeCandidate.status == "open")
    )
    _per_client, totals = await coverage_counts(db, ctx)
    gaps = totals["gaps"]
    return {"gaps": gaps, "candidates": int(candidates or 0)} if gaps or candidates else None


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page says; the icon is the static SVG."""
    from fastapi.responses import RedirectResponse

    return RedirectResponse("/static/favicon.svg", status_code=301)
