"""Property test over generated fleets, through the real device pipeline on SQLite and PostgreSQL:
correlation never puts two machines with different strong evidence on one asset, and the result
(which devices share an asset) does not depend on which integration syncs first. Which weak pairs
are *proposed* may differ with the order (a proposal is made when a device is first seen, against
what exists then); every proposal still pairs two assets of one client.

Machines have unique SMBIOS UUIDs and serials (or none), cloned machines share a template UUID
(junk), hostnames and MACs may collide between machines; each integration sees a machine through
zero, one or two devices (a reinstall), each reporting some of the machine's evidence.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rmmbridge.ingestion.devices import DeviceIngestor
from rmmbridge.providers.base import DevicePage, DeviceSnapshot
from rmmbridge.simulators.shared_fleet import TEMPLATE_UUID
from rmmbridge.storage.db import create_engine, create_sessionmaker, unit_of_work
from rmmbridge.storage.models import Client, ExternalEntityMapping, MergeCandidate, RmmIntegration, Tenant
from rmmbridge.tenancy.auth import system_context

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sighting:
    device: str  # "<integration>:<machine>:<n>"
    machine: int
    uuid: str | None
    serial: str | None
    vendor: str | None
    mac: str | None
    hostname: str


@st.composite
def fleets(draw: st.DrawFn) -> list[Sighting]:
    machines = draw(st.integers(2, 7))
    hostnames = draw(st.lists(st.sampled_from(["PC-A", "PC-B", "PC-C", "LAPTOP-1"]), min_size=machines, max_size=machines))
    out: list[Sighting] = []
    for m in range(machines):
        clone = draw(st.booleans()) and draw(st.booleans())
        muuid = TEMPLATE_UUID if clone else f"{m + 1:08X}-0000-4000-8000-{m + 1:012X}"
        serial = f"SN{m:04d}X"
        vendor = draw(st.sampled_from(["Dell Inc.", "Dell", None]))
        mac = draw(st.sampled_from([f"3C:52:82:00:00:{m:02X}", "3C:52:82:FF:FF:01", None]))  # one MAC shared by mistake
        for integ in ("a", "b"):
            for n in range(draw(st.integers(0, 2))):
                show_uuid, show_serial = draw(st.booleans()), draw(st.booleans())
                out.append(
                    Sighting(
                        f"{integ}:{m}:{n}",
                        m,
                        muuid if show_uuid else None,
                        serial if show_serial else draw(st.sampled_from([None, "Default string", "0"])),
                        vendor,
                        mac if draw(st.booleans()) else None,
                        hostnames[m],
                    )
                )
    return out


def _snap(s: Sighting) -> DeviceSnapshot:
    return DeviceSnapshot(
        external_id=s.device,
        realm_id="org",
        name=s.hostname,
        asset_type="workstation",
        serial_number=s.serial,
        manufacturer=s.vendor,
        hardware_uuid=s.uuid,
        mac_addresses=(s.mac,) if s.mac else (),
        last_seen_at=NOW - timedelta(minutes=1),
        offline_after_s=600,
        overdue_after_s=3600,
    )


async def _ingest(url: str, sightings: list[Sighting], order: tuple[str, str]) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """Sync the two integrations in ``order`` into a fresh tenant; return (device groups per asset,
    candidate pairs as device groups)."""
    engine = create_engine(url)
    try:
        sessions = create_sessionmaker(engine)
        async with unit_of_work(sessions) as db:
            tenant = Tenant(name=f"prop-{uuid.uuid4().hex[:10]}")
            db.add(tenant)
            await db.flush()
            client = Client(tenant_id=tenant.id, name="Acme")
            integrations = {k: RmmIntegration(tenant_id=tenant.id, provider=f"p{k}", name=k) for k in ("a", "b")}
            db.add_all([client, *integrations.values()])
            await db.flush()
            ids = {k: i.id for k, i in integrations.items()}
            tenant_id, client_id = tenant.id, client.id
        ctx = system_context(tenant_id, "property")
        for key in order:
            snaps = [_snap(s) for s in sightings if s.device.startswith(f"{key}:")]
            ingestor = DeviceIngestor(ctx, ids[key], f"p{key}", uuid.uuid4(), {"org": client_id}, "test")
            for i in range(0, len(snaps), 3):  # small pages: matches across pages and within one
                async with unit_of_work(sessions) as db:
                    await ingestor.ingest(db, DevicePage(snaps[i : i + 3]), NOW)
        async with unit_of_work(sessions, read_only=True) as db:
            m = ExternalEntityMapping
            rows = (await db.execute(select(m.external_id, m.local_id).where(m.tenant_id == tenant_id))).all()
            cands = (
                await db.execute(
                    select(MergeCandidate.asset_a, MergeCandidate.asset_b).where(
                        MergeCandidate.tenant_id == tenant_id, MergeCandidate.status == "open"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    groups: dict[uuid.UUID, set[str]] = {}
    for device, asset in rows:
        groups.setdefault(asset, set()).add(device)
    frozen = {a: frozenset(g) for a, g in groups.items()}
    return set(frozen.values()), {frozenset((frozen[a], frozen[b])) for a, b in cands}  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sightings=fleets())
def test_correlation_is_safe_and_order_independent(database_url: str, sightings: list[Sighting]) -> None:
    machine_of = {s.device: s for s in sightings}
    ab = asyncio.run(_ingest(database_url, sightings, ("a", "b")))
    ba = asyncio.run(_ingest(database_url, sightings, ("b", "a")))
    for groups, _ in (ab, ba):
        for group in groups:
            # Never two machines on one asset (every machine's strong values are its own).
            assert len({machine_of[d].machine for d in group}) == 1, group
        assert sum(len(g) for g in groups) == len(sightings)
    assert ab[0] == ba[0]
    for _groups, cands in (ab, ba):
        assert all(len(pair) == 2 for pair in cands)
