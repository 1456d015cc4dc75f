"""Issue #13: the provider against the limits of Tanium's real Gateway schema, over HTTP against the
simulator (which now serves the real nullability, ``sort``, the one-EID ``endpointLastSeen``, both cursor
lifetimes, optional content and both Asset API envelopes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.base import REPORTABLE_FIELDS, ProviderConfigError, ProviderIncompleteError
from rmmbridge.providers.tanium.asset_api import AssetWalk
from rmmbridge.providers.tanium.gateway import LIVENESS_DOC, MEMBERSHIP_DOC
from rmmbridge.providers.tanium.normalize import HARDWARE_FIELDS, NARROW_MISSING
from rmmbridge.providers.tanium.pagination import CursorWalk
from rmmbridge.simulators.tanium import ALL_COMPUTERS_ID

from .test_gateway import NOW, Env, _provider, drain, make_env, scope


def _endpoint_documents(env: Env) -> list[str]:
    return [q for q in env.sim.documents if "endpoints(first: $first" in q]


# ----------------------------------------------------------------------------- 1. last seen by id filter


async def test_aged_out_is_concluded_only_for_eids_the_gateway_does_not_list() -> None:
    # The Gateway answers at most 50 per page, far fewer than the 500 EIDs of one id-filter batch.
    e = make_env(endpoints=200, groups=4, page_size=50, asset_api_fallback=True, app_kwargs={"max_page_size": 50})
    try:
        gid = e.fleet.customer_group_ids[1]
        members = e.fleet.group_members(gid)
        aged = members[:3]
        for eid in aged:
            e.fleet.age_out(eid, last_seen=NOW - timedelta(days=60))
        # Known under this group but listed by the Gateway elsewhere (moved): alive, not aged out.
        elsewhere = [eid for eid in e.fleet.endpoints if eid not in members][:120]
        rows = [
            {"external_id": eid, "realm_id": gid, "external_ref": (e.fleet.endpoints.get(eid) or e.fleet.aged_out[eid]).computer_id}
            for eid in [*aged, *elsewhere]
        ]
        e.settings(mapped_scope_ids=[gid], known_devices=rows)
        e.sim.modes.last_seen_multi = "first"  # the deprecated field would answer only one EID of a list
        snaps = await drain(e.provider, scope(e.fleet, gid))
        from_assets = {s.external_id for s in snaps} - set(e.fleet.group_members(gid))
        assert from_assets == set(aged)  # the 120 alive ones were proven alive across 3 pages
        assert not any("endpointLastSeen" in q for q in e.sim.documents)
    finally:
        await e.provider.aclose()


async def test_a_last_seen_answer_that_cannot_hold_the_batch_is_incomplete_not_aged_out() -> None:
    e = make_env(endpoints=120, groups=4, page_size=50, asset_api_fallback=True)
    try:
        gid = e.fleet.customer_group_ids[1]
        alive = [eid for eid in e.fleet.endpoints if eid not in e.fleet.group_members(gid)][:30]
        e.sim.max_page_size = 10  # one batch of 30 EIDs needs three pages
        assert await e.provider._gateway_eids(alive) == set(alive)
        # The id-filter walk ends early (hasNextPage false before totalRecords were listed): no answer
        # about the EIDs it did not list, so none of them may be taken for aged out.
        e.sim.modes.update({"walk_fault": "short_listing"})
        with pytest.raises(ProviderIncompleteError, match="still has"):
            await e.provider._gateway_eids(alive)
    finally:
        await e.provider.aclose()


# ----------------------------------------------------------------------------- 2. field errors and null propagation


async def test_a_field_error_on_a_non_null_field_mid_walk_narrows_the_walk_and_loses_nothing() -> None:
    e = make_env(endpoints=120, groups=4, page_size=20)
    try:
        e.settings(mapped_scope_ids=[ALL_COMPUTERS_ID])
        # One endpoint of every page after the first fails os.name (non-null): each such page is nulled.
        e.sim.modes.update({"field_fault": "os.name"})
        with structlog.testing.capture_logs() as logs:
            snaps = await drain(e.provider, scope(e.fleet, ALL_COMPUTERS_ID))
        ids = [s.external_id for s in snaps]
        assert len(ids) == len(set(ids)) and set(ids) == set(e.fleet.endpoints)  # never counted as empty
        narrowed = [s for s in snaps if s.reported is not None and "os_name" not in s.reported]
        assert len(narrowed) == len(snaps) - 20  # the first page was whole; the rest came from the fallback
        for s in narrowed:
            assert NARROW_MISSING.isdisjoint(s.reported or ()) and "last_seen_at" in (s.reported or ())
        assert any(entry["event"] == "tanium_walk_narrowed" and entry["fields"] == ["endpoints.edges.node.os.name"] for entry in logs)
    finally:
        await e.provider.aclose()


async def test_a_single_endpoint_lookup_survives_a_field_error() -> None:
    e = make_env(endpoints=40, groups=4)
    try:
        eid = next(iter(e.fleet.endpoints))
        e.sim.modes.update({"field_fault": "computerID", "field_fault_first_pages": True})
        snap = await e.provider.fetch_device(eid)
        assert snap is not None and snap.external_id == eid and snap.last_seen_at is not None
        assert snap.reported is not None and NARROW_MISSING.isdisjoint(snap.reported)  # stored name etc. stay
    finally:
        await e.provider.aclose()


async def test_a_field_error_without_a_fallback_fails_the_walk_by_name() -> None:
    e = make_env(endpoints=60, groups=4)
    try:
        e.sim.modes.update({"field_fault": "memory.total"})
        from rmmbridge.providers.tanium.gateway import HARDWARE_DOC

        walk = CursorWalk(e.provider.gateway, HARDWARE_DOC, "RmmbridgeTaniumHardware", page_size=10)
        with pytest.raises(ProviderIncompleteError, match=r"memory\.total") as info:
            async for _ in walk.pages():
                pass
        assert info.value.cause == "field error"
    finally:
        await e.provider.aclose()


async def test_a_failing_hardware_field_turns_off_only_the_hardware_enrichment() -> None:
    e = make_env(endpoints=80, groups=4, page_size=20)
    try:
        e.settings(mapped_scope_ids=[ALL_COMPUTERS_ID])
        e.sim.modes.update({"field_fault": "memory.total", "field_fault_times": 1})
        snaps = await drain(e.provider, scope(e.fleet, ALL_COMPUTERS_ID))
        assert {s.external_id for s in snaps} == set(e.fleet.endpoints)
        for s in snaps:
            assert s.reported is not None and HARDWARE_FIELDS.isdisjoint(s.reported)  # stored values stay
            assert {"os_name", "name", "last_seen_at"} <= set(s.reported)
    finally:
        await e.provider.aclose()


# ----------------------------------------------------------------------------- 3. optional content


async def test_missing_ad_query_content_costs_only_the_primary_user() -> None:
    e = make_env(endpoints=80, groups=4, page_size=20)
    try:
        e.settings(mapped_scope_ids=[ALL_COMPUTERS_ID])
        e.sim.modes.ad_query_installed = False
        snaps = {s.external_id: s for s in await drain(e.provider, scope(e.fleet, ALL_COMPUTERS_ID))}
        assert set(snaps) == set(e.fleet.endpoints)
        for eid, s in snaps.items():
            ep = e.fleet.endpoints[eid]
            reported = set(s.reported) if s.reported is not None else REPORTABLE_FIELDS
            assert {"serial_number", "os_name", "name"} <= reported
            if s.last_user:
                assert s.current_user == s.last_user and "current_user" in reported
            else:  # no last user and no primary user known: left as stored
                assert "current_user" not in reported
            assert s.name == ep.name.strip() or not ep.name.strip()
        checks = await e.provider.test_connection()
        content = next(c for c in checks if c.name == "Optional Tanium content")
        assert content.ok and content.warning
        assert "Core AD Query Content" in content.message and "primary user" in content.message
        assert "Core Content (" not in content.message  # only what is missing is named
    finally:
        await e.provider.aclose()


async def test_missing_core_content_keeps_the_core_walk() -> None:
    e = make_env(endpoints=60, groups=4, page_size=20)
    try:
        e.settings(mapped_scope_ids=[ALL_COMPUTERS_ID])
        e.sim.modes.core_content_installed = False
        snaps = await drain(e.provider, scope(e.fleet, ALL_COMPUTERS_ID))
        assert {s.external_id for s in snaps} == set(e.fleet.endpoints)
        assert all(s.reported is not None and HARDWARE_FIELDS.isdisjoint(s.reported) for s in snaps)
        content = next(c for c in await e.provider.test_connection() if c.name == "Optional Tanium content")
        assert content.warning and "Core Content" in content.message and "serial number" in content.message
    finally:
        await e.provider.aclose()


# ----------------------------------------------------------------------------- 4. cursor lifetime


async def test_a_walk_longer_than_the_cursors_absolute_lifetime_resumes_after_the_last_id() -> None:
    e = make_env(endpoints=400, groups=4)
    try:
        walk = CursorWalk(e.provider.gateway, MEMBERSHIP_DOC, "RmmbridgeTaniumMembership", page_size=10)
        ids: list[str] = []
        with structlog.testing.capture_logs() as logs:
            async for page in walk.pages():
                ids.extend(n["id"] for n in page)
                e.sim.advance(4 * 60)  # a busy walk: never idle 5 minutes, but 40 pages take 160 minutes
        assert len(ids) == len(set(ids)) and set(ids) == set(e.fleet.endpoints)
        assert walk.resumes >= 2 and walk.restarts == 0 and walk.total == len(e.fleet.endpoints)
        resumed = [entry for entry in logs if entry["event"] == "tanium_walk_resumed"]
        assert len(resumed) == walk.resumes and "maximum lifetime" in resumed[0]["reason"]
    finally:
        await e.provider.aclose()


# ----------------------------------------------------------------------------- 5. order


async def test_every_endpoints_walk_is_sorted_by_id_on_an_unsorted_server() -> None:
    e = make_env(endpoints=120, groups=4, page_size=20, asset_api_fallback=True)
    try:
        gid = e.fleet.customer_group_ids[0]
        e.settings(mapped_scope_ids=[ALL_COMPUTERS_ID, gid], known_devices=[])
        await drain(e.provider, scope(e.fleet, gid))
        async for _ in e.provider.iter_liveness_pages(scope(e.fleet, gid)):
            pass
        docs = _endpoint_documents(e)
        assert len(docs) >= 6  # membership, core, hardware, primary user, WAN IP, last reboot, liveness
        assert all('sort: [{ path: "id", order: asc }]' in q for q in docs)
        walk = CursorWalk(e.provider.gateway, LIVENESS_DOC, "RmmbridgeTaniumLiveness", page_size=7)
        ids = [n["id"] async for page in walk.pages() for n in page]
        assert ids == sorted(e.fleet.endpoints, key=int)
        with pytest.raises(AssertionError, match="without sort"):
            CursorWalk(e.provider.gateway, "query { endpoints { totalRecords } }", "Unsorted")
    finally:
        await e.provider.aclose()


# ----------------------------------------------------------------------------- 7. Asset API envelope


@pytest.mark.parametrize("envelope", ["top", "response"])
async def test_both_asset_api_envelopes_are_read(envelope: str) -> None:
    e = make_env(endpoints=60, groups=4, asset_api_fallback=True)
    try:
        e.sim.modes.asset_envelope = envelope  # type: ignore[assignment]
        ids = [row["id"] async for page in AssetWalk(e.provider.http, limit=7).pages() for row in page]
        assert ids == list(e.fleet.assets)
        check = (await e.provider.test_connection())[-1]
        assert check.name == "Asset API" and check.ok, check
    finally:
        await e.provider.aclose()


async def test_an_asset_answer_in_neither_envelope_fails_loudly() -> None:
    async def other_shape(request: Request) -> JSONResponse:  # a proxy or a future API version
        return JSONResponse({"response": {"items": [], "next": None}})

    app = Starlette(routes=[Route("/plugin/products/asset/v1/assets", other_shape)])
    host = "odd-api.cloud.tanium.com"
    provider = _provider(host, RoutedTransport({host: app}), {}, [])
    try:
        with pytest.raises(ProviderIncompleteError, match=r"neither \{data, meta\}") as info:
            async for _ in AssetWalk(provider.http).pages():
                pass
        assert "response" in info.value.message  # says what came instead
    finally:
        await provider.aclose()


# ----------------------------------------------------------------------------- 8. token rotation


async def _use(e: Env, token: str) -> None:
    async with e.provider.ctx.http(f"https://{e.host}", headers={"session": token}) as client:
        r = await client.post("/plugin/products/gateway/graphql", json={"query": "{ now }"})
        assert r.status_code == 200, r.text


async def test_an_ambiguous_token_list_refuses_rotation() -> None:
    e = make_env(endpoints=20, groups=4, rotate_token_automatically=True, app_kwargs={"token_expires_in_days": 1})
    try:
        other = e.sim.tokens.grant(e.sim.now(), expires_in_days=30, notes="another client")
        await _use(e, other.token_string)  # another client of the same persona, active right now
        before = [(t.id, t.revoked) for t in e.sim.tokens]
        with pytest.raises(ProviderConfigError, match="cannot tell which one is its own"):
            await e.provider.keep_alive()
        assert [(t.id, t.revoked) for t in e.sim.tokens] == before  # nothing rotated on a guess
        expiry = next(c for c in await e.provider.test_connection() if c.name == "Token expiry")
        assert expiry.warning and "unknown" in expiry.message and expiry.fix
        # Later the other client is idle: the configured token is the only one used now, and is rotated.
        e.sim.advance(10 * 60)
        own = e.sim.tokens.find(e.provider.http.token)
        assert own is not None
        expires = await e.provider.keep_alive()
        assert own.revoked and expires is not None and expires > own.expiration  # ours, and only ours, rotated
        assert not e.sim.tokens.by_id(other.id).revoked  # type: ignore[union-attr]
    finally:
        await e.provider.aclose()

