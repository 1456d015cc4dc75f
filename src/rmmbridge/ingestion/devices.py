"""The shared, set-based device ingestion pipeline (docs/architecture.md, "The life of a device").

Every provider's pages of :class:`DeviceSnapshot` come through :meth:`DeviceIngestor.ingest`,
which writes one page in a constant number of statements, whatever the page size:

1. prefetch the page's crosswalk rows joined to their assets (one SELECT);
2. claim new devices by inserting crosswalk rows ``ON CONFLICT DO NOTHING RETURNING`` — the
   unique key ``(tenant, integration, entity type, external id)`` decides races, so two
   concurrent runs can never create the same asset twice; rows another run won are re-read;
3. bulk-insert the new assets and their workstation/server extension rows;
4. for changed devices, read the old extension rows (two SELECTs) to diff, then bulk-update the
   assets (executemany by primary key) and upsert the extension rows;
5. touch ``last_seen_run_id`` of every crosswalk row in the page (deletion detection), with the
   new content hash for changed ones;
6. bulk-insert history rows and outbox events.

A device whose content hash (snapshot + target client) is unchanged and whose asset is live gets
no write to its asset or extension row. Fields an admin edited by hand (``assets.overrides``)
are never overwritten.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.assets.status import compute_status, cutoffs
from rmmbridge.events import catalogue
from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.identity.source_values import CORE_VALUES
from rmmbridge.ingestion.limits import fit_snapshots
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.text import clean
from rmmbridge.providers.base import DevicePage, DeviceSnapshot
from rmmbridge.storage.bulk import one_of
from rmmbridge.storage.copy import copy_insert, copy_update, copy_upsert
from rmmbridge.storage.db import is_postgres
from rmmbridge.storage.models import Asset, AssetHistory, ExternalEntityMapping, ServerAsset, WorkstationAsset
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext

from .correlation import Correlator

DEVICE = "device"
OVERRIDABLE = ("name", "asset_type", "client_id")
EXTENSION_FIELDS = (
    "manufacturer",
    "model",
    "hardware_uuid",
    "os_name",
    "os_version",
    "platform",
    "architecture",
    "cpu_model",
    "cpu_cores",
    "cpu_threads",
    "ram_bytes",
    "volumes",
    "physical_disks",
    "gpu",
    "domain",
    "agent_version",
    "current_user",
    "last_user",
    "boot_time",
    "lan_ips",
    "primary_ip",
    "wan_ip",
    "mac_addresses",
    "needs_reboot",
    "patches_last_installed_at",
)
# The core columns a sync writes: the same list a source's stored values hold (one definition).
CORE_SYNCED = CORE_VALUES
# Snapshot fields a partial record may leave out (DeviceSnapshot.reported) → their asset columns.
# Identity, realm and liveness are always part of a snapshot.
PARTIAL_CORE = {
    "asset_type": "asset_type",
    "serial_number": "serial_number",
    "site_id": "rmm_site_id",
    "site_name": "rmm_site_name",
}
# Fields that change on most syncs (heartbeats, free space, who is logged in): they are written
# but do not produce history rows or "updated" events, which would otherwise drown real changes.
VOLATILE = frozenset(
    {"last_seen_at", "offline_at", "overdue_at", "boot_time", "current_user", "last_user", "volumes", "needs_reboot"}
)
EXTENSION_TABLES: dict[str, Table] = {
    "workstation": table_of(WorkstationAsset),
    "server": table_of(ServerAsset),
}
ASSETS: Table = table_of(Asset)
MAPPINGS: Table = table_of(ExternalEntityMapping)


def extension_table(asset_type: str) -> Table:
    return EXTENSION_TABLES.get(asset_type, EXTENSION_TABLES["workstation"])


@dataclass
class IngestCounters:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    revived: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: IngestCounters) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class IngestOutcome:
    counters: IngestCounters
    errors: list[dict[str, str]] = field(default_factory=list)
    asset_ids: dict[str, uuid.UUID] = field(default_factory=dict)  # external id -> asset id


@dataclass(frozen=True, slots=True)
class _Existing:
    mapping_id: uuid.UUID
    asset_id: uuid.UUID
    content_hash: str | None
    client_id: uuid.UUID | None
    name: str
    asset_type: str
    status: str
    missing_since: datetime | None
    overrides: tuple[str, ...]
    core: dict[str, Any]


_PLAIN = frozenset({int, bool, float, datetime, type(None)})


def _jsonable(value: Any) -> Any:
    """Snapshot values as stored in columns (tuples → lists, dataclasses → dicts, no NULs)."""
    if value.__class__ in _PLAIN:  # most fields: nothing to convert (checked first: it runs per field)
        return value
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    names = _field_names(value.__class__)
    if names is not None:
        # Field by field, not asdict(): asdict deep-copies every value first (measured: a third of
        # the CPU of building a page's rows).
        return {name: _jsonable(v) for name in names if (v := getattr(value, name)) is not None}
    return value


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names (``fields()`` rebuilds them per call: per volume, disk, adapter)."""
    return tuple(f.name for f in fields(cls)) if hasattr(cls, "__dataclass_fields__") else None


_extension_getter = attrgetter(*EXTENSION_FIELDS)


def _digest(snapshot: DeviceSnapshot, client_id: uuid.UUID | None) -> str:
    """The snapshot's content plus the client it lands on: a remapped organization is a change."""
    return snapshot.content_hash(salt=str(client_id))


class DeviceIngestor:
    """Ingests pages of snapshots for one integration during one run."""

    def __init__(
        self,
        ctx: TenantContext,
        integration_id: uuid.UUID,
        provider_key: str,
        run_id: uuid.UUID,
        realm_clients: dict[str, uuid.UUID],
        actor: str,
        fresh_for: timedelta | None = None,
    ) -> None:
        self.ctx = ctx
        self.integration_id = integration_id
        self.provider_key = provider_key
        self.run_id = run_id
        self.realm_clients = realm_clients
        self.actor = actor
        # How long a status read from these snapshots counts as fresh (3 liveness intervals).
        self.fresh_for = fresh_for
        # Cross-RMM identity: attach new devices to the asset of the same machine (correlation.py).
        self.correlator = Correlator(ctx, integration_id, provider_key, actor)

    # ------------------------------------------------------------------ public

    async def ingest(self, session: AsyncSession, page: DevicePage, now: datetime) -> IngestOutcome:
        snapshots, too_long = fit_snapshots(page.snapshots)
        invalid = [*page.invalid, *too_long]
        counters = IngestCounters(failed=len(invalid))
        errors = [{"external_id": r.external_id or "", "error": r.cause} for r in invalid]
        wanted: dict[str, tuple[DeviceSnapshot, uuid.UUID, str]] = {}
        for snap in snapshots:
            client_id = self.realm_clients.get(snap.realm_id)
            if client_id is None:
                counters.skipped += 1  # its organization is not mapped (or auto-sync is off)
                continue
            wanted[snap.external_id] = (snap, client_id, _digest(snap, client_id))  # last one wins
        counters.processed = len(wanted) + counters.failed
        outcome = IngestOutcome(counters=counters, errors=errors)
        if not wanted:
            return outcome

        existing = await self._prefetch(session, list(wanted), {ext: w[2] for ext, w in wanted.items()})
        new_ids = [ext for ext in wanted if ext not in existing]
        history: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        plan = await self.correlator.plan(session, {e: wanted[e] for e in new_ids}) if new_ids else None
        if plan is not None and plan.attach:  # the same machine as an existing asset: another source
            attach = {ext: target for ext, (target, _why) in plan.attach.items()}
            existing.update(await self.correlator.claim(session, wanted, attach, self.run_id, now, self._prefetch))
        if plan is not None:
            new_ids = [e for e in new_ids if e not in existing and e not in plan.follow]

        # What this page creates: its rows cannot conflict with anything stored (plain COPY below).
        created: dict[str, uuid.UUID] = {}
        created_mappings: dict[str, uuid.UUID] = {}
        if new_ids:
            created, lost, created_mappings = await self._create(
                session, [wanted[e] for e in new_ids], now, history, events
            )
            counters.created += len(created)
            outcome.asset_ids.update(created)
            if lost:  # another run created these between our prefetch and insert
                existing.update(await self._prefetch(session, lost))  # full rows: they may differ
        if plan is not None and plan.follow:  # same machine as a device this page just created
            follow = {e: outcome.asset_ids[lead] for e, lead in plan.follow.items() if lead in outcome.asset_ids}
            existing.update(await self.correlator.claim(session, wanted, follow, self.run_id, now, self._prefetch))

        changed: list[tuple[DeviceSnapshot, uuid.UUID, str, _Existing]] = []
        unchanged_mapping_ids: list[uuid.UUID] = []
        for ext, (snap, client_id, digest) in wanted.items():
            old = existing.get(ext)
            if old is None:
                continue
            outcome.asset_ids[ext] = old.asset_id
            live = old.status != "retired" and old.missing_since is None
            if old.content_hash == digest and live:
                unchanged_mapping_ids.append(old.mapping_id)
            else:
                changed.append((snap, client_id, digest, old))
        counters.unchanged = len(unchanged_mapping_ids)

        if changed:
            await self.correlator.load_sources(session, [old.asset_id for *_, old in changed])
            updated, revived = await self._update(session, changed, now, history, events)
            counters.updated += updated
            counters.revived += revived
        if unchanged_mapping_ids:
            await session.execute(
                update(MAPPINGS)
                .where(MAPPINGS.c.tenant_id == self.ctx.tenant_id, MAPPINGS.c.id.in_(unchanged_mapping_ids))
                .values(last_seen_run_id=self.run_id)
            )
        written: dict[str, uuid.UUID | None] = {e: None for e in new_ids}
        written.update(created_mappings)
        written.update({snap.external_id: old.mapping_id for snap, _c, _d, old in changed})
        await self.correlator.after_page(
            session,
            self,
            wanted,
            outcome.asset_ids,
            written,
            unchanged_mapping_ids,
            now,
            history,
            events,
            frozenset(created_mappings.values()),
        )
        await copy_insert(session, table_of(AssetHistory), history)
        await write_events(session, events)
        # Status inputs go to the narrow liveness table: one set-based upsert for the page.
        from .liveness import upsert_from_snapshots

        await upsert_from_snapshots(
            session,
            self.ctx,
            self.integration_id,
            _newest_per_asset(outcome.asset_ids, wanted),
            now,
            now + self.fresh_for if self.fresh_for is not None else None,
            frozenset(created.values()),
        )
        return outcome

    # ------------------------------------------------------------------ steps

    async def _prefetch(
        self, session: AsyncSession, external_ids: list[str], digests: dict[str, str] | None = None
    ) -> dict[str, _Existing]:
        """Crosswalk rows and their assets for these devices, in at most three indexed lookups.

        Separate lookups (crosswalk by natural key, then assets by primary key) rather than one
        join keep the plan an index lookup even when statistics are stale after a bulk load. Only
        devices whose digest differs (``digests``) need the asset's current values, so unchanged
        devices cost one narrow lookup.
        """
        m, a = MAPPINGS.c, ASSETS.c
        pg = is_postgres(session)  # PostgreSQL: one array parameter per lookup, not one per id
        links = (
            await session.execute(
                select(m.external_id, m.id, m.local_id, m.content_hash).where(
                    m.tenant_id == self.ctx.tenant_id,
                    m.integration_id == self.integration_id,
                    m.entity_type == DEVICE,
                    one_of(m.external_id, external_ids, pg),
                )
            )
        ).all()
        if not links:
            return {}
        liveness = {
            row[0]: (row[1], row[2])
            for row in await session.execute(
                select(a.id, a.status, a.missing_since).where(
                    a.tenant_id == self.ctx.tenant_id, one_of(a.id, [link[2] for link in links], pg)
                )
            )
        }
        need_core = [
            link[2]
            for link in links
            if link[2] in liveness
            and (digests is None or digests.get(link[0]) != link[3] or liveness[link[2]] != ("active", None))
        ]
        cores: dict[uuid.UUID, Any] = {}
        if need_core:
            core_cols = [getattr(a, f) for f in CORE_SYNCED]
            rows = await session.execute(
                select(a.id, a.overrides, *core_cols).where(
                    a.tenant_id == self.ctx.tenant_id, one_of(a.id, need_core, pg)
                )
            )
            cores = {row[0]: row for row in rows}
        found: dict[str, _Existing] = {}
        for external_id, mapping_id, asset_id, content_hash in links:
            if asset_id not in liveness:
                continue  # the asset was deleted by hand: the device is treated as new
            status, missing_since = liveness[asset_id]
            row = cores.get(asset_id)
            core = {f: row[2 + i] for i, f in enumerate(CORE_SYNCED)} if row is not None else {}
            found[external_id] = _Existing(
                mapping_id=mapping_id,
                asset_id=asset_id,
                content_hash=content_hash,
                status=status,
                missing_since=missing_since,
                overrides=tuple(row[1] or ()) if row is not None else (),
                client_id=core.get("client_id"),
                name=core.get("name", ""),
                asset_type=core.get("asset_type", ""),
                core=core,
            )
        return found

    def _core_values(self, snap: DeviceSnapshot, client_id: uuid.UUID) -> dict[str, Any]:
        offline_at, overdue_at = cutoffs(snap.last_seen_at, snap.offline_after_s, snap.overdue_after_s)
        return {
            "name": clean(snap.name[:255]),
            "asset_type": snap.asset_type,
            "serial_number": clean(snap.serial_number),
            "client_id": client_id,
            "rmm_organization_id": snap.realm_id,
            "rmm_site_id": snap.site_id,
            "rmm_site_name": clean(snap.site_name),
            "last_seen_at": snap.last_seen_at,
            "offline_after_s": snap.offline_after_s,
            "overdue_after_s": snap.overdue_after_s,
            "offline_at": offline_at,
            "overdue_at": overdue_at,
        }

    @staticmethod
    def _extension_values(snap: DeviceSnapshot) -> dict[str, Any]:
        # One C-level read of every field; strings without NUL and scalars go through untouched.
        return {
            f: v if v.__class__ in _PLAIN or (v.__class__ is str and "\x00" not in v) else _jsonable(v)
            for f, v in zip(EXTENSION_FIELDS, _extension_getter(snap), strict=True)
        }

    async def _create(
        self,
        session: AsyncSession,
        items: list[tuple[DeviceSnapshot, uuid.UUID, str]],
        now: datetime,
        history: list[dict[str, Any]],
        events: list[dict[str, Any]],
    ) -> tuple[dict[str, uuid.UUID], list[str], dict[str, uuid.UUID]]:
        """Returns (external id → new asset, ids another run claimed first, external id → crosswalk id)."""
        tenant = self.ctx.tenant_id
        planned = {snap.external_id: (uuid7(), snap, client_id, digest) for snap, client_id, digest in items}
        # The crosswalk row is the claim: another run that inserted the same device first wins, and
        # this page treats it as existing (``lost``). Binary COPY on PostgreSQL (storage/copy.py).
        result = await copy_upsert(
            session,
            MAPPINGS,
            [
                {
                    "tenant_id": tenant,
                    "id": uuid7(),
                    "integration_id": self.integration_id,
                    "entity_type": DEVICE,
                    "external_id": ext,
                    "local_id": asset_id,
                    "external_ref": snap.external_ref,
                    "realm_id": snap.realm_id,
                    "site_id": snap.site_id,
                    "content_hash": digest,
                    "last_seen_run_id": self.run_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for ext, (asset_id, snap, _client, digest) in planned.items()
            ],
            ["tenant_id", "integration_id", "entity_type", "external_id"],
            returning=["external_id", "id"],
        )
        won: dict[str, uuid.UUID] = {r[0]: r[1] for r in result}
        lost = [ext for ext in planned if ext not in won]
        if not won:
            return {}, lost, {}
        assets: list[dict[str, Any]] = []
        extensions: dict[str, list[dict[str, Any]]] = {"workstation": [], "server": []}
        for ext in won:
            asset_id, snap, client_id, _ = planned[ext]
            core = self._core_values(snap, client_id)
            assets.append(
                {
                    "tenant_id": tenant,
                    "id": asset_id,
                    **core,
                    "status": "active",
                    "location": None,
                    "notes": None,
                    "rmm_provider": self.provider_key,
                    "rmm_integration_id": self.integration_id,
                    "rmm_device_id": ext,
                    "agent_status": compute_status(
                        core["last_seen_at"],
                        core["offline_at"],
                        core["overdue_at"],
                        now,
                        thresholds_known=core["offline_after_s"] is not None,
                    ),
                    "last_rmm_sync_at": now,
                    "missing_since": None,
                    "missing_snapshots": 0,
                    "overrides": [],
                    "created_at": now,
                    "updated_at": now,
                }
            )
            table_key = "server" if snap.asset_type == "server" else "workstation"
            extensions[table_key].append(
                {"tenant_id": tenant, "asset_id": asset_id, **self._extension_values(snap), "updated_at": now}
            )
            history.append(self._history(asset_id, "created", {}, now))
            events.append(
                event_row(
                    tenant,
                    catalogue.ASSET_CREATED,
                    "asset",
                    asset_id,
                    {"integration_id": str(self.integration_id), "external_id": ext, "name": snap.name},
                    now,
                )
            )
        await copy_insert(session, ASSETS, assets)
        for key, rows in extensions.items():
            await copy_insert(session, EXTENSION_TABLES[key], rows)
        return {ext: planned[ext][0] for ext in won}, lost, won

    async def _old_extensions(
        self, session: AsyncSession, asset_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        old: dict[uuid.UUID, dict[str, Any]] = {}
        for key, table in EXTENSION_TABLES.items():
            cols = [table.c.asset_id, *(table.c[f] for f in EXTENSION_FIELDS)]
            rows = await session.execute(
                select(*cols).where(table.c.tenant_id == self.ctx.tenant_id, table.c.asset_id.in_(asset_ids))
            )
            for row in rows:
                old[row[0]] = {"__table": key, **{f: row[i + 1] for i, f in enumerate(EXTENSION_FIELDS)}}
        return old

    async def _update(
        self,
        session: AsyncSession,
        changed: list[tuple[DeviceSnapshot, uuid.UUID, str, _Existing]],
        now: datetime,
        history: list[dict[str, Any]],
        events: list[dict[str, Any]],
    ) -> tuple[int, int]:
        tenant = self.ctx.tenant_id
        old_ext = await self._old_extensions(session, [old.asset_id for *_, old in changed])
        asset_rows: list[dict[str, Any]] = []
        mapping_rows: list[dict[str, Any]] = []
        ext_rows: dict[str, list[dict[str, Any]]] = {"workstation": [], "server": []}
        moved_out: dict[str, list[uuid.UUID]] = {"workstation": [], "server": []}
        revived = 0
        for snap, client_id, digest, old in changed:
            core = self._core_values(snap, client_id)
            for f in OVERRIDABLE:  # an admin's hand edit wins over the RMM
                if f in old.overrides:
                    core[f] = old.core[f]
            ext_values = self._extension_values(snap)
            previous_ext = old_ext.get(old.asset_id, {})
            if snap.reported is not None:  # a partial record: what it does not carry stays as stored
                for f, column in PARTIAL_CORE.items():
                    if f not in snap.reported:
                        core[column] = old.core[column]
                if previous_ext:
                    for f in EXTENSION_FIELDS:
                        if f not in snap.reported:
                            ext_values[f] = previous_ext.get(f)
            # A lone source joined by this one gets its own values first: its asset's, read above.
            self.correlator.fill(old.asset_id, old.mapping_id, old.core, previous_ext)
            self.correlator.compose(old.asset_id, old.mapping_id, core, ext_values, old.overrides, old.core)
            changes = {
                f: [_str(old.core.get(f)), _str(core[f])]
                for f in CORE_SYNCED
                if f not in VOLATILE and old.core.get(f) != core[f]
            }
            changes.update(
                {
                    f: [_str(previous_ext.get(f)), _str(v)]
                    for f, v in ext_values.items()
                    if f not in VOLATILE and previous_ext.get(f) != v
                }
            )
            was_gone = old.status == "retired" or old.missing_since is not None
            asset_rows.append(
                {
                    "tenant_id": tenant,
                    "id": old.asset_id,
                    **core,
                    "status": "active",
                    "missing_since": None,
                    "missing_snapshots": 0,
                    "last_rmm_sync_at": now,
                    "updated_at": now,
                }
            )
            mapping_rows.append(
                {
                    "tenant_id": tenant,
                    "id": old.mapping_id,
                    "content_hash": digest,
                    "realm_id": snap.realm_id,
                    "site_id": snap.site_id,
                    "external_ref": snap.external_ref,
                    "last_seen_run_id": self.run_id,
                    "updated_at": now,
                }
            )
            target = "server" if core["asset_type"] == "server" else "workstation"
            ext_rows[target].append({"tenant_id": tenant, "asset_id": old.asset_id, **ext_values, "updated_at": now})
            if previous_ext and previous_ext["__table"] != target:
                moved_out[previous_ext["__table"]].append(old.asset_id)
            if was_gone:
                revived += 1
                history.append(self._history(old.asset_id, "revived", changes, now))
                events.append(
                    event_row(
                        tenant,
                        catalogue.ASSET_REVIVED,
                        "asset",
                        old.asset_id,
                        {"integration_id": str(self.integration_id), "external_id": snap.external_id},
                        now,
                    )
                )
            elif changes:
                history.append(self._history(old.asset_id, "updated", changes, now))
                events.append(
                    event_row(
                        tenant,
                        catalogue.ASSET_UPDATED,
                        "asset",
                        old.asset_id,
                        {
                            "integration_id": str(self.integration_id),
                            "external_id": snap.external_id,
                            "changed": sorted(changes),
                        },
                        now,
                    )
                )

        await copy_update(session, ASSETS, asset_rows, ("tenant_id", "id"))
        await copy_update(session, MAPPINGS, mapping_rows, ("tenant_id", "id"))
        # A type change moves the extension row between tables; the asset id stays.
        for key, ids in moved_out.items():
            if ids:
                table = EXTENSION_TABLES[key]
                await session.execute(delete(table).where(table.c.tenant_id == tenant, table.c.asset_id.in_(ids)))
        for key, rows in ext_rows.items():
            table = EXTENSION_TABLES[key]
            await copy_upsert(session, table, rows, ["tenant_id", "asset_id"], update=(*EXTENSION_FIELDS, "updated_at"))
        return len(changed), revived

    def _history(self, asset_id: uuid.UUID, action: str, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
        return history_row(self.ctx.tenant_id, asset_id, action, self.actor, changes, now)


def _newest_per_asset(asset_ids: dict[str, uuid.UUID], wanted: dict[str, Any]) -> dict[uuid.UUID, DeviceSnapshot]:
    """asset → snapshot for the liveness upsert; with two devices on one asset (several sources),
    the most recently seen one."""
    out: dict[uuid.UUID, DeviceSnapshot] = {}
    for ext, w in wanted.items():
        aid = asset_ids.get(ext)
        if aid is None:
            continue
        seen = out.get(aid)
        mine, theirs = w[0].last_seen_at, seen.last_seen_at if seen is not None else None
        newer = mine is not None and (theirs is None or mine > theirs)
        if seen is None or newer:
            out[aid] = w[0]
    return out


def history_row(
    tenant_id: uuid.UUID, asset_id: uuid.UUID, action: str, actor: str, changes: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """One ``asset_history`` row (what the ingestion paths insert in bulk)."""
    return {
        "tenant_id": tenant_id,
        "id": uuid7(),
        "asset_id": asset_id,
        "action": action,
        "actor": actor,
        "changes": changes,
        "created_at": now,
    }


def update_by_key(table: Table, key: str, sample: dict[str, Any]) -> Any:
    """``UPDATE table SET <cols> WHERE tenant_id = :b_tenant AND <key> = :b_id`` for executemany."""
    cols = [c for c in sample if not c.startswith("b_")]
    return (
        update(table)
        .where(table.c.tenant_id == bindparam("b_tenant"), table.c[key] == bindparam("b_id"))
        .values({c: bindparam(c) for c in cols})
    )


def _str(value: Any) -> Any:
    """History values as JSON: uuids and datetimes as strings."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def known_devices_source(sessionmaker: Any, ctx: TenantContext, integration_id: uuid.UUID) -> Any:
    """An async ``(realm ids) -> rows`` lookup of the devices already mapped under those scopes."""

    async def lookup(realm_ids: list[str]) -> list[dict[str, Any]]:
        from rmmbridge.storage.db import unit_of_work

        m = MAPPINGS.c
        async with unit_of_work(sessionmaker, read_only=True) as session:
            rows = await session.execute(
                select(
                    m.external_id,
                    m.external_ref,
                    m.realm_id,
                    ASSETS.c.name,
                    ASSETS.c.serial_number,
                    ASSETS.c.last_seen_at,
                )
                .join(ASSETS, and_(ASSETS.c.tenant_id == m.tenant_id, ASSETS.c.id == m.local_id))
                .where(
                    m.tenant_id == ctx.tenant_id,
                    m.integration_id == integration_id,
                    m.entity_type == DEVICE,
                    m.realm_id.in_(realm_ids),
                    ASSETS.c.status != "retired",
                )
            )
            keys = ("external_id", "external_ref", "realm_id", "name", "serial_number", "last_seen_at")
            return [dict(zip(keys, row, strict=True)) for row in rows]

    return lookup


async def asset_ids_for(
    session: AsyncSession, ctx: TenantContext, integration_id: uuid.UUID, external_ids: Iterable[str]
) -> dict[str, uuid.UUID]:
    """Crosswalk lookup: external device id → asset id (one query)."""
    ids = list(set(external_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(MAPPINGS.c.external_id, MAPPINGS.c.local_id).where(
            MAPPINGS.c.tenant_id == ctx.tenant_id,
            MAPPINGS.c.integration_id == integration_id,
            MAPPINGS.c.entity_type == DEVICE,
            MAPPINGS.c.external_id.in_(ids),
        )
    )
    return dict(rows.all())


__all__ = ["DeviceIngestor", "IngestCounters", "IngestOutcome", "asset_ids_for", "history_row", "update_by_key"]
