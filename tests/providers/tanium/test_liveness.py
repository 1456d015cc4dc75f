"""The Tanium liveness pass over HTTP against the simulator: the same view as the full sync (owner
rule, status inputs), a complete cursor walk under the simulator's walk faults and cursor expiry,
``eidLastSeen`` moving as endpoints check in (driven through the simulator's control API), and an
endpoint rmmbridge has never seen showing up within one pass."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rmmbridge.providers.base import LivenessRecord, ProviderIncompleteError, RemoteScope
from rmmbridge.providers.tanium import TaniumProvider
from rmmbridge.providers.tanium.normalize import owner_group
from rmmbridge.simulators.tanium import ALL_COMPUTERS_ID

from .test_gateway import WALK_FAULTS, Env, customer_groups, drain, make_env, scope


async def liveness(provider: TaniumProvider, sc: RemoteScope) -> tuple[list[LivenessRecord], int, int]:
    """The records of one scope's pass, its page count and the requests the pages say they cost."""
    records: list[LivenessRecord] = []
    pages = requests = 0
    async for page in provider.iter_liveness_pages(sc):
        assert not page.invalid
        records.extend(page.records)
        pages += 1
        requests += page.requests
    return records, pages, requests


def control(e: Env) -> httpx.AsyncClient:
    """The simulator's /_sim control API over the same transport rmmbridge uses."""
    return httpx.AsyncClient(transport=e.transport, base_url=f"https://{e.host}")


@pytest.fixture
async def overlapping():  # type: ignore[no-untyped-def]
    e = make_env(endpoints=300, groups=6, page_size=25, membership_page_size=11)
    e.settings(mapped_scope_ids=sorted(customer_groups(e.fleet)))
    yield e
    await e.provider.aclose()


@pytest.mark.parametrize("server_side", [True, False])
async def test_a_pass_sees_what_the_full_sync_sees(server_side: bool) -> None:
    e = make_env(endpoints=300, groups=6, page_size=25, membership_page_size=11, exclude_owned_server_side=server_side)
    try:
        fleet = e.fleet
        mapped = customer_groups(fleet)
        e.settings(mapped_scope_ids=sorted(mapped))
        assert fleet.overlapping_endpoints()
        expected_owner = {
            eid: owner_group(ep.groups, mapped) for eid, ep in fleet.endpoints.items() if ep.groups & set(mapped)
        }
        seen: dict[str, LivenessRecord] = {}
        for gid in mapped:
            snaps = await drain(e.other(exclude_owned_server_side=server_side), scope(fleet, gid))
            before = e.sim.requests_served
            records, pages, requests = await liveness(e.provider, scope(fleet, gid))
            # What the full sync stores for status, exactly: id, owner, last seen and thresholds.
            assert [(r.external_id, r.realm_id, r.last_seen_at, r.offline_after_s, r.overdue_after_s)
                    for r in records] == [
                (s.external_id, s.realm_id, s.last_seen_at, s.offline_after_s, s.overdue_after_s) for s in snaps
            ]
            assert all(r.rmm_status is None and r.health is None for r in records)  # Tanium gives no verdict
            assert requests == e.sim.requests_served - before  # the pages' cost is what the server saw
            assert pages >= len(records) // 11
            for r in records:
                # Listed by its owner only, when the Gateway honours the exclusion filter; otherwise
                # (as in the full sync) a lower group lists it too, but always under its owner's realm.
                assert r.external_id not in seen or (not server_side and seen[r.external_id] == r)
                seen[r.external_id] = r
        assert {eid: r.realm_id for eid, r in seen.items()} == expected_owner
        now = e.provider.ctx.now()
        statuses = {fleet.expected_status(fleet.endpoints[eid], now) for eid in seen}
        assert statuses == {"online", "offline", "overdue", "unknown"}
        unknown = [r for r in seen.values() if fleet.expected_status(fleet.endpoints[r.external_id], now) == "unknown"]
        assert all(r.offline_after_s is None for r in unknown)  # no eidLastSeen, or one in the future
    finally:
        await e.provider.aclose()


async def test_a_pass_is_far_cheaper_than_a_device_sync(overlapping: Env) -> None:
    e = overlapping
    costs = {}
    for kind in ("devices", "liveness"):
        provider = e.other(membership_page_size=1000, page_size=500)  # the defaults
        before = e.sim.requests_served
        try:
            for gid in customer_groups(e.fleet):
                if kind == "devices":
                    await drain(provider, scope(e.fleet, gid))
                else:
                    await liveness(provider, scope(e.fleet, gid))
        finally:
            await provider.aclose()
        costs[kind] = e.sim.requests_served - before
    # The same owner membership walks; one small walk per group instead of inventory + two enrichments.
    assert costs["liveness"] < costs["devices"] / 2, costs


async def test_the_walk_is_complete_or_raises(overlapping: Env) -> None:
    e = overlapping
    gid = ALL_COMPUTERS_ID
    e.settings(mapped_scope_ids=[gid])
    everyone = set(e.fleet.endpoints)

    # The cursor expires after the second page (a stalled consumer): the walk restarts, nothing twice.
    pages = 0
    ids: list[str] = []
    async for page in e.provider.iter_liveness_pages(scope(e.fleet, gid)):
        ids.extend(r.external_id for r in page.records)
        pages += 1
        if pages == 2:
            e.sim.cursors.expire_all()
    assert len(ids) == len(set(ids)) and set(ids) == everyone

    for fault in WALK_FAULTS:
        e.sim.modes.update({"walk_fault": fault, "walk_fault_times": 1})  # once: one restart survives it
        records, _, _ = await liveness(e.other(membership_page_size=11), scope(e.fleet, gid))
        assert sorted(r.external_id for r in records) == sorted(everyone), fault
        e.sim.modes.update({"walk_fault": fault, "walk_fault_times": None})  # every page: never a short list
        with pytest.raises(ProviderIncompleteError):
            await liveness(e.other(membership_page_size=11), scope(e.fleet, gid))
        e.sim.modes.update({"walk_fault": None})


async def test_last_seen_moves_as_endpoints_check_in(overlapping: Env) -> None:
    e = overlapping
    e.provider.ctx.now = e.sim.now  # rmmbridge's clock and Tanium's agree
    gid = ALL_COMPUTERS_ID
    e.settings(mapped_scope_ids=[gid])
    fleet = e.fleet
    first = {r.external_id: r for r in (await liveness(e.provider, scope(fleet, gid)))[0]}
    online = [eid for eid, ep in fleet.endpoints.items() if ep.online_phase_s is not None]
    frozen = [eid for eid in fleet.endpoints if eid not in online]
    assert online and frozen

    async with control(e) as sim:
        # One connected endpoint drops off (last seen two hours ago), one offline one comes back.
        gone, back = online[0], next(eid for eid in frozen if first[eid].last_seen_at is not None)
        answer = (await sim.post(f"/_sim/endpoints/{gone}", json={
            "last_seen": (e.sim.now() - timedelta(hours=2)).isoformat()})).json()
        assert answer["status"] == "offline" and not answer["online"]
        assert (await sim.post(f"/_sim/endpoints/{back}", json={"online": True})).json()["online"]
        e.sim.advance(90)
        checked = (await sim.post("/_sim/checkin", json={})).json()["checked_in"]
        assert checked == len(online)  # gone no longer registers; back does
        assert (await sim.post("/_sim/endpoints/nope", json={})).status_code == 400

    now = e.sim.now()
    second = {r.external_id: r for r in (await liveness(e.other(membership_page_size=11), scope(fleet, gid)))[0]}
    for eid in [*online[1:], back]:
        assert second[eid].last_seen_at is not None
        assert abs(second[eid].last_seen_at - now) < timedelta(seconds=1), eid  # registered just now
        assert second[eid].offline_after_s == e.provider.cfg.offline_after_s
    assert second[gone].last_seen_at is not None and now - second[gone].last_seen_at > timedelta(minutes=119)
    for eid in frozen:
        if eid != back:
            assert second[eid].last_seen_at == first[eid].last_seen_at  # offline endpoints stay put


async def test_an_unknown_endpoint_appears_within_one_pass(overlapping: Env) -> None:
    e = overlapping
    fleet = e.fleet
    gid = customer_groups(fleet)[0]
    known = {r.external_id for r in (await liveness(e.provider, scope(fleet, gid)))[0]}
    async with control(e) as sim:
        made: dict[str, Any] = (await sim.post("/_sim/endpoints", json={"groups": [gid], "name": "NEW-LAPTOP-7"})).json()
        assert (await sim.post("/_sim/endpoints", json={"role": "toaster"})).status_code == 400
    provider = e.other(membership_page_size=11)
    try:
        records = (await liveness(provider, scope(fleet, gid)))[0]
        new = [r for r in records if r.external_id not in known]
        assert [r.external_id for r in new] == [made["id"]] and new[0].realm_id == gid
        before = e.sim.requests_served
        snapshot = await provider.fetch_unknown_device(new[0])
        cost = e.sim.requests_served - before
        assert snapshot is not None and snapshot == await provider.fetch_device(made["id"])
        assert (snapshot.name, snapshot.realm_id, snapshot.last_seen_at) == ("NEW-LAPTOP-7", gid, new[0].last_seen_at)
        assert cost == 5  # the endpoint and its four enrichments: the pass already named the owner
        gone = LivenessRecord(external_id="999999", realm_id=gid, last_seen_at=None)
        assert await provider.fetch_unknown_device(gone) is None
    finally:
        await provider.aclose()


async def test_requests_add_up_when_scopes_walk_concurrently(overlapping: Env) -> None:
    e = overlapping
    groups = customer_groups(e.fleet)
    before = e.sim.requests_served
    # As the runner walks them: each scope in its own task, sharing the membership walks.
    results = await asyncio.gather(*(liveness(e.provider, scope(e.fleet, gid)) for gid in groups))
    assert sum(requests for _, _, requests in results) == e.sim.requests_served - before
    assert all(requests >= pages for _, pages, requests in results)
