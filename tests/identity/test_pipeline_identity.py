"""Correlation rules through the real pipeline (SQLite and PostgreSQL): auto-junk, the review policy,
precedence per field group, and the statement count of a correlated page staying constant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from rmmbridge.identity.policy import save_policy
from rmmbridge.ingestion.devices import DeviceIngestor
from rmmbridge.providers.base import DevicePage, DeviceSnapshot
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import Asset, Client, MergeCandidate, RmmIntegration
from rmmbridge.tenancy.auth import system_context
from tests.conftest import make_tenant

NOW = datetime.now(UTC)


async def _tenant(state):  # type: ignore[no-untyped-def]
    t = await make_tenant(state, "idp")
    async with unit_of_work(state.sessionmaker) as db:
        client = Client(tenant_id=t.tenant_id, name="Acme")
        a = RmmIntegration(tenant_id=t.tenant_id, provider="tacticalrmm", name="Tactical")
        b = RmmIntegration(tenant_id=t.tenant_id, provider="tanium", name="Tanium")
        db.add_all([client, a, b])
        await db.flush()
        return t, client.id, a.id, b.id


def _snap(ext: str, name: str, **kw: object) -> DeviceSnapshot:
    return DeviceSnapshot(
        external_id=ext, realm_id="org", name=name, asset_type="workstation", last_seen_at=NOW - timedelta(minutes=1),
        offline_after_s=600, overdue_after_s=3600, **kw,  # type: ignore[arg-type]
    )


async def _ingest(state, t, integration, provider, client, snaps):  # type: ignore[no-untyped-def]
    ctx = system_context(t.tenant_id, "test")
    ingestor = DeviceIngestor(ctx, integration, provider, uuid.uuid4(), {"org": client}, "test")
    async with unit_of_work(state.sessionmaker) as db:
        return await ingestor.ingest(db, DevicePage(snaps), NOW)


async def _count(db, t) -> int:  # type: ignore[no-untyped-def]
    return int(await db.scalar(select(func.count()).select_from(Asset).where(Asset.tenant_id == t.tenant_id)) or 0)


async def test_a_value_on_more_than_n_machines_is_junk(state, db) -> None:  # type: ignore[no-untyped-def]
    t, client, a, b = await _tenant(state)
    # An OEM that stamps one (unlisted) serial on every board: 5 machines, no UUIDs.
    await _ingest(state, t, a, "tacticalrmm", client, [_snap(f"a{i}", f"PC-{i}", serial_number="OEM12345X") for i in range(5)])
    assert await _count(db, t) == 5
    # The same serial from the other RMM is no evidence either: a new asset, no merge.
    await _ingest(state, t, b, "tanium", client, [_snap("b0", "PC-9", serial_number="OEM12345X")])
    assert await _count(db, t) == 6


async def test_review_policy_proposes_strong_matches_and_precedence_applies(state, db, http) -> None:  # type: ignore[no-untyped-def]
    t, client, a, b = await _tenant(state)
    uuid_text = "4C4C4544-0031-3510-8052-B3C04F4A4D32"
    await _ingest(state, t, a, "tacticalrmm", client, [_snap("a0", "FRONTDESK", hardware_uuid=uuid_text, os_name="Win 10")])
    async with unit_of_work(state.sessionmaker) as s:
        await save_policy(s, t.tenant_id, mode="review")
    await _ingest(state, t, b, "tanium", client, [_snap("b0", "frontdesk-old", hardware_uuid=uuid_text, os_name="Windows 10 Pro")])
    assert await _count(db, t) == 2
    cand = (await db.execute(select(MergeCandidate.score, MergeCandidate.reason).where(MergeCandidate.tenant_id == t.tenant_id))).all()
    assert cand == [(100, "strong match (review policy)")]
    # Back to auto: the next device with that UUID attaches; the asset takes identity from Tactical
    # and OS from Tanium (default precedence).
    r = await http.put("/api/v1/identity/policy", headers=t.headers(), json={"mode": "auto"})
    assert r.status_code == 200, r.text
    r = await http.put("/api/v1/identity/policy", headers=t.headers(), json={"precedence": {"nonsense": ["x"]}})
    assert r.status_code == 422 and "nonsense" in r.text
    await _ingest(state, t, b, "tanium", client, [_snap("b1", "frontdesk-old", hardware_uuid=uuid_text, os_name="Windows 10 Pro")])
    # b1 matches both assets (one machine): it attaches to the older and the other merges into it.
    live = (await db.execute(select(Asset.id).where(Asset.tenant_id == t.tenant_id, Asset.status == "active"))).all()
    assert len(live) == 1
    merged = (await http.get(f"/api/v1/assets/{live[0][0]}", headers=t.headers())).json()
    assert sorted(s["external_id"] for s in merged["sources"]) == ["a0", "b0", "b1"]
    assert merged["name"] == "FRONTDESK" and merged["details"]["os_name"] == "Windows 10 Pro"
