"""Agent coverage: per client, machines one integration sees and another (mapped to the same client)
does not — "in Tanium, no Tactical agent" (unmanaged) or "in Tactical, no Tanium" (unprotected) —
and stale duplicates (two devices of one integration on one machine, e.g. a reinstall whose old
agent was never deleted). Two queries whatever the fleet size; rows stream out as CSV."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.storage.models import Asset, AssetSource, Client, RmmIntegration, RmmOrganizationMapping
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

KINDS = ("gap", "duplicate")


@dataclass
class CoverageRow:
    kind: str  # gap | duplicate
    client_id: uuid.UUID
    client_name: str
    asset_id: uuid.UUID
    asset_name: str
    seen_by: list[str]  # integration names (live sources)
    missing_from: list[str]  # integration names mapped to the client that do not see it

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "client_id": str(self.client_id),
            "client_name": self.client_name,
            "asset_id": str(self.asset_id),
            "asset_name": self.asset_name,
            "seen_by": self.seen_by,
            "missing_from": self.missing_from,
        }


@dataclass
class Coverage:
    rows: list[CoverageRow] = field(default_factory=list)
    # client id → {"client_name", "machines", "gaps": {"in A, not in B": n}, "duplicates": n}
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        return {
            "gaps": sum(1 for r in self.rows if r.kind == "gap"),
            "duplicates": sum(1 for r in self.rows if r.kind == "duplicate"),
        }


async def coverage(
    session: AsyncSession,
    ctx: TenantContext,
    *,
    client_id: uuid.UUID | None = None,
    integration_id: uuid.UUID | None = None,
    kind: str | None = None,
) -> Coverage:
    """``integration_id`` keeps gaps of machines that integration does not see."""
    ctx.require(Permission.assets_read)
    t = ctx.tenant_id
    mq = (
        select(RmmOrganizationMapping.client_id, RmmIntegration.id, RmmIntegration.name)
        .join(
            RmmIntegration,
            (RmmIntegration.tenant_id == RmmOrganizationMapping.tenant_id)
            & (RmmIntegration.id == RmmOrganizationMapping.integration_id),
        )
        .where(RmmOrganizationMapping.tenant_id == t, RmmOrganizationMapping.client_id.is_not(None))
    )
    if client_id is not None:
        mq = mq.where(RmmOrganizationMapping.client_id == client_id)
    expected: dict[uuid.UUID, dict[uuid.UUID, str]] = {}
    for cid, iid, name in await session.execute(mq):
        expected.setdefault(cid, {})[iid] = name
    names = {iid: n for per in expected.values() for iid, n in per.items()}
    sq = (
        select(
            Asset.id, Asset.name, Asset.client_id, Client.name, AssetSource.integration_id, AssetSource.missing_since
        )
        .join(AssetSource, (AssetSource.tenant_id == Asset.tenant_id) & (AssetSource.asset_id == Asset.id))
        .join(Client, (Client.tenant_id == Asset.tenant_id) & (Client.id == Asset.client_id))
        .where(Asset.tenant_id == t, Asset.status != "retired")
        .order_by(Client.name, Asset.name, Asset.id)
    )
    if client_id is not None:
        sq = sq.where(Asset.client_id == client_id)
    per_asset: dict[uuid.UUID, dict[str, Any]] = {}
    for aid, aname, cid, cname, iid, missing in await session.execute(sq):
        entry = per_asset.setdefault(aid, {"name": aname, "client": cid, "client_name": cname, "live": {}, "all": {}})
        entry["all"][iid] = entry["all"].get(iid, 0) + 1
        if missing is None:
            entry["live"][iid] = entry["live"].get(iid, 0) + 1
    out = Coverage()
    for aid, e in per_asset.items():
        cid = e["client"]
        summary = out.clients.setdefault(
            str(cid), {"client_name": e["client_name"], "machines": 0, "gaps": {}, "duplicates": 0}
        )
        summary["machines"] += 1
        live = e["live"]
        if not live:
            continue
        seen = sorted(names.get(i, str(i)) for i in live)
        missing_from = {i: n for i, n in expected.get(cid, {}).items() if i not in live}
        if missing_from and (integration_id is None or integration_id in missing_from):
            out.rows.append(
                CoverageRow("gap", cid, e["client_name"], aid, e["name"], seen, sorted(missing_from.values()))
            )
            for other in missing_from.values():
                for s in seen:
                    label = f"in {s}, not in {other}"
                    summary["gaps"][label] = summary["gaps"].get(label, 0) + 1
        if any(n > 1 for n in e["all"].values()) and integration_id is None:
            out.rows.append(CoverageRow("duplicate", cid, e["client_name"], aid, e["name"], seen, []))
            summary["duplicates"] += 1
    if kind is not None:
        out.rows = [r for r in out.rows if r.kind == kind]
    return out


def to_csv(rows: list[CoverageRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["kind", "client", "asset_id", "asset", "seen_by", "missing_from"])
    for r in rows:
        w.writerow(
            [r.kind, r.client_name, str(r.asset_id), r.asset_name, "; ".join(r.seen_by), "; ".join(r.missing_from)]
        )
    return buf.getvalue()


async def emit_if_changed(session: AsyncSession, ctx: TenantContext, now: Any) -> bool:
    """One ``coverage.changed`` event (per-client gap and duplicate counts) after a device sync, only
    when the counts differ from the last such event: subscribers learn of new unmanaged or
    unprotected machines without polling the report."""
    from sqlalchemy import desc

    from rmmbridge.events.catalogue import COVERAGE_CHANGED
    from rmmbridge.events.outbox import emit
    from rmmbridge.storage.models import EventOutbox

    report = await coverage(session, ctx)
    counts = {
        cid: {"gaps": sum(c["gaps"].values()), "duplicates": c["duplicates"], "by_pair": c["gaps"]}
        for cid, c in sorted(report.clients.items())
        if c["gaps"] or c["duplicates"]
    }
    last = await session.scalar(
        select(EventOutbox.payload)
        .where(EventOutbox.tenant_id == ctx.tenant_id, EventOutbox.event_type == COVERAGE_CHANGED)
        .order_by(desc(EventOutbox.created_at), desc(EventOutbox.id))
        .limit(1)
    )
    if (last or {}).get("clients", {}) == counts or (last is None and not counts):
        return False
    await emit(
        session, ctx.tenant_id, COVERAGE_CHANGED, "tenant", ctx.tenant_id, {"clients": counts, **report.totals()}, now
    )
    return True
