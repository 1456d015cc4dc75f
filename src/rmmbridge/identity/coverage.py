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

from sqlalchemy import String, case, cast, func, select
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


async def _expected(
    session: AsyncSession, t: uuid.UUID, client_id: uuid.UUID | None
) -> tuple[dict[uuid.UUID | None, dict[uuid.UUID, str]], dict[uuid.UUID, str]]:
    """client → {integration mapped to it → name}, and every such integration's name."""
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
    expected: dict[uuid.UUID | None, dict[uuid.UUID, str]] = {}
    for cid, iid, name in await session.execute(mq):
        expected.setdefault(cid, {})[iid] = name
    return expected, {iid: n for per in expected.values() for iid, n in per.items()}


@dataclass
class _Machine:
    """One asset as coverage judges it: the integrations that see it now, and whether one of them
    has two devices on it."""

    live: set[uuid.UUID] = field(default_factory=set)
    duplicate: bool = False

    def judged(
        self, expected: dict[uuid.UUID, str], names: dict[uuid.UUID, str]
    ) -> tuple[list[str], dict[uuid.UUID, str]] | None:
        """(names of the integrations that see it, the mapped ones that do not); None when no source
        sees it any more (a machine gone from every RMM is neither a gap nor a duplicate)."""
        if not self.live:
            return None
        seen = sorted(names.get(i, str(i)) for i in self.live)
        return seen, {i: n for i, n in expected.items() if i not in self.live}


def _count_gaps(
    summary: dict[str, Any], seen: list[str], missing_from: dict[uuid.UUID, str], machines: int = 1
) -> None:
    for other in missing_from.values():
        for s in seen:
            label = f"in {s}, not in {other}"
            summary["gaps"][label] = summary["gaps"].get(label, 0) + machines


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
    expected, names = await _expected(session, t, client_id)
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
    per_asset: dict[uuid.UUID, tuple[str, uuid.UUID, str, _Machine, set[uuid.UUID]]] = {}
    for aid, aname, cid, cname, iid, missing in await session.execute(sq):
        if cid is None:  # for the type checker: the inner join to its client rules it out
            continue
        _name, _cid, _cname, machine, integrations = per_asset.setdefault(aid, (aname, cid, cname, _Machine(), set()))
        machine.duplicate = machine.duplicate or iid in integrations  # a second device of one integration
        integrations.add(iid)
        if missing is None:
            machine.live.add(iid)
    out = Coverage()
    for aid, (aname, cid, cname, machine, _integrations) in per_asset.items():
        summary = out.clients.setdefault(str(cid), {"client_name": cname, "machines": 0, "gaps": {}, "duplicates": 0})
        summary["machines"] += 1
        judged = machine.judged(expected.get(cid, {}), names)
        if judged is None:
            continue
        seen, missing_from = judged
        if missing_from and (integration_id is None or integration_id in missing_from):
            out.rows.append(CoverageRow("gap", cid, cname, aid, aname, seen, sorted(missing_from.values())))
            _count_gaps(summary, seen, missing_from)
        if machine.duplicate and integration_id is None:
            out.rows.append(CoverageRow("duplicate", cid, cname, aid, aname, seen, []))
            summary["duplicates"] += 1
    if kind is not None:
        out.rows = [r for r in out.rows if r.kind == kind]
    return out


async def coverage_counts(
    session: AsyncSession, ctx: TenantContext
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The report's numbers without its rows: per client (only those with something to report)
    ``{"gaps", "duplicates", "by_pair"}``, and the tenant's totals — what the dashboard and the
    ``coverage.changed`` event need, after every device sync.

    Counted in the database: machines are grouped by (client, the integrations that see them now,
    duplicate or not), so a few rows come back whatever the fleet size. Building the full report
    of a 20,000-asset tenant for these numbers was 0.3-0.5 s of every sync's finish."""
    ctx.require(Permission.assets_read)
    t = ctx.tenant_id
    expected, names = await _expected(session, t, None)
    per_source = (
        select(
            Asset.id.label("asset_id"),
            Asset.client_id.label("client_id"),
            AssetSource.integration_id.label("integration_id"),
            func.count().label("n"),
            func.count(AssetSource.missing_since).label("n_missing"),
        )
        .join(AssetSource, (AssetSource.tenant_id == Asset.tenant_id) & (AssetSource.asset_id == Asset.id))
        .join(Client, (Client.tenant_id == Asset.tenant_id) & (Client.id == Asset.client_id))
        .where(Asset.tenant_id == t, Asset.status != "retired")
        .group_by(Asset.id, Asset.client_id, AssetSource.integration_id)
        .subquery()
    )
    live_id = case((per_source.c.n > per_source.c.n_missing, cast(per_source.c.integration_id, String)))
    per_machine = (
        select(
            per_source.c.client_id,
            func.aggregate_strings(live_id, ",").label("live"),  # NULLs skipped; order not guaranteed
            (func.max(per_source.c.n) > 1).label("duplicate"),
        )
        .group_by(per_source.c.asset_id, per_source.c.client_id)
        .subquery()
    )
    grouped = select(per_machine.c.client_id, per_machine.c.live, per_machine.c.duplicate, func.count()).group_by(
        per_machine.c.client_id, per_machine.c.live, per_machine.c.duplicate
    )
    clients: dict[str, dict[str, Any]] = {}
    totals = {"gaps": 0, "duplicates": 0}
    for cid, live, duplicate, machines in await session.execute(grouped):
        machine = _Machine({uuid.UUID(i) for i in (live or "").split(",") if i}, bool(duplicate))
        judged = machine.judged(expected.get(cid, {}), names)
        if judged is None:
            continue
        seen, missing_from = judged
        summary = clients.setdefault(str(cid), {"gaps": {}, "duplicates": 0})
        if missing_from:
            totals["gaps"] += machines
            _count_gaps(summary, seen, missing_from, machines)
        if machine.duplicate:
            totals["duplicates"] += machines
            summary["duplicates"] += machines
    counts = {
        cid: {"gaps": sum(c["gaps"].values()), "duplicates": c["duplicates"], "by_pair": c["gaps"]}
        for cid, c in sorted(clients.items())
        if c["gaps"] or c["duplicates"]
    }
    return counts, totals


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

    counts, totals = await coverage_counts(session, ctx)
    last = await session.scalar(
        select(EventOutbox.payload)
        .where(EventOutbox.tenant_id == ctx.tenant_id, EventOutbox.event_type == COVERAGE_CHANGED)
        .order_by(desc(EventOutbox.created_at), desc(EventOutbox.id))
        .limit(1)
    )
    if (last or {}).get("clients", {}) == counts or (last is None and not counts):
        return False
    await emit(session, ctx.tenant_id, COVERAGE_CHANGED, "tenant", ctx.tenant_id, {"clients": counts, **totals}, now)
    return True
