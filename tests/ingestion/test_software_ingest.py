"""Software ingestion rules: lists keyed by (name, publisher, version), order-independent digests, and a
constant number of statements per batch whatever the batch holds (set-based), through TinyRMM over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event

from rmmbridge.ingestion.software import digest_of, installations_of
from rmmbridge.providers.base import DeviceSoftware, SoftwareItem
from tests.conftest import connect_tiny, make_tenant, map_all, run_sync
from tests.support.tinyrmm import make_fleet

SSIS = "SQL Server Integration Services Singleton"


def test_side_by_side_versions_stay_apart_and_repeats_collapse() -> None:
    day = datetime(2024, 3, 7, tzinfo=UTC)
    device = DeviceSoftware("a", [
        SoftwareItem(SSIS, "Microsoft Corporation", "15.0.1100.123", day, 10),
        SoftwareItem(f"  {SSIS.upper()} ", "Microsoft Corporation ", "14.0.3002.136"),
        SoftwareItem(SSIS, "Microsoft Corporation", "15.0.1100.123", None, 99),  # the 32-bit key: same version
        SoftwareItem("Tool", "", None),
        SoftwareItem("Tool", "", ""),  # no version twice
        SoftwareItem("   ", "x", "1"),  # nameless: dropped
    ])  # fmt: skip
    items = installations_of(device)
    ssis = SSIS.lower()
    assert set(items) == {
        (ssis, "Microsoft Corporation", "15.0.1100.123"),
        (ssis, "Microsoft Corporation", "14.0.3002.136"),
        ("tool", "", ""),
    }
    # Repeated rows merge: the first name, the earliest install date, the largest size, whatever their order.
    merged = items[(ssis, "Microsoft Corporation", "15.0.1100.123")]
    assert (merged.name, merged.install_date, merged.size_bytes) == (SSIS, day, 99)
    # The digest ignores order and repeats, and sees a version change.
    shuffled = DeviceSoftware("a", list(reversed(device.software)))
    assert digest_of(installations_of(shuffled)) == digest_of(items)
    bumped = DeviceSoftware("a", [*device.software[:1], SoftwareItem(SSIS, "Microsoft Corporation", "14.0.3002.137")])
    assert digest_of(installations_of(bumped)) != digest_of(installations_of(DeviceSoftware("a", device.software[:2])))


async def test_statements_per_batch_do_not_grow_with_the_batch(http, state, transport) -> None:  # type: ignore[no-untyped-def]
    """10 and 150 devices (one batch each) cost the same number of statements on the software tables, on
    the first inventory, an unchanged one, and one where every device lost a version."""
    statements: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if any(t in statement for t in ("asset_software", "software_catalog")):
            statements.append(statement.split()[0])

    async def runs(devices: int) -> list[int]:
        tenant = await make_tenant(state, "sw")
        fleet = make_fleet(orgs=1, devices=devices)
        for d in fleet.devices.values():
            d.software = [(SSIS, "Microsoft Corporation", "15.0.1100.123"), (SSIS, "Microsoft Corporation", "14.0.3002.136"),
                          (SSIS, "Microsoft Corporation", "15.0.1100.123"), ("7-Zip", "Igor Pavlov", "23.01")]  # fmt: skip
        setup = await connect_tiny(http, transport, tenant, fleet)
        await run_sync(http, state, setup, "scopes")
        await map_all(http, setup)
        assert (await run_sync(http, state, setup, "devices"))["status"] == "succeeded"
        out = []
        for step in ("first", "unchanged", "removed"):
            if step == "removed":
                for d in fleet.devices.values():
                    d.software = [s for s in d.software if s[2] != "14.0.3002.136"]
            statements.clear()
            event.listen(state.engine.sync_engine, "before_cursor_execute", count)
            try:
                run = await run_sync(http, state, setup, "software")
            finally:
                event.remove(state.engine.sync_engine, "before_cursor_execute", count)
            c = run["counters"]
            assert run["status"] == "succeeded" and c["devices"] == devices, run
            if step == "first":
                assert c["installations"] == c["installed"] == 3 * devices, c
            elif step == "unchanged":
                assert c["devices_unchanged"] == devices and c["installed"] == c["uninstalled"] == 0, c
            else:
                assert c["uninstalled"] == devices and c["installed"] == c["updated"] == 0, c
            out.append(len(statements))
        return out

    small, large = await runs(10), await runs(150)
    assert small == large, (small, large)
    assert small[1] <= 2, small  # unchanged: read the digests, move seen_at
