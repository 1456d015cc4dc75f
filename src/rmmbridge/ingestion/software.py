"""Software inventory: catalog upsert and per-asset current / uninstalled tracking, in batches.

The provider streams one device's list at a time (bounded memory even when the RMM answers with
hundreds of MB); batches of devices are written set-wise, one transaction each. Every installed
version is its own installation: an agent with 15.0 and 14.0 of one product keeps both, and removing
one marks only that one uninstalled.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import DeviceSoftware
from rmmbridge.storage.db import dialect_insert
from rmmbridge.storage.models import (
    AssetSoftware,
    AssetSoftwareInventory,
    ExternalEntityMapping,
    SoftwareCatalog,
)
from rmmbridge.tenancy.context import TenantContext

from .devices import DEVICE

CATALOG_CHUNK = 2000
_SPACE = re.compile(r"\s+")

InstallKey = tuple[str, str, str]  # (normalized name, publisher, version); '' = no publisher / no version


@dataclass(frozen=True, slots=True)
class Installation:
    name: str
    install_date: datetime | None
    size_bytes: int | None


def normalize_name(name: str) -> str:
    return _SPACE.sub(" ", name).strip().lower()[:500]


def installations_of(device: DeviceSoftware) -> dict[InstallKey, Installation]:
    """One device's list keyed by (name, publisher, version): side-by-side versions stay apart, while the
    same version listed twice (32- and 64-bit registry views, repeated rows) collapses into one, with the
    earliest install date and the largest size of its rows, so the result does not depend on row order."""
    out: dict[InstallKey, Installation] = {}
    for item in device.software:
        name = item.name.strip()[:500]
        if not name:
            continue
        key = (normalize_name(name), (item.publisher or "").strip()[:500], (item.version or "").strip()[:200])
        seen = out.get(key)
        if seen is None:
            out[key] = Installation(name, item.install_date, item.size_bytes)
            continue
        dates = [d for d in (seen.install_date, item.install_date) if d is not None]
        sizes = [b for b in (seen.size_bytes, item.size_bytes) if b is not None]
        out[key] = Installation(seen.name, min(dates, default=None), max(sizes, default=None))
    return out


def digest_of(items: dict[InstallKey, Installation]) -> str:
    """Order-independent digest of a list as stored (the display name is the catalog's, so it is left out)."""
    h = hashlib.sha256()
    for key in sorted(items):
        item = items[key]
        date = item.install_date.isoformat() if item.install_date else ""
        h.update("\x1f".join((*key, date, str(item.size_bytes or ""))).encode())
        h.update(b"\x1e")
    return h.hexdigest()


# Run counters. installations: installed versions listed (side-by-side versions count apart);
# installed: versions new to an asset or back after an uninstall; updated: same version, new date/size.
COUNTERS = (
    "devices",
    "devices_unknown",
    "devices_unchanged",
    "installations",
    "installed",
    "updated",
    "uninstalled",
    "catalog_new",
)


async def write_batch(
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    devices: list[DeviceSoftware],
) -> dict[str, int]:
    """Write a batch of devices' complete lists, set-wise: a few statements whatever the batch holds.

    Unchanged lists (same digest as stored) only move the inventory's ``seen_at``; for the others the
    stored current installations are diffed against the list, and only what differs is written.
    """
    now = utcnow()
    m = ExternalEntityMapping
    by_id = {d.external_id for d in devices if d.external_id}
    by_ref = {d.external_ref for d in devices if d.external_ref and not d.external_id}
    rows = await session.execute(
        select(m.external_id, m.external_ref, m.local_id).where(
            m.tenant_id == ctx.tenant_id,
            m.integration_id == integration_id,
            m.entity_type == DEVICE,
            (m.external_id.in_(by_id) | m.external_ref.in_(by_ref)) if by_ref else m.external_id.in_(by_id),
        )
    )
    asset_by_id: dict[str, uuid.UUID] = {}
    asset_by_ref: dict[str, uuid.UUID] = {}
    for ext, ref, local in rows:
        asset_by_id[ext] = local
        if ref:
            asset_by_ref[ref] = local
    lists: dict[uuid.UUID, dict[InstallKey, Installation]] = {}
    unknown = 0
    for device in devices:
        asset_id = asset_by_id.get(device.external_id or "") or asset_by_ref.get(device.external_ref or "")
        if asset_id is None:
            unknown += 1
            continue
        lists[asset_id] = installations_of(device)
    counts = dict.fromkeys(COUNTERS, 0)
    counts["devices"] = len(devices) - unknown
    counts["devices_unknown"] = unknown
    counts["installations"] = sum(len(items) for items in lists.values())
    if not lists:
        return counts
    inv = AssetSoftwareInventory
    stored = {
        asset_id: (digest, seen_at)
        for asset_id, digest, seen_at in await session.execute(
            select(inv.asset_id, inv.digest, inv.seen_at).where(inv.tenant_id == ctx.tenant_id, inv.asset_id.in_(lists))
        )
    }
    digests = {asset_id: digest_of(items) for asset_id, items in lists.items()}
    unchanged = [a for a, d in digests.items() if a in stored and stored[a][0] == d]
    counts["devices_unchanged"] = len(unchanged)
    if unchanged:
        await session.execute(
            update(inv).where(inv.tenant_id == ctx.tenant_id, inv.asset_id.in_(unchanged)).values(seen_at=now)
        )
    changed = {a: items for a, items in lists.items() if a not in unchanged}
    if not changed:
        return counts
    ids, counts["catalog_new"] = await _catalog_ids(session, ctx, changed.values(), now)
    s = AssetSoftware
    current = {
        (asset_id, software_id, version): (install_date, size_bytes)
        for asset_id, software_id, version, install_date, size_bytes in await session.execute(
            select(s.asset_id, s.software_id, s.version, s.install_date, s.size_bytes).where(
                s.tenant_id == ctx.tenant_id, s.asset_id.in_(changed), s.is_current.is_(True)
            )
        )
    }
    writes: list[dict[str, Any]] = []
    listed: set[tuple[uuid.UUID, uuid.UUID, str]] = set()
    for asset_id, items in changed.items():
        for (norm, pub, version), item in items.items():
            key = (asset_id, ids[(norm, pub)], version)
            listed.add(key)
            was = current.get(key)
            if was == (item.install_date, item.size_bytes):
                continue
            counts["installed" if was is None else "updated"] += 1
            writes.append(
                {
                    "tenant_id": ctx.tenant_id,
                    "asset_id": key[0],
                    "software_id": key[1],
                    "version": version,
                    "install_date": item.install_date,
                    "size_bytes": item.size_bytes,
                    "is_current": True,
                    "first_seen_at": now,
                    "last_seen_at": now,
                    "uninstalled_at": None,
                }
            )
    insert = dialect_insert(session)
    if writes:
        stmt = insert(AssetSoftware)
        # A conflict is a version seen before: attributes changed, or uninstalled and back (current again).
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "asset_id", "software_id", "version"],
            set_={
                "install_date": stmt.excluded.install_date,
                "size_bytes": stmt.excluded.size_bytes,
                "is_current": True,
                "last_seen_at": now,
                "uninstalled_at": None,
            },
        )
        await session.execute(stmt, writes)
    gone = [key for key in current if key not in listed]
    if gone:
        # The last inventory that still listed a removed version is the previous one.
        await session.execute(
            update(AssetSoftware),
            [
                {
                    "tenant_id": ctx.tenant_id,
                    "asset_id": a,
                    "software_id": sid,
                    "version": v,
                    "is_current": False,
                    "uninstalled_at": now,
                    "last_seen_at": stored[a][1] if a in stored else now,
                }
                for a, sid, v in gone
            ],
        )
        counts["uninstalled"] = len(gone)
    stmt = insert(inv)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "asset_id"],
            set_={
                "digest": stmt.excluded.digest,
                "installations": stmt.excluded.installations,
                "seen_at": now,
                "changed_at": now,
            },
        ),
        [
            {
                "tenant_id": ctx.tenant_id,
                "asset_id": asset_id,
                "digest": digests[asset_id],
                "installations": len(items),
                "seen_at": now,
                "changed_at": now,
            }
            for asset_id, items in changed.items()
        ],
    )
    return counts


async def _catalog_ids(
    session: AsyncSession,
    ctx: TenantContext,
    lists: Iterable[dict[InstallKey, Installation]],
    now: datetime,
) -> tuple[dict[tuple[str, str], uuid.UUID], int]:
    """Catalog ids of every (normalized name, publisher) in ``lists``, creating the new ones; and how many were new."""
    names: dict[tuple[str, str], str] = {}
    for items in lists:
        for (norm, pub, _version), item in items.items():
            names.setdefault((norm, pub), item.name)
    insert = dialect_insert(session)
    c = SoftwareCatalog
    ids: dict[tuple[str, str], uuid.UUID] = {}
    created = 0
    keys = list(names)
    # Chunked: a first inventory can name tens of thousands of products, more than SQLite binds per statement.
    for start in range(0, len(keys), CATALOG_CHUNK):
        chunk = keys[start : start + CATALOG_CHUNK]
        new = await session.execute(
            insert(c)
            .on_conflict_do_nothing(index_elements=["tenant_id", "normalized_name", "publisher"])
            .returning(c.id),
            [
                {
                    "tenant_id": ctx.tenant_id,
                    "id": uuid7(),
                    "name": names[k],
                    "normalized_name": k[0],
                    "publisher": k[1],
                    "created_at": now,
                }
                for k in chunk
            ],
        )
        created += len(new.all())
        # By name only, publishers filtered here: a one-column IN is an index lookup on both databases, where
        # PostgreSQL plans a (name, publisher) row-value IN as a scan of the whole catalog per chunk.
        wanted = set(chunk)
        for norm, pub, sid in await session.execute(
            select(c.normalized_name, c.publisher, c.id).where(
                c.tenant_id == ctx.tenant_id, c.normalized_name.in_({k[0] for k in chunk})
            )
        ):
            if (norm, pub) in wanted:
                ids[(norm, pub)] = sid
    return ids, created
