"""Cross-RMM correlation inside the device pipeline: one asset per machine.

Called by :class:`rmmbridge.ingestion.devices.DeviceIngestor` at three points of a page, each a
constant number of set-based statements whatever the page size:

1. :meth:`Correlator.plan` — for the page's *new* devices (no crosswalk row yet): their identity
   keys (providers/identity_evidence.py) are matched against the evidence index (``identity_evidence``) in
   two SELECTs (the page's keys; the strong keys of the assets they hit). A device whose strong
   evidence (SMBIOS UUID, or serial with a compatible vendor) matches exactly one asset of the same
   PSA client, without conflicting strong evidence, is **attached** to it: its crosswalk row points
   at that asset (a reinstall when the asset already has a source of the same integration). New
   devices of one page that match each other follow the first one's new asset. Everything else
   weak or conflicting becomes a **merge candidate**: MAC/hostname/OS-install-id matches, strong
   matches across two clients, ambiguous or conflicting strong matches, and every strong match
   when the tenant's policy is "review".
2. :meth:`Correlator.compose` — while the pipeline updates a multi-source asset, its values are
   taken per field group from its sources by the tenant's precedence (identity/policy.py).
3. :meth:`Correlator.after_page` — the page's new and changed sources are upserted into
   ``asset_sources`` (their own values, for precedence and unmerge, only when their asset has
   several sources: identity/source_values.py) and their keys rewritten in the evidence index;
   candidates, attach history and events are written.

Pages that correlate new devices of one tenant take turns on PostgreSQL (an advisory lock until
commit): two integrations' concurrent first syncs otherwise both created every shared machine.

A value seen on more than ``junk_threshold`` assets of the tenant is junk (not evidence).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.events import catalogue
from rmmbridge.events.outbox import event_row
from rmmbridge.identity.policy import Policy, compose, load_policy
from rmmbridge.identity.source_values import has_values, values_of
from rmmbridge.kit.ids import uuid7
from rmmbridge.kit.time import parse_iso
from rmmbridge.providers.base import DeviceSnapshot
from rmmbridge.providers.identity_evidence import SCORES, STRONG, Key, conflict, evidence_of, keys_of
from rmmbridge.storage.bulk import one_of
from rmmbridge.storage.copy import copy_insert, copy_upsert
from rmmbridge.storage.db import dialect_insert, is_postgres
from rmmbridge.storage.models import AssetSource, ExternalEntityMapping, IdentityEvidenceRow, MergeCandidate
from rmmbridge.storage.models.base import table_of
from rmmbridge.tenancy.context import TenantContext

if TYPE_CHECKING:
    from .devices import DeviceIngestor

SOURCES: Table = table_of(AssetSource)
EVIDENCE: Table = table_of(IdentityEvidenceRow)
CANDIDATES: Table = table_of(MergeCandidate)
MAPPINGS: Table = table_of(ExternalEntityMapping)
DEVICE = "device"
_TIMES = ("last_seen_at", "offline_at", "overdue_at", "boot_time", "patches_last_installed_at")

Wanted = tuple[DeviceSnapshot, uuid.UUID, str]  # snapshot, PSA client, digest


@dataclass
class _Target:
    """An asset (existing, or one this page will create for its leader device) correlation may attach to."""

    asset_id: uuid.UUID | None  # None: created by this page for ``leader``
    leader: str | None
    client_id: uuid.UUID | None
    strong: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    keys: set[tuple[str, str]] = field(default_factory=set)

    @property
    def ref(self) -> str:
        return str(self.asset_id) if self.asset_id is not None else f"ext:{self.leader}"

    def add(self, keys: tuple[Key, ...]) -> None:
        for k in keys:
            self.keys.add((k.kind, k.value))
            if k.strong:
                self.strong.setdefault(k.kind, set()).add((k.value, k.vendor))


@dataclass
class Plan:
    attach: dict[str, tuple[uuid.UUID, str]] = field(default_factory=dict)  # ext → (asset, reason)
    follow: dict[str, str] = field(default_factory=dict)  # ext → leader ext (same page)
    # (ref a, ref b, score, reason, evidence); a ref is an asset id or "ext:<external id>"
    candidates: list[tuple[str, str, int, str, list[dict[str, str]]]] = field(default_factory=list)
    keys: dict[str, tuple[Key, ...]] = field(default_factory=dict)
    merges: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)  # (keep, other) after the page


@dataclass
class _Source:
    mapping_id: uuid.UUID
    provider: str
    integration_id: uuid.UUID
    last_seen_at: str | None
    missing: bool
    fields: dict[str, Any]
    row: dict[str, Any] = field(default_factory=dict)  # the stored row (a filled one is written back whole)


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _typed(name: str, value: Any) -> Any:
    """A stored source value back as the column's Python type."""
    if value is None:
        return None
    if name in _TIMES:
        return parse_iso(value)
    if name == "client_id":
        return uuid.UUID(value)
    return value


class Correlator:
    """Correlation for one integration during one run (see the module docstring)."""

    def __init__(self, ctx: TenantContext, integration_id: uuid.UUID, provider_key: str, actor: str) -> None:
        self.ctx = ctx
        self.integration_id = integration_id
        self.provider_key = provider_key
        self.actor = actor
        self.policy: Policy | None = None
        self.plan_: Plan = Plan()
        self._sources: dict[uuid.UUID, list[_Source]] = {}
        self._stored_keys: dict[uuid.UUID, str] = {}  # mapping id → digest of its indexed keys
        self._filled: dict[uuid.UUID, dict[str, Any]] = {}  # lone sources given their values this page

    async def _policy(self, session: AsyncSession) -> Policy:
        if self.policy is None:
            self.policy = await load_policy(session, self.ctx.tenant_id)
        return self.policy

    # ------------------------------------------------------------------ 1. plan

    async def plan(self, session: AsyncSession, new: dict[str, Wanted]) -> Plan:
        policy = await self._policy(session)
        plan = Plan()
        self.plan_ = plan
        for ext, (snap, _client, _digest) in new.items():
            if snap.reported is None:  # a partial record carries no full evidence
                plan.keys[ext] = keys_of(evidence_of(snap))
        all_values = {k.value for keys in plan.keys.values() for k in keys}
        if not all_values:
            return plan
        t = self.ctx.tenant_id
        await _serialize_per_tenant(session, t)
        e = EVIDENCE.c
        pg = is_postgres(session)
        hits: dict[tuple[str, str], set[uuid.UUID]] = {}
        asset_client: dict[uuid.UUID, uuid.UUID | None] = {}
        for chunk in _lookups(sorted(all_values), pg):
            rows = await session.execute(
                select(e.kind, e.value, e.asset_id, e.client_id).where(e.tenant_id == t, one_of(e.value, chunk, pg))
            )
            for kind, value, asset_id, client_id in rows:
                hits.setdefault((kind, value), set()).add(asset_id)
                asset_client[asset_id] = client_id
        # Junk by count: on more than N assets of the tenant (stored ones plus this page's devices).
        page_count = Counter((k.kind, k.value) for keys in plan.keys.values() for k in keys)
        junk = {kv for kv in page_count if len(hits.get(kv, ())) + page_count[kv] > policy.junk_threshold} | {
            kv for kv, ids in hits.items() if len(ids) > policy.junk_threshold
        }
        targets: dict[uuid.UUID, _Target] = {}
        matched = {a for kv, ids in hits.items() if kv not in junk for a in ids}
        if matched:
            src = SOURCES.c
            for chunk in _lookups(sorted(matched), pg):
                # Through the assets' sources (indexed by asset) to their keys (keyed by source):
                # the evidence table needs no asset index, one fewer per row of its widest insert.
                rows = await session.execute(
                    select(src.asset_id, e.kind, e.value, e.vendor)
                    .select_from(
                        SOURCES.join(EVIDENCE, (e.tenant_id == src.tenant_id) & (e.mapping_id == src.mapping_id))
                    )
                    .where(src.tenant_id == t, one_of(src.asset_id, chunk, pg), e.kind.in_(STRONG))
                )
                for asset_id, kind, value, vendor in rows:
                    tgt = targets.setdefault(asset_id, _Target(asset_id, None, asset_client.get(asset_id)))
                    if (kind, value) not in junk:
                        tgt.strong.setdefault(kind, set()).add((value, vendor))
            for kv, ids in hits.items():
                for a in ids:
                    targets.setdefault(a, _Target(a, None, asset_client.get(a))).keys.add(kv)
        by_key: dict[tuple[str, str], list[_Target]] = {}
        for tgt in targets.values():
            for kv in tgt.keys:
                if kv not in junk:
                    by_key.setdefault(kv, []).append(tgt)

        for ext in sorted(plan.keys):  # sorted: the same page gives the same plan
            keys = tuple(k for k in plan.keys[ext] if (k.kind, k.value) not in junk)
            client = new[ext][1]
            mine: dict[str, set[tuple[str, str]]] = {}
            for k in keys:
                if k.strong:
                    mine.setdefault(k.kind, set()).add((k.value, k.vendor))
            strong_hits: dict[str, tuple[_Target, list[Key]]] = {}
            weak_hits: dict[str, tuple[_Target, list[Key]]] = {}
            for k in keys:
                for tgt in by_key.get((k.kind, k.value), ()):
                    bucket = strong_hits if k.strong else weak_hits
                    bucket.setdefault(tgt.ref, (tgt, []))[1].append(k)
            attachable: list[_Target] = []
            for ref, (tgt, matched_keys) in strong_hits.items():
                why = conflict(mine, tgt.strong)
                ev = [{"kind": k.kind, "value": k.value} for k in matched_keys]
                if tgt.client_id != client:
                    plan.candidates.append((f"ext:{ext}", ref, 70, "strong match in another client", ev))
                elif why is not None:
                    plan.candidates.append((f"ext:{ext}", ref, 50, f"conflicting evidence: {why}", ev))
                else:
                    attachable.append(tgt)
            chosen: _Target | None = None
            if len(attachable) == 1 and policy.mode == "auto":
                chosen = attachable[0]
            elif attachable and policy.mode == "auto" and _consistent(attachable):
                # This device bridges assets that are one machine (one has its UUID, another its
                # serial): unite them, so the outcome does not depend on the order devices came in.
                chosen = self._unite(plan, attachable, by_key)
            else:
                reason = "strong match (review policy)" if len(attachable) == 1 else "ambiguous strong match"
                for tgt in attachable:
                    ev = [{"kind": k.kind, "value": k.value} for k in strong_hits[tgt.ref][1]]
                    plan.candidates.append((f"ext:{ext}", tgt.ref, 100 if len(attachable) == 1 else 80, reason, ev))
            if chosen is not None:
                if chosen.asset_id is not None:
                    plan.attach[ext] = (chosen.asset_id, "strong evidence")
                else:
                    plan.follow[ext] = chosen.leader or ext
                chosen.add(keys)
                for k in keys:
                    lst = by_key.setdefault((k.kind, k.value), [])
                    if chosen not in lst:
                        lst.append(chosen)
                continue
            # A new asset: weak matches (no strong conflict, same client) are proposed, not merged.
            for ref, (tgt, matched_keys) in weak_hits.items():
                if ref in strong_hits or tgt.client_id != client or conflict(mine, tgt.strong) is not None:
                    continue
                kinds = {k.kind for k in matched_keys}
                score = min(100, sum(SCORES[kind] for kind in kinds))
                ev = [{"kind": k.kind, "value": k.value} for k in matched_keys]
                plan.candidates.append((f"ext:{ext}", ref, score, "weak evidence: " + ", ".join(sorted(kinds)), ev))
            if all(page_count[(k.kind, k.value)] == 1 for k in keys):
                continue  # no other device of this page has any of its keys: none can follow it
            mine_target = _Target(None, ext, client)
            mine_target.add(keys)
            for k in keys:
                by_key.setdefault((k.kind, k.value), []).append(mine_target)
        return plan

    @staticmethod
    def _unite(plan: Plan, targets: list[_Target], by_key: dict[tuple[str, str], list[_Target]]) -> _Target:
        """The oldest existing asset (uuid7: creation order) or first pending leader absorbs the rest:
        existing ones are merged after the page, pending ones (this page's new assets) follow it."""
        existing = sorted((t for t in targets if t.asset_id is not None), key=lambda t: t.asset_id)  # type: ignore[arg-type,return-value]
        pending = sorted((t for t in targets if t.asset_id is None), key=lambda t: t.leader or "")
        chosen = existing[0] if existing else pending[0]
        for other in targets:
            if other is chosen:
                continue
            if other.asset_id is not None and chosen.asset_id is not None:
                plan.merges.append((chosen.asset_id, other.asset_id))
            elif other.asset_id is None:
                members = [other.leader or ""] + [e for e, lead in plan.follow.items() if lead == other.leader]
                for member in members:
                    if chosen.asset_id is not None:
                        plan.follow.pop(member, None)
                        plan.attach[member] = (chosen.asset_id, "same machine as a device of this page")
                    else:
                        plan.follow[member] = chosen.leader or member
            for kind, values in other.strong.items():
                chosen.strong.setdefault(kind, set()).update(values)
            chosen.keys |= other.keys
            for kv in other.keys:
                lst = by_key.get(kv, [])
                by_key[kv] = [chosen if t is other else t for t in lst]
                if by_key[kv].count(chosen) > 1:
                    by_key[kv] = [t for i, t in enumerate(by_key[kv]) if t is not chosen or by_key[kv].index(t) == i]
        return chosen

    async def claim(
        self,
        session: AsyncSession,
        wanted: dict[str, Wanted],
        targets: dict[str, uuid.UUID],
        run_id: uuid.UUID,
        now: datetime,
        prefetch: Callable[[AsyncSession, list[str]], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """Crosswalk rows for devices attached to existing assets (``ON CONFLICT DO NOTHING``: a
        concurrent run's claim wins), then the pipeline's own prefetch of them: they continue as
        changed devices of their asset (no content hash yet, so they are always written)."""
        if not targets:
            return {}
        insert_fn = dialect_insert(session)
        stmt = insert_fn(MAPPINGS).on_conflict_do_nothing(
            index_elements=["tenant_id", "integration_id", "entity_type", "external_id"]
        )
        await session.execute(
            stmt,
            [
                {
                    "tenant_id": self.ctx.tenant_id,
                    "id": uuid7(),
                    "integration_id": self.integration_id,
                    "entity_type": DEVICE,
                    "external_id": ext,
                    "local_id": asset_id,
                    "external_ref": wanted[ext][0].external_ref,
                    "realm_id": wanted[ext][0].realm_id,
                    "site_id": wanted[ext][0].site_id,
                    "content_hash": None,
                    "last_seen_run_id": run_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for ext, asset_id in targets.items()
            ],
        )
        return await prefetch(session, list(targets))

    # ------------------------------------------------------------------ 2. compose

    async def load_sources(self, session: AsyncSession, asset_ids: list[uuid.UUID]) -> None:
        """The stored sources of the assets a page changes (one SELECT), for :meth:`compose`."""
        await self._policy(session)
        self._sources = {}
        self._stored_keys = {}
        self._filled = {}
        s = SOURCES.c
        pg = is_postgres(session)
        for chunk in _lookups(sorted(set(asset_ids)), pg):
            rows = await session.execute(
                select(SOURCES).where(s.tenant_id == self.ctx.tenant_id, one_of(s.asset_id, chunk, pg))
            )
            for row in rows.mappings():
                asset_id, mapping_id, fields = row["asset_id"], row["mapping_id"], row["fields"]
                self._sources.setdefault(asset_id, []).append(
                    _Source(
                        mapping_id,
                        row["provider"],
                        row["integration_id"],
                        _json(row["last_seen_at"]),
                        row["missing_since"] is not None,
                        fields or {},
                        dict(row),
                    )
                )
                if fields and "_keys" in fields:
                    self._stored_keys[mapping_id] = fields["_keys"]

    def fill(self, asset_id: uuid.UUID, mapping_id: uuid.UUID, core: dict[str, Any], ext: dict[str, Any]) -> None:
        """Another source (``mapping_id``) joins this asset: its stored sources without values of
        their own (a lone source keeps none, identity/source_values.py) take the asset's current
        ones — ``core``/``ext`` as the pipeline read them — which are that lone source's."""
        for src in self._sources.get(asset_id, ()):
            if src.mapping_id != mapping_id and not has_values(src.fields):
                src.fields = {**src.fields, **values_of(core, ext)}
                self._filled[src.mapping_id] = {**src.row, "fields": src.fields}

    def compose(
        self,
        asset_id: uuid.UUID,
        mapping_id: uuid.UUID,
        core: dict[str, Any],
        ext_values: dict[str, Any],
        overrides: tuple[str, ...],
        old_core: dict[str, Any],
    ) -> None:
        """Replace this source's values by the asset's composed ones (in place) when it has others."""
        others = [s for s in self._sources.get(asset_id, ()) if s.mapping_id != mapping_id]
        if not others or self.policy is None:
            return
        live = [s for s in others if not s.missing]
        mine = {
            "mapping_id": str(mapping_id),
            "provider": self.provider_key,
            "last_seen_at": _json(core.get("last_seen_at")),
            "fields": {k: _json(v) for k, v in (*core.items(), *ext_values.items())},
        }
        sources = [mine] + [
            {
                "mapping_id": str(s.mapping_id),
                "provider": s.provider,
                "last_seen_at": s.last_seen_at,
                "fields": s.fields,
            }
            for s in (live or others)
        ]
        values = compose(sources, self.policy.precedence)
        for name, value in values.items():
            if name in core and name not in overrides:
                core[name] = _typed(name, value)
            elif name in ext_values:
                ext_values[name] = _typed(name, value)
        for name in overrides:
            if name in core:
                core[name] = old_core.get(name)

    # ------------------------------------------------------------------ 3. after the page

    async def after_page(
        self,
        session: AsyncSession,
        ingestor: DeviceIngestor,
        wanted: dict[str, Wanted],
        asset_ids: dict[str, uuid.UUID],
        written: dict[str, uuid.UUID | None],
        unchanged_mapping_ids: list[uuid.UUID],
        now: datetime,
        history: list[dict[str, Any]],
        events: list[dict[str, Any]],
        created: frozenset[uuid.UUID] = frozenset(),
    ) -> None:
        """``written``: external id → crosswalk id (``None`` when the pipeline created it) of the
        devices whose values were written this page; ``created``: the crosswalk ids this page
        inserted (no identity keys stored for them yet)."""
        t = self.ctx.tenant_id
        plan, self.plan_ = self.plan_, Plan()
        if unchanged_mapping_ids:  # seen again: a source that was missing is live again
            for chunk in _chunks(unchanged_mapping_ids, 5000):
                await session.execute(
                    update(SOURCES)
                    .where(
                        SOURCES.c.tenant_id == t, SOURCES.c.mapping_id.in_(chunk), SOURCES.c.missing_since.is_not(None)
                    )
                    .values(missing_since=None, updated_at=now)
                )
        if not written:
            self._sources, self._stored_keys, self._filled = {}, {}, {}
            return
        unknown = [ext for ext, mid in written.items() if mid is None]
        if unknown:
            m = MAPPINGS.c
            rows = await session.execute(
                select(m.external_id, m.id).where(
                    m.tenant_id == t,
                    m.integration_id == self.integration_id,
                    m.entity_type == DEVICE,
                    m.external_id.in_(unknown),
                )
            )
            written.update(dict(rows.all()))
        source_rows: list[dict[str, Any]] = []
        evidence_rows: list[dict[str, Any]] = []
        rewrite: list[uuid.UUID] = []  # sources whose keys (or asset, or client) changed
        # Assets with several sources after this page (stored ones plus this page's): only their
        # sources keep their own values; a lone source's values are its asset's (source_values.py).
        feeding: dict[uuid.UUID, set[uuid.UUID]] = {}
        for ext, mapping_id in written.items():
            if mapping_id is not None and ext in asset_ids:
                feeding.setdefault(asset_ids[ext], set()).add(mapping_id)
        for asset_id, mids in feeding.items():
            mids.update(src.mapping_id for src in self._sources.get(asset_id, ()))
        for ext, mapping_id in written.items():
            if mapping_id is None or ext not in asset_ids:
                continue
            snap, client_id, _ = wanted[ext]
            asset_id = asset_ids[ext]
            keys = plan.keys.get(ext)
            if keys is None and snap.reported is None:
                keys = keys_of(evidence_of(snap))
            fields: dict[str, Any] = {}
            if len(feeding[asset_id]) > 1:
                fields = {k: _json(v) for k, v in ingestor._core_values(snap, client_id).items()}
                fields.update({k: _json(v) for k, v in ingestor._extension_values(snap).items()})
            digest = None
            if keys is not None:
                digest = _keys_digest(keys, asset_id, client_id)
                fields["_keys"] = digest
            elif mapping_id in self._stored_keys:
                fields["_keys"] = self._stored_keys[mapping_id]
            source_rows.append(
                {
                    "tenant_id": t,
                    "mapping_id": mapping_id,
                    "asset_id": asset_id,
                    "integration_id": self.integration_id,
                    "provider": self.provider_key,
                    "external_id": ext,
                    "origin_asset_id": asset_id,
                    "client_id": client_id,
                    "fields": fields,
                    "last_seen_at": snap.last_seen_at,
                    "missing_since": None,
                    "attached_at": now,
                    "attached_by": self.actor,
                    "updated_at": now,
                }
            )
            if keys is not None and digest != self._stored_keys.get(mapping_id):
                rewrite.append(mapping_id)
                evidence_rows.extend(
                    {
                        "tenant_id": t,
                        "mapping_id": mapping_id,
                        "asset_id": asset_id,
                        "integration_id": self.integration_id,
                        "client_id": client_id,
                        "kind": k.kind,
                        "value": k.value[:255],
                        "vendor": k.vendor[:40],
                    }
                    for k in keys
                )
        # Lone sources another source joined get their values (from their asset): written back
        # whole in the same upsert, unless this page wrote that source itself from its snapshot.
        written_ids = {row["mapping_id"] for row in source_rows}
        source_rows.extend({**row, "updated_at": now} for mid, row in self._filled.items() if mid not in written_ids)
        # One binary COPY and one upsert on PostgreSQL (storage/copy.py); the executemany elsewhere.
        # A crosswalk row this page created has no source yet: its source is a plain COPY.
        await copy_insert(session, SOURCES, [row for row in source_rows if row["mapping_id"] in created])
        await copy_upsert(
            session,
            SOURCES,
            [row for row in source_rows if row["mapping_id"] not in created],
            ["tenant_id", "mapping_id"],
            update=("asset_id", "external_id", "client_id", "fields", "last_seen_at", "missing_since", "updated_at"),
        )
        self._sources, self._stored_keys, self._filled = {}, {}, {}
        # A crosswalk row this page created has no stored keys yet: nothing to delete for it.
        stale = [mid for mid in rewrite if mid not in created]
        for chunk in _chunks(stale, 5000):
            await session.execute(delete(EVIDENCE).where(EVIDENCE.c.tenant_id == t, EVIDENCE.c.mapping_id.in_(chunk)))
        # The widest insert of a first sync (~4 rows per device): binary COPY on PostgreSQL.
        await copy_insert(session, EVIDENCE, evidence_rows)
        self._attach_history(plan, asset_ids, now, history, events)
        await self._write_candidates(session, plan, asset_ids, now, events)
        await self._merge_bridged(session, plan, now)

    async def _merge_bridged(self, session: AsyncSession, plan: Plan, now: datetime) -> None:
        """Assets a device of this page proved to be one machine (rare: per pair, not per row)."""
        from rmmbridge.errors import NotFound, WrongState
        from rmmbridge.identity.service import merge

        done: dict[uuid.UUID, uuid.UUID] = {}
        for keep, other in plan.merges:
            while keep in done:
                keep = done[keep]
            if other in done or keep == other:
                continue
            try:  # merge() checks (never-merge, gone) before it writes anything
                await merge(session, self.ctx, keep, other, now)
                done[other] = keep
            except (WrongState, NotFound):
                continue  # an admin said never (or it is gone): no merge

    def _attach_history(
        self,
        plan: Plan,
        asset_ids: dict[str, uuid.UUID],
        now: datetime,
        history: list[dict[str, Any]],
        events: list[dict[str, Any]],
    ) -> None:
        from .devices import history_row

        attached = {ext: reason for ext, (_a, reason) in plan.attach.items()}
        attached.update({ext: "same machine as a device of this page" for ext in plan.follow})
        for ext, reason in attached.items():
            asset_id = asset_ids.get(ext)
            if asset_id is None:
                continue
            detail = {
                "integration_id": str(self.integration_id),
                "provider": self.provider_key,
                "external_id": ext,
                "reason": reason,
            }
            history.append(history_row(self.ctx.tenant_id, asset_id, "attached", self.actor, {"source": detail}, now))
            events.append(
                event_row(self.ctx.tenant_id, catalogue.ASSET_SOURCE_ATTACHED, "asset", asset_id, detail, now)
            )

    async def _write_candidates(
        self,
        session: AsyncSession,
        plan: Plan,
        asset_ids: dict[str, uuid.UUID],
        now: datetime,
        events: list[dict[str, Any]],
    ) -> None:
        def resolve(ref: str) -> uuid.UUID | None:
            if ref.startswith("ext:"):
                return asset_ids.get(ref[4:])
            return uuid.UUID(ref)

        rows: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = {}
        for ref_a, ref_b, score, reason, evidence in plan.candidates:
            a, b = resolve(ref_a), resolve(ref_b)
            if a is None or b is None or a == b:
                continue
            lo, hi = sorted((a, b))
            if (lo, hi) in rows and rows[(lo, hi)]["score"] >= score:
                continue
            rows[(lo, hi)] = {
                "tenant_id": self.ctx.tenant_id,
                "id": uuid7(),
                "asset_a": lo,
                "asset_b": hi,
                "client_id": None,
                "score": score,
                "reason": reason[:200],
                "evidence": evidence,
                "status": "open",
                "created_at": now,
                "updated_at": now,
            }
        if not rows:
            return
        # The client of a candidate: the asset's, read once for the page (for the per-client queue).
        from rmmbridge.storage.models import Asset

        ids = {x for pair in rows for x in pair}
        clients = dict(
            (
                await session.execute(
                    select(Asset.id, Asset.client_id).where(Asset.tenant_id == self.ctx.tenant_id, Asset.id.in_(ids))
                )
            ).all()
        )
        for (lo, _hi), row in rows.items():
            row["client_id"] = clients.get(lo)
        # A pair already decided (merged, never, dismissed) or proposed keeps its row.
        stmt = (
            dialect_insert(session)(CANDIDATES)
            .on_conflict_do_nothing(index_elements=["tenant_id", "asset_a", "asset_b"])
            .returning(CANDIDATES.c.id, CANDIDATES.c.asset_a, CANDIDATES.c.asset_b, CANDIDATES.c.score)
        )
        created = (await session.execute(stmt, list(rows.values()))).all()
        for cid, a, b, score in created:
            events.append(
                event_row(
                    self.ctx.tenant_id,
                    catalogue.ASSET_MERGE_PROPOSED,
                    "asset",
                    a,
                    {"candidate_id": str(cid), "asset_a": str(a), "asset_b": str(b), "score": score},
                    now,
                )
            )


async def _serialize_per_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Pages that correlate new devices of one tenant take turns until they commit (PostgreSQL).

    Without it, two integrations syncing the same machines at once each read the evidence index
    before the other's page committed, both created an asset per machine, and nothing ever joined
    them (each device then has a crosswalk row: it is never "new" again). A transaction-level
    advisory lock, taken before the index is read: under READ COMMITTED the read that follows sees
    every page that held it before. Pages without new devices never take it. SQLite's writers are
    serialized already (``BEGIN IMMEDIATE``)."""
    if not is_postgres(session):
        return
    key = int.from_bytes(hashlib.blake2b(b"identity:" + tenant_id.bytes, digest_size=8).digest(), "big", signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


def _consistent(targets: list[_Target]) -> bool:
    """No two of these targets have conflicting strong evidence."""
    return all(conflict(a.strong, b.strong) is None for i, a in enumerate(targets) for b in targets[i + 1 :])


def _keys_digest(keys: tuple[Key, ...], asset_id: uuid.UUID, client_id: uuid.UUID | None) -> str:
    """Unchanged keys (on the same asset and client) need no index rewrite."""
    text = "|".join(sorted(f"{k.kind}:{k.value}:{k.vendor}" for k in keys))
    return hashlib.blake2b(f"{asset_id}|{client_id}|{text}".encode(), digest_size=12).hexdigest()


def _lookups(values: list[Any], postgres: bool) -> list[list[Any]]:
    """Values for ``one_of`` lookups: one array on PostgreSQL (one round trip, one parameter),
    chunks within SQLite's parameter limit elsewhere."""
    return [values] if postgres else _chunks(values, 2000)


def _chunks(values: list[Any], size: int) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


__all__ = ["Correlator", "Plan"]
