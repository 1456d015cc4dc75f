"""Mapping many organizations at once: match by name (exact and fuzzy, proposed for confirmation),
create PSA clients for every unmapped organization, and bulk map / unmap / auto-sync.

Matching never writes: it proposes; the admin confirms a subset, which :func:`apply_matches`
writes. Every write here is a handful of set-based statements, whatever the number of rows.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.clients import repository as clients_repo
from rmmbridge.clients import service as clients_service
from rmmbridge.clients.schemas import ClientCreate
from rmmbridge.errors import NotFound, ValidationFailed
from rmmbridge.kit.time import utcnow
from rmmbridge.storage.models import Client, RmmOrganizationMapping
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

M = RmmOrganizationMapping
FUZZY_CUTOFF = 0.84  # "Redwood Logistic" ~ "Redwood Logistics Inc" passes; "Redwood Dental" ~ "Redwood Legal" does not
# Legal forms and filler that say nothing about which company it is.
_NOISE = {
    "inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company", "gmbh", "ag", "sa",
    "sas", "sarl", "bv", "nv", "plc", "pty", "pte", "srl", "spa", "oy", "ab", "as", "kg", "the", "and",
}  # fmt: skip


def normalize_name(name: str) -> str:
    """Lower case, accents and punctuation gone, legal forms dropped: ``Redwood Logistics, Inc.`` →
    ``redwood logistics``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("&", " and ")
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w and w not in _NOISE]
    return " ".join(words) or text.strip()


@dataclass(frozen=True)
class NameMatch:
    mapping_id: uuid.UUID
    organization: str
    client_id: uuid.UUID
    client_name: str
    exact: bool
    score: float  # 1.0 for exact matches


async def _unmapped(session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID) -> list[M]:
    return list(
        await session.scalars(
            select(M)
            .where(
                M.tenant_id == ctx.tenant_id,
                M.integration_id == integration_id,
                M.client_id.is_(None),
                M.missing_since.is_(None),
            )
            .order_by(M.external_org_name)
        )
    )


async def suggest_matches(session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID) -> list[NameMatch]:
    """For each unmapped organization, the live PSA client of the same name (exact: equal once
    normalized) or else the one clearly closest (fuzzy), when there is one. Proposals only."""
    ctx.require(Permission.settings_read)
    clients = list(await clients_repo.all_live(session, ctx))
    by_norm: dict[str, list[Client]] = {}
    by_token: dict[str, set[int]] = {}
    norms = [normalize_name(c.name) for c in clients]
    for i, (client, norm) in enumerate(zip(clients, norms, strict=True)):
        by_norm.setdefault(norm, []).append(client)
        for token in norm.split():
            if len(token) >= 3:
                by_token.setdefault(token, set()).add(i)
    out: list[NameMatch] = []
    for m in await _unmapped(session, ctx, integration_id):
        norm = normalize_name(m.external_org_name)
        same = by_norm.get(norm, [])
        if len(same) == 1:
            out.append(NameMatch(m.id, m.external_org_name, same[0].id, same[0].name, True, 1.0))
            continue
        if same:
            continue  # two clients read the same: the admin decides, not a guess
        # Fuzzy: only clients sharing a word are compared (bounded work on large client lists).
        candidates = set().union(*(by_token.get(t, set()) for t in norm.split() if len(t) >= 3))
        scored = sorted(((SequenceMatcher(None, norm, norms[i]).ratio(), i) for i in candidates), reverse=True)
        if scored and scored[0][0] >= FUZZY_CUTOFF and (len(scored) == 1 or scored[0][0] - scored[1][0] >= 0.05):
            score, i = scored[0]
            out.append(NameMatch(m.id, m.external_org_name, clients[i].id, clients[i].name, False, round(score, 3)))
    return out


async def apply_matches(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, pairs: list[tuple[uuid.UUID, uuid.UUID]]
) -> int:
    """Map each ``(mapping id, client id)`` confirmed by the admin; organizations mapped meanwhile
    are left as they are. Returns how many were mapped."""
    ctx.require(Permission.settings_update)
    if not pairs:
        return 0
    client_ids = {c for _, c in pairs}
    live = set(
        await session.scalars(
            select(Client.id).where(
                Client.tenant_id == ctx.tenant_id, Client.id.in_(client_ids), Client.archived_at.is_(None)
            )
        )
    )
    unknown = client_ids - live
    if unknown:
        raise NotFound(f"no live client {sorted(map(str, unknown))[0]}", errors=[{"field": "client_id"}])
    by_client: dict[uuid.UUID, list[uuid.UUID]] = {}
    for mapping_id, client_id in pairs:
        by_client.setdefault(client_id, []).append(mapping_id)
    done = 0
    now = utcnow()
    for client_id, mapping_ids in by_client.items():  # one statement per client, not per row
        result = await session.execute(
            update(M)
            .where(
                M.tenant_id == ctx.tenant_id,
                M.integration_id == integration_id,
                M.id.in_(mapping_ids),
                M.client_id.is_(None),
            )
            .values(client_id=client_id, updated_at=now)
        )
        done += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return done


@dataclass(frozen=True)
class CreatedClients:
    created: int
    reused: int


async def create_clients_for_unmapped(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID
) -> CreatedClients:
    """A PSA client for every unmapped organization (named after it; a live client of that name is
    reused), each organization mapped to its client."""
    ctx.require(Permission.settings_update)
    ctx.require(Permission.clients_write)
    unmapped = await _unmapped(session, ctx, integration_id)
    existing = {c.name.lower(): c for c in await clients_repo.all_live(session, ctx)}
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = []
    created = reused = 0
    for m in unmapped:
        name = m.external_org_name.strip()[:200] or f"Organization {m.external_org_id}"
        client = existing.get(name.lower())
        if client is None:
            client = await clients_service.create_client(session, ctx, ClientCreate(name=name))
            existing[name.lower()] = client
            created += 1
        else:
            reused += 1
        pairs.append((m.id, client.id))
    await apply_matches(session, ctx, integration_id, pairs)
    return CreatedClients(created, reused)


async def bulk_update(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    mapping_ids: list[uuid.UUID],
    *,
    client_id: uuid.UUID | None = None,
    unmap: bool = False,
    auto_sync: bool | None = None,
) -> int:
    """Map the chosen organizations to one client, unmap them, and/or switch their auto-sync."""
    ctx.require(Permission.settings_update)
    if not mapping_ids:
        raise ValidationFailed("choose at least one organization", errors=[{"field": "mapping_ids"}])
    values: dict[str, object] = {}
    if unmap:
        values["client_id"] = None
    elif client_id is not None:
        client = await clients_repo.get(session, ctx, client_id)
        if client is None or client.archived_at is not None:
            raise NotFound("no such live client: choose one from the list", errors=[{"field": "client_id"}])
        values["client_id"] = client.id
    if auto_sync is not None:
        values["auto_sync_assets"] = auto_sync
    if not values:
        return 0  # nothing asked: nothing changed (the UI names the missing choice itself)
    values["updated_at"] = utcnow()
    result = await session.execute(
        update(M)
        .where(M.tenant_id == ctx.tenant_id, M.integration_id == integration_id, M.id.in_(mapping_ids))
        .values(**values)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
