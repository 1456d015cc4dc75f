"""The Tanium simulator against reference/tanium.md: auth, Gateway GraphQL, paging, cursors, Asset API, faults."""

from __future__ import annotations

import email.utils
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rmmbridge.simulators.faults import Fault, FaultPlan
from rmmbridge.simulators.tanium import (
    ALL_COMPUTERS_ID,
    ASSET_PREFIX,
    DEFAULT_TOKEN,
    GATEWAY_PATH,
    SESSION_VALIDATE_PATH,
    TaniumFleet,
    TaniumSimulator,
    create_app,
    generate_fleet,
    installed_applications,
)

NOW = datetime(2026, 4, 14, 17, 0, tzinfo=UTC)
BASE_URL = "https://example-api.cloud.tanium.com"
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")

GROUPS_DOC = """
query RmmbridgeTaniumComputerGroups($first: Int!, $after: Cursor) {
  computerGroups(first: $first, after: $after) {
    totalRecords
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name type filterEnabled managementRightsEnabled } }
  }
}
"""

IDS_DOC = """
query RmmbridgeTaniumMembership($first: Int!, $after: Cursor, $filter: EndpointFieldFilter) {
  endpoints(first: $first, after: $after, filter: $filter) {
    totalRecords
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}
"""

INVENTORY_DOC = """
query RmmbridgeTaniumEndpoints($first: Int!, $after: Cursor, $filter: EndpointFieldFilter, $withApps: Boolean!) {
  endpoints(first: $first, after: $after, filter: $filter, sort: [{ path: "id" }]) {
    totalRecords
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id name computerID systemUUID serialNumber manufacturer model chassisType domainName isVirtual
        eidFirstSeen eidLastSeen
        ipAddress ipAddresses macAddresses
        lastLoggedInUser primaryUser { name email }
        os { name platform generation windows { releaseId } }
        memory { total }
        processor { cpu logicalProcessors }
        disks { name total free usedPercentage }
        installedApplications @include(if: $withApps) { name version }
      }
    }
  }
}
"""


# ---- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture
def fleet() -> TaniumFleet:
    return generate_fleet(seed=7, groups=6, endpoints=200, now=NOW)


@pytest.fixture
def plan() -> FaultPlan:
    return FaultPlan()


@pytest.fixture
def tanium_app(fleet: TaniumFleet, plan: FaultPlan) -> Any:
    return create_app(fleet, faults=plan, clock=lambda: NOW)


@pytest.fixture
def sim(tanium_app: Any) -> TaniumSimulator:
    return tanium_app.state.sim


def _client(app: Any, token: str | None = DEFAULT_TOKEN) -> httpx.AsyncClient:
    headers = {"session": token} if token is not None else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers)


@pytest.fixture
async def tanium(tanium_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(tanium_app) as client:
        yield client


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, op: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"query": query, "variables": variables or {}}
    if op:
        body["operationName"] = op
    return await client.post(GATEWAY_PATH, json=body)


async def walk(
    client: httpx.AsyncClient, first: int, filter_: dict[str, Any] | None = None, doc: str = IDS_DOC
) -> tuple[list[dict[str, Any]], int, int]:
    """Walk ``endpoints`` to the end: (nodes, totalRecords, pages)."""
    after: str | None = None
    nodes: list[dict[str, Any]] = []
    pages = 0
    total = -1
    while True:
        resp = await gql(client, doc, {"first": first, "after": after, "filter": filter_, "withApps": False})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert "errors" not in body, body
        conn = body["data"]["endpoints"]
        total = conn["totalRecords"]
        nodes.extend(e["node"] for e in conn["edges"])
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes, total, pages
        after = conn["pageInfo"]["endCursor"]
        assert pages < 1000


# ---- auth ----------------------------------------------------------------------------------------------------------


async def test_missing_session_header_is_403(tanium_app: Any) -> None:
    async with _client(tanium_app, token=None) as client:
        resp = await gql(client, "{ now }")
    assert resp.status_code == 403
    assert resp.json() == {"text": "Forbidden: no session header"}


@pytest.mark.parametrize(
    ("token", "text"),
    [
        ("token-not-a-real-token", "Forbidden: invalid session"),
        (DEFAULT_TOKEN.removeprefix("token-"), "Forbidden: session is not an API token"),
    ],
)
async def test_invalid_token_is_403(tanium_app: Any, token: str, text: str) -> None:
    async with _client(tanium_app, token=token) as client:
        resp = await gql(client, "{ now }")
        assets = await client.get(f"{ASSET_PREFIX}/assets")
    assert resp.status_code == 403
    assert resp.json() == {"text": text}
    assert assets.status_code == 403


async def test_bearer_header_is_not_accepted(tanium_app: Any) -> None:
    async with _client(tanium_app, token=None) as client:
        resp = await client.post(
            GATEWAY_PATH, json={"query": "{ now }"}, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
        )
    assert resp.status_code == 403


async def test_token_expires_on_the_clock(fleet: TaniumFleet) -> None:
    app = create_app(fleet, clock=lambda: NOW, token_expires_in_days=2)
    async with _client(app) as client:
        assert (await gql(client, "{ now }")).status_code == 200
        app.state.sim.advance(timedelta(days=2, seconds=1).total_seconds())
        resp = await gql(client, "{ now }")
    assert resp.status_code == 403
    assert resp.json() == {"text": "Forbidden: API token has expired"}


async def test_token_from_untrusted_ip_is_403(tanium: httpx.AsyncClient, tanium_app: Any) -> None:
    grant = await tanium.post("/_sim/tokens", json={"trusted_ips": ["10.0.0.0/8"]})
    assert grant.status_code == 201
    async with _client(tanium_app, token=grant.json()["token"]) as client:
        resp = await gql(client, "{ now }")
    assert resp.status_code == 403
    assert "not trusted" in resp.json()["text"]


async def test_no_gateway_permission_is_401(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    sim.modes.gateway_permission = False
    assert (await gql(tanium, "{ now }")).status_code == 401


async def test_console_host_redirects_and_html(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    sim.modes.console_host = "redirect"
    resp = await gql(tanium, "{ now }")
    assert resp.status_code == 302
    assert "openid-connect" in resp.headers["location"]
    sim.modes.console_host = "html"
    resp = await tanium.get(f"{ASSET_PREFIX}/assets")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.text.lower().startswith("<!doctype html")


async def test_session_validate(tanium: httpx.AsyncClient) -> None:
    ok = await tanium.post(SESSION_VALIDATE_PATH, json={"session": DEFAULT_TOKEN})
    bad = await tanium.post(SESSION_VALIDATE_PATH, json={"session": "token-nope"}, headers={"session": ""})
    assert ok.status_code == 200
    assert bad.status_code == 403


async def test_now_and_connection_probes(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    now = await gql(tanium, "query RmmbridgeTaniumNow { now }", op="RmmbridgeTaniumNow")
    assert now.json() == {"data": {"now": "2026-04-14T17:00:00Z"}}
    groups = await gql(tanium, "{ computerGroups(first: 1) { totalRecords edges { node { id name } } } }")
    assert groups.json()["data"]["computerGroups"]["totalRecords"] == len(fleet.groups)
    eps = await gql(tanium, "{ endpoints(first: 1) { totalRecords edges { node { id eidLastSeen } } } }")
    conn = eps.json()["data"]["endpoints"]
    assert conn["totalRecords"] == len(fleet.endpoints)
    assert len(conn["edges"]) == 1


# ---- computer groups -----------------------------------------------------------------------------------------------


async def test_computer_groups_pages_and_shapes(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    after = None
    nodes: list[dict[str, Any]] = []
    pages = 0
    while True:
        resp = await gql(tanium, GROUPS_DOC, {"first": 4, "after": after}, op="RmmbridgeTaniumComputerGroups")
        conn = resp.json()["data"]["computerGroups"]
        assert conn["totalRecords"] == len(fleet.groups)
        assert all(edge["cursor"] for edge in conn["edges"])
        nodes.extend(e["node"] for e in conn["edges"])
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pages == -(-len(fleet.groups) // 4)
    assert [n["id"] for n in nodes] == list(fleet.groups)
    assert all(isinstance(n["id"], str) for n in nodes)
    assert nodes[0] == {
        "id": ALL_COMPUTERS_ID,
        "name": "All Computers",
        "type": "STANDARD",
        "filterEnabled": True,
        "managementRightsEnabled": True,
    }
    names = {n["name"] for n in nodes}
    assert {"All Windows", "All Linux", "All Mac"} <= names
    assert any(n["name"].endswith(" - Servers") for n in nodes)
    assert sum(n["type"] == "MANUAL" for n in nodes) == 1
    # ids cross a digit boundary, so numeric and bytewise order differ (the §3.3 tie-break matters)
    ids = [n["id"] for n in nodes]
    assert sorted(ids, key=int) != sorted(ids)


async def test_computer_group_by_ref_and_filter(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    gid = fleet.customer_group_ids[0]
    by_id = await gql(tanium, "query($id: ID){ computerGroup(ref: {id: $id}) { id name expression } }", {"id": gid})
    assert by_id.json()["data"]["computerGroup"]["name"] == fleet.groups[gid].name
    missing = await gql(tanium, '{ computerGroup(ref: {id: "999999"}) { id } }')
    assert missing.json() == {"data": {"computerGroup": None}}
    manual = await gql(tanium, "{ computerGroups(first: 50, filter: {type: MANUAL}) { totalRecords } }")
    assert manual.json()["data"]["computerGroups"]["totalRecords"] == 1


# ---- endpoints -----------------------------------------------------------------------------------------------------


async def test_endpoints_paginate_across_many_pages(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    nodes, total, pages = await walk(tanium, first=17)
    assert total == len(fleet.endpoints) == 200
    assert pages == 12
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)) and set(ids) == set(fleet.endpoints)  # no duplicates, nothing missing
    assert not set(ids) & set(fleet.aged_out)


async def test_page_info_cursors(tanium: httpx.AsyncClient) -> None:
    first = (await gql(tanium, IDS_DOC, {"first": 5})).json()["data"]["endpoints"]
    edges = first["edges"]
    assert first["pageInfo"]["startCursor"] == edges[0]["cursor"]
    assert first["pageInfo"]["endCursor"] == edges[-1]["cursor"]
    assert first["pageInfo"]["hasPreviousPage"] is False
    second = (await gql(tanium, IDS_DOC, {"first": 5, "after": edges[-1]["cursor"]})).json()["data"]["endpoints"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert not {e["node"]["id"] for e in second["edges"]} & {e["node"]["id"] for e in edges}


async def test_group_filter_by_id_and_name(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    gid = fleet.customer_group_ids[1]
    members = fleet.group_members(gid)
    nodes, total, _ = await walk(tanium, 10, {"memberOf": {"id": gid}})
    assert total == len(members) > 0
    assert sorted(n["id"] for n in nodes) == sorted(members)
    # Alga's explicit-defaults form and the name form give the same collection
    explicit = {"memberOf": {"id": gid}, "op": "EQ", "negated": False, "any": False}
    assert (await walk(tanium, 500, explicit))[1] == len(members)
    assert (await walk(tanium, 500, {"memberOf": {"name": fleet.groups[gid].name}}))[1] == len(members)


async def test_compound_filter_with_negated_member_of(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    customer = fleet.customer_group_ids[0]
    servers = fleet.servers_group_ids[0]
    filt = {"any": False, "filters": [{"memberOf": {"id": customer}}, {"memberOf": {"id": servers}, "negated": True}]}
    nodes, total, _ = await walk(tanium, 500, filt)
    expected = [e for e in fleet.group_members(customer) if servers not in fleet.endpoints[e].groups]
    assert sorted(n["id"] for n in nodes) == sorted(expected)
    assert total == len(fleet.group_members(customer)) - len(fleet.group_members(servers))
    either = {"any": True, "filters": [{"memberOf": {"id": customer}}, {"memberOf": {"id": servers}}]}
    assert (await walk(tanium, 500, either))[1] == len(fleet.group_members(customer))


async def test_path_filters(tanium: httpx.AsyncClient, fleet: TaniumFleet, sim: TaniumSimulator) -> None:
    windows = sum(ep.os.platform == "Windows" for ep in fleet.endpoints.values())
    assert (await walk(tanium, 500, {"path": "os.platform", "value": "Windows"}))[1] == windows
    since = NOW - timedelta(hours=1)
    recent = sum(
        (seen := fleet.eid_last_seen(ep, NOW)) is not None and seen >= since for ep in fleet.endpoints.values()
    )
    gte = {"path": "eidLastSeen", "op": "GTE", "value": since.isoformat().replace("+00:00", "Z")}
    assert (await walk(tanium, 500, gte))[1] == recent
    prefix = {"path": "name", "op": "STARTS_WITH", "value": "acme-"}
    nodes, _, _ = await walk(tanium, 500, prefix, doc=IDS_DOC.replace("node { id }", "node { id name }"))
    assert nodes and all(n["name"].lower().startswith("acme-") for n in nodes)


async def test_unknown_group_matches_nothing(tanium: httpx.AsyncClient) -> None:
    _, total, _ = await walk(tanium, 50, {"memberOf": {"id": "987654"}})
    assert total == 0


async def test_overlapping_groups(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    overlapping = fleet.overlapping_endpoints()
    assert overlapping
    eid = overlapping[0]
    groups = sorted(fleet.endpoints[eid].groups - {ALL_COMPUTERS_ID, "2", "3", "4"})
    assert len(groups) >= 2
    for gid in groups:
        nodes, _, _ = await walk(tanium, 500, {"memberOf": {"id": gid}})
        assert eid in {n["id"] for n in nodes}
    # the broad group contains everything; customer groups and "… - Servers" subgroups nest
    assert len(fleet.group_members(ALL_COMPUTERS_ID)) == len(fleet.endpoints)
    servers = fleet.servers_group_ids[0]
    assert set(fleet.group_members(servers)) <= set(fleet.group_members(fleet.customer_group_ids[0]))


async def test_inventory_document(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    variables = {"first": 50, "after": None, "withApps": False, "filter": None}
    lean = (await gql(tanium, INVENTORY_DOC, variables, op="RmmbridgeTaniumEndpoints")).json()
    assert "errors" not in lean
    node = lean["data"]["endpoints"]["edges"][0]["node"]
    assert "installedApplications" not in node
    expected_keys = {
        "id", "name", "computerID", "systemUUID", "serialNumber", "manufacturer", "model", "chassisType",
        "domainName", "isVirtual", "eidFirstSeen", "eidLastSeen", "ipAddress", "ipAddresses", "macAddresses",
        "lastLoggedInUser", "primaryUser", "os", "memory", "processor", "disks",
    }  # fmt: skip
    assert set(node) == expected_keys
    ep = fleet.endpoints[node["id"]]
    assert node["computerID"] == ep.computer_id
    assert node["os"]["platform"] == ep.os.platform
    for edge in lean["data"]["endpoints"]["edges"]:
        seen = edge["node"]["eidLastSeen"]
        assert seen is None or TIME_RE.match(seen)
    rich = (await gql(tanium, INVENTORY_DOC, {**variables, "withApps": True})).json()
    apps = rich["data"]["endpoints"]["edges"][0]["node"]["installedApplications"]
    assert apps == [{"name": a.name, "version": a.version} for a in installed_applications(ep)]


async def test_fleet_has_every_awkward_value() -> None:
    fleet = generate_fleet(seed=11, groups=8, endpoints=2000, now=NOW)
    eps = list(fleet.endpoints.values())
    assert any(ep.primary_user_name.startswith("Error: No inventory") for ep in eps)
    assert any(ep.serial_number in ("To Be Filled By O.E.M.", "Default string", "0") for ep in eps)
    assert any(ep.serial_number in ("[no results]", "Error: No inventory has been collected") for ep in eps)
    assert any(ep.manufacturer.startswith(("Error:", "[no results]")) for ep in eps)
    memory = {ep.memory_total for ep in eps}
    assert any(m.endswith(" MB") for m in memory)
    assert any(re.fullmatch(r"\d+\.\d GB", m) for m in memory)
    assert any(m.isdigit() for m in memory)  # bare number: ambiguous unit
    disks = [d for ep in eps for d in ep.disks]
    assert any(re.fullmatch(r"\d+G", d.total) for d in disks)  # macOS df style
    assert any(d.used_percentage.endswith("%") for d in disks)
    assert {"STUDIOS-01", "BIOS-LAB", "IOS-BUILD"} <= {ep.name for ep in eps}
    assert any(len({m.lower() for m in ep.mac_addresses}) < len(ep.mac_addresses) for ep in eps)
    assert any("00:00:00:00:00:00" in ep.mac_addresses for ep in eps)
    assert any(ip.startswith("fe80::") for ep in eps for ip in ep.ip_addresses)
    assert any(ep.ip_address.startswith("100.") for ep in eps)  # CGNAT
    assert any(ep.fractional_times for ep in eps)
    assert {ep.os.platform for ep in eps} >= {"Windows", "Mac", "Linux", "Unknown", "AIX"}
    assert {ep.expected_type for ep in eps} == {"workstation", "server", "unknown"}
    assert any(ep.role == "linux_laptop" for ep in eps)
    assert any(ep.app_count >= 250 for ep in eps)
    assert any(ep.app_count == 0 for ep in eps)
    statuses = [fleet.expected_status(ep, NOW) for ep in eps]
    assert {"online", "offline", "overdue", "unknown"} <= set(statuses)
    assert any(ep.last_seen is None and ep.online_phase_s is None for ep in eps)
    assert any(ep.last_seen is not None and ep.last_seen == NOW + timedelta(minutes=10) for ep in eps)


async def test_online_endpoints_register_every_interval(
    tanium: httpx.AsyncClient, fleet: TaniumFleet, sim: TaniumSimulator
) -> None:
    online = next(ep for ep in fleet.endpoints.values() if ep.online_phase_s is not None)
    offline = next(ep for ep in fleet.endpoints.values() if ep.online_phase_s is None and ep.last_seen)
    doc = "query($eids: [ID!]!) { endpointLastSeen(eids: $eids) }"

    async def last_seen(*eids: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for eid in eids:  # one EID per request: the field takes only one
            found.update((await gql(tanium, doc, {"eids": [eid]})).json()["data"]["endpointLastSeen"])
        return found

    before = await last_seen(online.eid, offline.eid, "nope")
    sim.advance(fleet.registration_interval_s)
    after = await last_seen(online.eid, offline.eid)
    assert set(before) == {online.eid, offline.eid}
    assert after[offline.eid] == before[offline.eid]
    delta = datetime.fromisoformat(after[online.eid]) - datetime.fromisoformat(before[online.eid])
    assert delta == timedelta(seconds=fleet.registration_interval_s)


async def test_enrichment_fields_and_module_absent(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    doc = """{ endpoints(first: 3) { edges { node { id discover { natIpAddress }
               lastReboot: sensorReadings(sensors: [{ name: "Last Reboot" }]) { columns { name values } } } } } }"""
    ok = (await gql(tanium, doc)).json()
    assert "errors" not in ok
    node = ok["data"]["endpoints"]["edges"][0]["node"]
    assert node["discover"]["natIpAddress"]
    reboot = email.utils.parsedate_to_datetime(node["lastReboot"]["columns"][0]["values"][0])
    assert reboot.tzinfo is not None
    sim.modes.discover_installed = False
    no_discover = (await gql(tanium, doc)).json()
    # discover is nullable: only that field is null, the page survives
    assert {tuple(e["path"]) for e in no_discover["errors"]} >= {("endpoints", "edges", 0, "node", "discover")}
    assert no_discover["data"]["endpoints"]["edges"][0]["node"]["discover"] is None
    sim.modes.last_reboot_sensor_fails = True
    broken = (await gql(tanium, doc)).json()
    paths = {tuple(e["path"][:5]) for e in broken["errors"]}
    assert ("endpoints", "edges", 0, "node", "lastReboot") in paths
    # sensorReadings is non-null in the real schema: its error nulls the node, and so the whole page
    assert broken["data"] == {"endpoints": None}


# ---- cursors and GraphQL errors ------------------------------------------------------------------------------------


async def test_expired_cursor_is_a_graphql_error_in_200(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    page = (await gql(tanium, IDS_DOC, {"first": 10})).json()["data"]["endpoints"]
    cursor = page["pageInfo"]["endCursor"]
    sim.advance(sim.cursors.ttl.total_seconds() + 1)
    resp = await gql(tanium, IDS_DOC, {"first": 10, "after": cursor})
    assert resp.status_code == 200
    body = resp.json()
    assert body["data"] == {"endpoints": None}
    assert body["errors"][0]["path"] == ["endpoints"]
    assert "expired" in body["errors"][0]["message"]
    # the switch that answers with data: null instead
    page = (await gql(tanium, IDS_DOC, {"first": 10})).json()["data"]["endpoints"]
    sim.advance(sim.cursors.ttl.total_seconds() + 1)
    sim.modes.cursor_error_data_null = True
    body = (await gql(tanium, IDS_DOC, {"first": 10, "after": page["pageInfo"]["endCursor"]})).json()
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["endpoints"]


async def test_cursor_lifetime_is_refreshed_by_use(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    ttl = sim.cursors.ttl.total_seconds()
    cursor = (await gql(tanium, IDS_DOC, {"first": 10})).json()["data"]["endpoints"]["pageInfo"]["endCursor"]
    for _ in range(3):
        sim.advance(ttl * 0.8)
        page = (await gql(tanium, IDS_DOC, {"first": 10, "after": cursor})).json()
        assert "errors" not in page
        cursor = page["data"]["endpoints"]["pageInfo"]["endCursor"]


async def test_cursor_is_bound_to_its_filter_and_collection(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    gid = fleet.customer_group_ids[0]
    cursor = (await gql(tanium, IDS_DOC, {"first": 5})).json()["data"]["endpoints"]["pageInfo"]["endCursor"]
    other = await gql(tanium, IDS_DOC, {"first": 5, "after": cursor, "filter": {"memberOf": {"id": gid}}})
    assert other.json()["data"] == {"endpoints": None}
    group_cursor = (await gql(tanium, GROUPS_DOC, {"first": 2})).json()["data"]["computerGroups"]["pageInfo"]
    mixed = await gql(tanium, IDS_DOC, {"first": 5, "after": group_cursor["endCursor"]})
    assert mixed.json()["errors"][0]["path"] == ["endpoints"]
    garbage = await gql(tanium, IDS_DOC, {"first": 5, "after": "not-a-cursor"})
    assert garbage.json()["data"] == {"endpoints": None}


async def test_total_records_fixed_while_walking(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    first = (await gql(tanium, IDS_DOC, {"first": 50})).json()["data"]["endpoints"]
    fleet.add_endpoint(groups=[fleet.customer_group_ids[0]])
    second = (await gql(tanium, IDS_DOC, {"first": 50, "after": first["pageInfo"]["endCursor"]})).json()
    assert second["data"]["endpoints"]["totalRecords"] == first["totalRecords"] == 200
    assert (await walk(tanium, 500))[1] == 201  # a new walk sees the new endpoint


@pytest.mark.parametrize(
    "query",
    [
        "{ endpoints(first: 1) { edges { node { id eid } } } }",  # no eid field on Endpoint
        "{ endpoints(first: 1) { totalCount } }",  # totalRecords, not totalCount
        '{ endpoints(first: 1, filter: {path: "name", op: LIKE, value: "x"}) { totalRecords } }',  # bad enum
        "{ endpoints(first: 1) { edges { node { id } }",  # syntax error
        "query($first: Int!) { endpoints(first: $first) { totalRecords } }",  # missing variable
    ],
)
async def test_validation_errors_are_200_without_data(tanium: httpx.AsyncClient, query: str) -> None:
    resp = await gql(tanium, query)
    assert resp.status_code == 200
    body = resp.json()
    assert "data" not in body
    assert body["errors"] and body["errors"][0]["message"]


async def test_rejected_filter_operator_is_an_execution_error(tanium: httpx.AsyncClient) -> None:
    resp = await gql(tanium, IDS_DOC, {"first": 5, "filter": {"path": "name", "op": "READ_AFTER", "value": "x"}})
    body = resp.json()
    assert resp.status_code == 200
    assert body["data"] == {"endpoints": None}
    assert body["errors"][0]["path"] == ["endpoints"]


async def test_page_size_above_maximum(fleet: TaniumFleet) -> None:
    app = create_app(fleet, clock=lambda: NOW, max_page_size=50)
    async with _client(app) as client:
        clamped = (await gql(client, IDS_DOC, {"first": 80})).json()["data"]["endpoints"]
        assert len(clamped["edges"]) == 50
        app.state.sim.modes.page_size_overflow = "error"
        refused = (await gql(client, IDS_DOC, {"first": 80})).json()
    assert refused["data"] == {"endpoints": None}
    assert "50" in refused["errors"][0]["message"]


@pytest.mark.parametrize("fault", ["short_listing", "repeated_cursor", "null_cursor", "total_drift", "duplicate_eid"])
async def test_walk_faults_corrupt_continuation_pages(
    tanium: httpx.AsyncClient, sim: TaniumSimulator, fault: str
) -> None:
    sim.modes.update({"walk_fault": fault, "walk_fault_times": 1})
    first = (await gql(tanium, IDS_DOC, {"first": 20})).json()["data"]["endpoints"]
    cursor = first["pageInfo"]["endCursor"]
    second = (await gql(tanium, IDS_DOC, {"first": 20, "after": cursor})).json()["data"]["endpoints"]
    ids_first = [e["node"]["id"] for e in first["edges"]]
    ids_second = [e["node"]["id"] for e in second["edges"]]
    if fault == "short_listing":
        assert second["pageInfo"]["hasNextPage"] is False
        assert len(ids_first) + len(ids_second) < second["totalRecords"]
    elif fault == "repeated_cursor":
        assert second["pageInfo"]["endCursor"] == cursor
    elif fault == "null_cursor":
        assert second["pageInfo"] == {**second["pageInfo"], "hasNextPage": True, "endCursor": None}
    elif fault == "total_drift":
        assert second["totalRecords"] == first["totalRecords"] + 1
    else:
        assert ids_second[0] == ids_first[-1]
    third = (await gql(tanium, IDS_DOC, {"first": 20, "after": cursor})).json()["data"]["endpoints"]
    assert third["totalRecords"] == first["totalRecords"]  # spent after one page
    assert third["pageInfo"]["hasNextPage"] is True
    assert third["pageInfo"]["endCursor"] not in (None, cursor)


# ---- fleet mutations as seen through the API -----------------------------------------------------------------------


async def test_moving_and_deleting_groups(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    a, b = fleet.customer_group_ids[0], fleet.customer_group_ids[1]
    eid = next(e for e in fleet.group_members(a) if b not in fleet.endpoints[e].groups)
    fleet.move_endpoint(eid, to_group=b, from_group=a)
    assert eid not in {n["id"] for n in (await walk(tanium, 500, {"memberOf": {"id": a}}))[0]}
    assert eid in {n["id"] for n in (await walk(tanium, 500, {"memberOf": {"id": b}}))[0]}
    fleet.remove_group(b)
    assert (await walk(tanium, 500, {"memberOf": {"id": b}}))[1] == 0
    gone = await gql(tanium, "query($id: ID){ computerGroup(ref: {id: $id}) { id } }", {"id": b})
    assert gone.json() == {"data": {"computerGroup": None}}


async def test_endpoint_id_changes(tanium: httpx.AsyncClient, fleet: TaniumFleet, sim: TaniumSimulator) -> None:
    doc = "query($after: Time!) { endpointIdChanges(after: $after) { before changes { oldId newId } } }"
    since = (NOW - timedelta(days=4)).isoformat().replace("+00:00", "Z")
    historical = (await gql(tanium, doc, {"after": since})).json()["data"]["endpointIdChanges"]
    assert historical["before"] == "2026-04-14T17:00:00Z"
    assert historical["changes"] == [{"oldId": c.old_id, "newId": c.new_id} for c in fleet.id_changes]
    old = next(iter(fleet.endpoints))
    new = fleet.rekey_endpoint(old, at=NOW + timedelta(seconds=30))
    sim.advance(60)
    fresh = (await gql(tanium, doc, {"after": historical["before"]})).json()["data"]["endpointIdChanges"]
    assert fresh["changes"] == [{"oldId": old, "newId": new}]


async def test_persona_sees_only_its_management_groups(
    tanium: httpx.AsyncClient, tanium_app: Any, fleet: TaniumFleet
) -> None:
    gid = fleet.customer_group_ids[2]
    assert (await tanium.post("/_sim/personas", json={"name": "Customer C", "group_ids": [gid]})).status_code == 201
    grant = (await tanium.post("/_sim/tokens", json={"persona": "Customer C"})).json()
    async with _client(tanium_app, token=grant["token"]) as scoped:
        assert (await walk(scoped, 500))[1] == len(fleet.group_members(gid))
        groups = await gql(scoped, GROUPS_DOC, {"first": 100})
        assert groups.json()["data"]["computerGroups"]["totalRecords"] == len(fleet.groups)


# ---- tokens --------------------------------------------------------------------------------------------------------


async def test_token_listing_and_rotation(tanium: httpx.AsyncClient, tanium_app: Any) -> None:
    listing = await gql(
        tanium,
        "{ myAPITokens { tokens { id created expiration lastUsed notes persona { name } trustedIPAddresses } "
        "error { message retryable timedOut } } }",
    )
    payload = listing.json()["data"]["myAPITokens"]
    assert payload["error"] is None
    assert payload["tokens"][0]["expiration"] == "2026-04-21T17:00:00Z"
    rotate = """mutation RmmbridgeTaniumRotate($token: String!) {
      apiTokenRotate(input: { tokenString: $token }) {
        token { id tokenString expiration } error { message retryable timedOut } } }"""
    rotated = (await gql(tanium, rotate, {"token": DEFAULT_TOKEN})).json()["data"]["apiTokenRotate"]
    new_token = rotated["token"]["tokenString"]
    assert rotated["error"] is None
    assert new_token.startswith("token-") and new_token != DEFAULT_TOKEN
    assert (await gql(tanium, "{ now }")).status_code == 403  # the old one died at once
    async with _client(tanium_app, token=new_token) as fresh:
        assert (await gql(fresh, "{ now }")).status_code == 200
        again = (await gql(fresh, rotate, {"token": DEFAULT_TOKEN})).json()["data"]["apiTokenRotate"]
        assert again["token"] is None
        assert again["error"]["message"]


async def test_rotation_with_lost_response(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    sim.modes.rotate_drops_response = True
    rotate = f'mutation {{ apiTokenRotate(input: {{tokenString: "{DEFAULT_TOKEN}"}}) {{ token {{ tokenString }} }} }}'
    resp = await gql(tanium, rotate)
    assert resp.status_code == 504
    assert (await gql(tanium, "{ now }")).status_code == 403  # rotated anyway: the old token is dead
    state = (await tanium.get("/_sim/state")).json()
    assert [t["revoked"] for t in state["tokens"]] == [True, False]


# ---- Asset API -----------------------------------------------------------------------------------------------------


async def _asset_walk(client: httpx.AsyncClient, limit: int, **extra: Any) -> tuple[list[dict[str, Any]], int]:
    minimum = 1
    rows: list[dict[str, Any]] = []
    pages = 0
    while True:
        resp = await client.get(f"{ASSET_PREFIX}/assets", params={"limit": limit, "minimumAssetId": minimum, **extra})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        rows.extend(body["data"])
        pages += 1
        if body["data"]:
            assert body["meta"]["nextAssetId"] == body["data"][-1]["id"] + 1
        if body["meta"]["endOfReader"] or not body["data"]:
            return rows, pages
        assert body["meta"]["nextAssetId"] > minimum
        minimum = body["meta"]["nextAssetId"]


async def test_asset_api_pages_to_end_of_reader(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    rows, pages = await _asset_walk(tanium, 7)
    ids = [r["id"] for r in rows]
    assert ids == sorted(set(ids)) == list(fleet.assets)
    assert pages == -(-len(ids) // 7)
    count = (await tanium.get(f"{ASSET_PREFIX}/stats/count")).json()
    assert count == {"deviceCount": len(ids)}
    # gaps between ids: adding the page size to the last id would skip or repeat rows
    assert any(b - a > 1 for a, b in itertools.pairwise(ids))
    # unknown parameters (offset, computerGroupId) are ignored
    ignored, _ = await _asset_walk(tanium, 50, offset=100, computerGroupId=fleet.customer_group_ids[0])
    assert [r["id"] for r in ignored] == ids
    row = rows[0]
    assert {"id", "computer_name", "computer_id", "system_uuid", "ci_installed_application"} <= set(row)
    assert all(set(app) >= {"name", "vendor", "version"} for app in row["ci_installed_application"])
    single = await tanium.get(f"{ASSET_PREFIX}/assets/{row['id']}")
    assert single.json()["data"]["computer_id"] == row["computer_id"]
    assert (await tanium.get(f"{ASSET_PREFIX}/assets/1")).status_code == 404


async def test_aged_out_endpoints_only_in_asset_api(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    assert fleet.aged_out and fleet.asset_only
    gateway_ids = {n["id"] for n in (await walk(tanium, 500))[0]}
    rows, _ = await _asset_walk(tanium, 50)
    by_computer_id = {r["computer_id"]: r for r in rows}
    for ep in fleet.aged_out.values():
        assert ep.eid not in gateway_ids
        row = by_computer_id[ep.computer_id]
        assert row["system_uuid"] == ep.system_uuid
        assert datetime.fromisoformat(row["last_seen_at"]) < NOW - timedelta(days=30)
    imported = [r for r in rows if r.get("source") == "import"]
    assert len(imported) == len(fleet.asset_only)
    gateway_computer_ids = {fleet.endpoints[e].computer_id for e in gateway_ids}
    assert not {r["computer_id"] for r in imported} & gateway_computer_ids
    # aging an endpoint out at runtime keeps its Asset row
    victim = next(iter(fleet.endpoints.values()))
    fleet.age_out(victim.eid)
    assert victim.eid not in {n["id"] for n in (await walk(tanium, 500))[0]}
    row = (await tanium.get(f"{ASSET_PREFIX}/assets/{victim.asset_id}")).json()["data"]
    assert row["computer_id"] == victim.computer_id


async def test_asset_module_absent_or_forbidden(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    sim.modes.asset_installed = False
    assert (await tanium.get(f"{ASSET_PREFIX}/assets", params={"limit": 1, "minimumAssetId": 1})).status_code == 404
    assert (await gql(tanium, "{ now }")).status_code == 200
    sim.modes.asset_installed = True
    sim.modes.asset_permission = False
    assert (await tanium.get(f"{ASSET_PREFIX}/assets")).status_code == 403


# ---- fault injection -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "needle"), [(500, "Failed to initialize request"), (503, "Service Unavailable"), (502, "Bad Gateway")]
)
async def test_status_fault(tanium: httpx.AsyncClient, plan: FaultPlan, status: int, needle: str) -> None:
    plan.add(Fault("status", path_contains="/gateway/", status=status, times=1))
    failed = await gql(tanium, "{ now }")
    assert failed.status_code == status
    assert needle in failed.text
    assert (await gql(tanium, "{ now }")).status_code == 200  # spent


async def test_rate_limit_fault_has_retry_after(tanium: httpx.AsyncClient, plan: FaultPlan) -> None:
    plan.add(Fault("rate_limit", retry_after_s=2, times=2))
    for _ in range(2):
        resp = await gql(tanium, "{ now }")
        assert resp.status_code == 429
        assert resp.headers["Retry-After"] == "2"
    assert (await gql(tanium, "{ now }")).status_code == 200


async def test_slow_fault(tanium: httpx.AsyncClient, plan: FaultPlan) -> None:
    plan.add(Fault("slow", delay_s=0.3, times=1))
    started = time.monotonic()
    resp = await gql(tanium, "{ now }")
    assert resp.status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("kind", ["truncate", "malformed"])
async def test_broken_body_faults(tanium: httpx.AsyncClient, plan: FaultPlan, kind: str) -> None:
    plan.add(Fault(kind, path_contains="/asset/", times=1))  # type: ignore[arg-type]
    resp = await tanium.get(f"{ASSET_PREFIX}/assets", params={"limit": 3, "minimumAssetId": 1})
    assert resp.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content)
    assert (await tanium.get(f"{ASSET_PREFIX}/assets", params={"limit": 3})).json()["data"]


async def test_expire_token_fault(tanium: httpx.AsyncClient, plan: FaultPlan) -> None:
    plan.add(Fault("expire_token", times=1))
    resp = await gql(tanium, "{ now }")
    assert resp.status_code == 403
    assert resp.json() == {"text": "Forbidden: API token has expired"}
    assert (await gql(tanium, "{ now }")).status_code == 403  # expired tokens stay expired


async def test_fault_targets_one_operation(tanium: httpx.AsyncClient, plan: FaultPlan) -> None:
    plan.add(Fault("status", status=503, query_contains="operationName=RmmbridgeTaniumMembership"))
    assert (await gql(tanium, GROUPS_DOC, {"first": 5}, op="RmmbridgeTaniumComputerGroups")).status_code == 200
    assert (await gql(tanium, IDS_DOC, {"first": 5}, op="RmmbridgeTaniumMembership")).status_code == 503


# ---- control API ---------------------------------------------------------------------------------------------------


async def test_control_api(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    state = (await tanium.get("/_sim/state")).json()
    assert state["endpoints"] == len(fleet.endpoints)
    assert state["aged_out"] == len(fleet.aged_out)
    assert state["overlapping_endpoints"] > 0
    assert set(state["status"]) == {"online", "offline", "overdue", "unknown"}
    added = await tanium.post("/_sim/faults", json={"kind": "rate_limit", "retry_after_s": 5, "times": 1})
    assert added.status_code == 201
    assert (await tanium.post("/_sim/faults", json={"kind": "explode"})).status_code == 400
    assert (await gql(tanium, "{ now }")).headers["Retry-After"] == "5"
    await tanium.post("/_sim/faults", json={"kind": "status", "status": 503})
    assert (await tanium.delete("/_sim/faults")).status_code == 204
    assert (await gql(tanium, "{ now }")).status_code == 200
    clock = (await tanium.post("/_sim/clock", json={"offset_s": 3600})).json()
    assert clock == {"now": "2026-04-14T18:00:00Z", "offset_s": 3600.0}
    assert (await gql(tanium, "{ now }")).json()["data"]["now"] == "2026-04-14T18:00:00Z"
    modes = await tanium.post("/_sim/modes", json={"asset_installed": False})
    assert modes.json()["asset_installed"] is False
    assert (await tanium.post("/_sim/modes", json={"bogus": 1})).status_code == 400
    assert (await tanium.get(f"{ASSET_PREFIX}/stats/count")).status_code == 404


# ---- determinism and scale -----------------------------------------------------------------------------------------


def _fingerprint(fleet: TaniumFleet) -> list[Any]:
    return (
        [
            (repr(ep), [tuple(a) for a in installed_applications(ep)])
            for ep in (*fleet.endpoints.values(), *fleet.aged_out.values(), *fleet.asset_only)
        ]
        + [repr(g) for g in fleet.groups.values()]
        + [repr(c) for c in fleet.id_changes]
    )


async def test_generation_is_deterministic() -> None:
    a = generate_fleet(seed=5, groups=4, endpoints=300, now=NOW)
    b = generate_fleet(seed=5, groups=4, endpoints=300, now=NOW)
    c = generate_fleet(seed=6, groups=4, endpoints=300, now=NOW)
    assert _fingerprint(a) == _fingerprint(b)
    assert _fingerprint(a) != _fingerprint(c)
    responses = []
    for fleet in (a, b):
        async with _client(create_app(fleet, clock=lambda: NOW)) as client:
            body = await gql(client, INVENTORY_DOC, {"first": 40, "withApps": True})
            responses.append(body.json())
    assert responses[0] == responses[1]


async def test_twenty_thousand_endpoints_generate_quickly() -> None:
    started = time.perf_counter()
    fleet = generate_fleet(seed=3, groups=12, endpoints=20_000, now=NOW)
    elapsed = time.perf_counter() - started
    assert len(fleet.endpoints) == 20_000
    assert len(fleet.aged_out) == 500
    assert elapsed < 10, f"generation took {elapsed:.1f}s"
    assert not hasattr(next(iter(fleet.endpoints.values())), "__dict__")  # slotted: no per-object dict
    async with _client(create_app(fleet, clock=lambda: NOW)) as client:
        page = (await gql(client, IDS_DOC, {"first": 1000})).json()["data"]["endpoints"]
    assert page["totalRecords"] == 20_000
    assert len(page["edges"]) == 1000


# ---- the real schema's limits (issue #13) --------------------------------------------------------------------------


async def test_endpoint_last_seen_takes_one_eid(tanium: httpx.AsyncClient, fleet: TaniumFleet, sim: TaniumSimulator) -> None:
    doc = "query($eids: [ID!]!) { endpointLastSeen(eids: $eids) }"
    eids = list(fleet.endpoints)[:3]
    # "despite accepting a list, only one EID can be specified": by default only the first is answered
    cut = (await gql(tanium, doc, {"eids": eids})).json()
    assert list(cut["data"]["endpointLastSeen"]) == eids[:1]
    sim.modes.last_seen_multi = "error"
    rejected = (await gql(tanium, doc, {"eids": eids})).json()
    assert rejected["data"]["endpointLastSeen"] is None and "only one EID" in rejected["errors"][0]["message"]
    assert list((await gql(tanium, doc, {"eids": eids[:1]})).json()["data"]["endpointLastSeen"]) == eids[:1]


async def test_cursors_die_after_one_hour_however_busy(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    page = (await gql(tanium, IDS_DOC, {"first": 1})).json()["data"]["endpoints"]
    cursor = page["pageInfo"]["endCursor"]
    for _ in range(14):  # 14 × 4 minutes: never idle 5 minutes, 56 minutes old
        sim.advance(4 * 60)
        body = (await gql(tanium, IDS_DOC, {"first": 1, "after": cursor})).json()
        assert "errors" not in body, body
        cursor = body["data"]["endpoints"]["pageInfo"]["endCursor"]
    sim.advance(5 * 60)  # 61 minutes
    body = (await gql(tanium, IDS_DOC, {"first": 1, "after": cursor})).json()
    assert body["data"]["endpoints"] is None and "maximum lifetime of 1 hour" in body["errors"][0]["message"]
    assert (await tanium.get("/_sim/state")).json()["cursor_max_lifetime_s"] == 3600


SORTED_DOC = """
query($first: Int, $after: Cursor, $sort: [EndpointFieldSort!]) {
  endpoints(first: $first, after: $after, sort: $sort) { totalRecords edges { node { id } } }
}
"""


async def test_order_is_undefined_without_sort(tanium: httpx.AsyncClient, fleet: TaniumFleet) -> None:
    async def ids(sort: Any = None) -> list[str]:
        body = (await gql(tanium, SORTED_DOC, {"first": 500, "sort": sort})).json()
        assert "errors" not in body, body
        return [e["node"]["id"] for e in body["data"]["endpoints"]["edges"]]

    unsorted_a, unsorted_b = await ids(), await ids()
    assert unsorted_a != unsorted_b and sorted(unsorted_a) == sorted(unsorted_b)  # each collection differs
    by_id = sorted(fleet.endpoints, key=int)
    assert await ids([{"path": "id"}]) == by_id == await ids([{"path": "id", "order": "asc"}])
    assert await ids([{"path": "id", "order": "desc"}]) == by_id[::-1]
    two = (await gql(tanium, SORTED_DOC, {"sort": [{"path": "id"}, {"path": "name"}]})).json()
    assert "up to one sort field" in two["errors"][0]["message"]
    bad_order = (await gql(tanium, SORTED_DOC, {"sort": [{"path": "id", "order": "ASC"}]})).json()
    assert "data" not in bad_order  # SortOrder is lower case: a variable coercion error


async def test_real_input_shapes(tanium: httpx.AsyncClient) -> None:
    # endpoints defaults first to 20
    body = (await gql(tanium, "{ endpoints { edges { node { id } } } }")).json()
    assert len(body["data"]["endpoints"]["edges"]) == 20
    # any/negated/op are non-null with defaults: an explicit null is rejected, leaving them out is fine
    doc = "query($f: EndpointFieldFilter) { endpoints(first: 1, filter: $f) { totalRecords } }"
    for explicit_null in ({"path": "name", "value": "x", "any": None}, {"memberOf": {"id": "1"}, "negated": None}):
        rejected = (await gql(tanium, doc, {"f": explicit_null})).json()
        assert "data" not in rejected and "errors" in rejected, rejected
    assert "errors" not in (await gql(tanium, doc, {"f": {"memberOf": {"id": "1"}, "maxAge": 600}})).json()
    # source.tds is an input object, not a boolean; the sensor input takes columns, not column
    assert "data" not in (await gql(tanium, "{ endpoints(source: { tds: true }) { totalRecords } }")).json()
    ok = (await gql(tanium, "{ endpoints(first: 1, source: { tds: { allNamespaces: false } }) { totalRecords } }")).json()
    assert "errors" not in ok
    column = '{ endpoints(first: 1) { edges { node { sensorReadings(sensors: [{ name: "Computer Name", column: "x" }]) { columns { name } } } } } }'
    assert "data" not in (await gql(tanium, column)).json()
    columns = '{ endpoints(first: 1) { edges { node { sensorReadings(sensors: [{ name: "Computer Name", columns: ["Computer Name"] }]) { columns { name } } } } } }'
    assert "errors" not in (await gql(tanium, columns)).json()
    groups = (await gql(tanium, "{ computerGroups(first: 1) { edges { node { type contentSetV2 { id name } modifiedTime } } } }")).json()
    assert "errors" not in groups and groups["data"]["computerGroups"]["edges"][0]["node"]["type"] in ("MANUAL", "STANDARD")


async def test_a_field_error_on_a_non_null_field_nulls_the_page(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    doc = "query($after: Cursor) { endpoints(first: 5, after: $after) { pageInfo { endCursor } edges { node { id memory { total } disks { total } } } } }"
    first = (await gql(tanium, doc)).json()
    assert "errors" not in first  # a first page is never hit: the fault is for the middle of a walk
    sim.modes.update({"field_fault": "memory.total", "field_fault_times": 1})
    broken = (await gql(tanium, doc, {"after": first["data"]["endpoints"]["pageInfo"]["endCursor"]})).json()
    assert broken["data"] == {"endpoints": None}  # memory.total → memory → node → edges → endpoints
    assert broken["errors"][0]["path"][:2] == ["endpoints", "edges"] and broken["errors"][0]["path"][-2:] == ["memory", "total"]
    sim.modes.update({"field_fault": "disks.total", "field_fault_times": 1})
    nullable = (await gql(tanium, doc, {"after": first["data"]["endpoints"]["pageInfo"]["endCursor"]})).json()
    edges = nullable["data"]["endpoints"]["edges"]  # disks.total is nullable: only that value is null
    assert len(edges) == 5 and any(d["total"] is None for d in edges[0]["node"]["disks"] or [{"total": None}])


async def test_missing_content_fails_its_fields(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    doc = "{ endpoints(first: 3) { edges { node { id name os { name } } } } }"
    user_doc = "{ endpoints(first: 3) { edges { node { id primaryUser { name email } } } } }"
    hw_doc = "{ endpoints(first: 3) { edges { node { id serialNumber } } } }"
    sim.modes.ad_query_installed = False
    missing = (await gql(tanium, user_doc)).json()
    assert missing["data"] == {"endpoints": None} and "Core AD Query Content" in missing["errors"][0]["message"]
    assert "errors" not in (await gql(tanium, hw_doc)).json() and "errors" not in (await gql(tanium, doc)).json()
    sim.modes.core_content_installed = False
    assert "Core Content" in (await gql(tanium, hw_doc)).json()["errors"][0]["message"]
    assert "errors" not in (await gql(tanium, doc)).json()  # the core fields need no content


async def test_asset_listing_in_either_envelope(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    top = (await tanium.get("/plugin/products/asset/v1/assets", params={"limit": 3})).json()
    assert set(top) == {"data", "meta"}
    sim.modes.update({"asset_envelope": "response"})
    wrapped = (await tanium.get("/plugin/products/asset/v1/assets", params={"limit": 3})).json()
    assert wrapped == {"response": top}
    with pytest.raises(ValueError, match="asset_envelope"):
        sim.modes.update({"asset_envelope": "nested"})


async def test_tokens_last_used_is_never_null(tanium: httpx.AsyncClient, sim: TaniumSimulator) -> None:
    sim.tokens.grant(sim.now(), notes="never used")
    body = (await gql(tanium, "{ myAPITokens { tokens { id lastUsed notes } } }")).json()
    rows = body["data"]["myAPITokens"]["tokens"]
    assert all(TIME_RE.match(r["lastUsed"]) for r in rows)
    assert next(r for r in rows if r["notes"] == "never used")["lastUsed"] == "0001-01-01T00:00:00Z"
