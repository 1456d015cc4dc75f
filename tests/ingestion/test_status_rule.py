"""One status definition: the SQL rule (lists, filters, counts) equals the Python rule (the asset
page, the pass's change detection) for placed liveness rows — on the cut-offs, a microsecond past
them, without thresholds, with only the RMM's verdict, fresh and stale — on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from rmmbridge.assets.repository import AssetFilters, list_query, status_counts
from rmmbridge.assets.status import COUNT_BUCKETS, cutoffs, shown_status
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import AssetLiveness, RmmIntegration
from rmmbridge.tenancy.auth import system_context
from tests.conftest import connect_tiny, map_all, run_sync

US = timedelta(microseconds=1)
# (offline_s, overdue_s, last seen relative to T0 or None, rmm_status)
PLACED: list[tuple[int | None, int | None, timedelta | None, str | None]] = [
    (240, 1800, -timedelta(minutes=4), None),  # exactly on the offline cut-off: online
    (240, 1800, -timedelta(minutes=4) - US, None),
    (240, 1800, -timedelta(minutes=30), None),  # exactly on the overdue cut-off: online (quirk)
    (240, 1800, -timedelta(minutes=30) - US, None),
    (240, 1800, None, None),  # never checked in: offline
    (600, 300, -timedelta(minutes=11), None),  # overdue before offline
    (240, 0, -timedelta(minutes=5), None),
    (None, None, None, None),  # the RMM says nothing: unknown
    (None, None, -timedelta(minutes=1), "overdue"),  # only the RMM's verdict: that verdict
    (240, 1800, timedelta(seconds=20), None),  # agent clock ahead
]


async def test_sql_and_python_rules_agree(http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect_tiny(http, transport, tenant)
    await run_sync(http, state, setup, "scopes")
    await map_all(http, setup)
    await run_sync(http, state, setup, "devices")
    ctx = system_context(tenant.tenant_id, "test")
    iid = uuid.UUID(setup.integration_id)
    t0 = datetime.now().astimezone().replace(microsecond=123456)
    async with unit_of_work(state.sessionmaker) as s:
        rows = list(await s.scalars(select(AssetLiveness).where(AssetLiveness.tenant_id == tenant.tenant_id)))
        assert len(rows) >= len(PLACED)
        for row, (off, over, delta, verdict) in zip(rows, PLACED, strict=False):
            seen = None if delta is None else t0 + delta
            offline_at, overdue_at = cutoffs(seen, off, over)
            row.offline_after_s, row.overdue_after_s, row.last_seen_at = off, over, seen
            row.offline_at, row.overdue_at, row.rmm_status = offline_at, overdue_at, verdict
            row.observed_at, row.fresh_until = t0, None
        await s.execute(
            update(RmmIntegration)
            .where(RmmIntegration.tenant_id == tenant.tenant_id, RmmIntegration.id == iid)
            .values(status_checked_at=t0, status_fresh_until=t0 + timedelta(minutes=3))
        )
    instants = [t0, t0 + US, t0 + timedelta(minutes=2), t0 + timedelta(minutes=3), t0 + timedelta(minutes=3) + US,
                t0 + timedelta(hours=1)]  # fmt: skip
    for off, over, delta, _ in PLACED[: len(rows)]:
        if delta is not None and off is not None:
            for cut in (timedelta(seconds=off), timedelta(seconds=over or 0)):
                instants += [t0 + delta + cut, t0 + delta + cut + US]
    seen_buckets: set[str] = set()
    async with unit_of_work(state.sessionmaker, read_only=True) as s:
        integration = await s.get(RmmIntegration, (tenant.tenant_id, iid))
        for now in instants:
            result = await s.execute(list_query(ctx, AssetFilters(integration_id=iid), now))
            expected_counts: dict[str, int] = {}
            for _asset, _client, sql_status, *_rest, live, observed, stale in result.all():
                py = shown_status(live, integration, now)
                assert (sql_status, observed, bool(stale)) == (py.status, py.observed_at, py.stale), (now, live)
                bucket = "stale" if py.stale else py.status
                expected_counts[bucket] = expected_counts.get(bucket, 0) + 1
                seen_buckets.add(bucket)
            assert await status_counts(s, ctx, AssetFilters(integration_id=iid), now) == expected_counts
    assert seen_buckets == set(COUNT_BUCKETS)
