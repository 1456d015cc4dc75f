"""Devices per Tactical client before the first device sync (issue #17): Tactical's own
``GET /clients/`` (``ClientSerializer``, with ``agent_count`` per client and per site) in the
simulator, key for key, and the organization sync recording the counts the mapping page shows."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from html import escape

import httpx

from rmmbridge.simulators.tacticalrmm import (
    DEFAULT_API_KEY,
    DEFAULT_CREDENTIALS,
    ApiKey,
    Role,
    TacticalUser,
    create_app,
    default_users,
    generate_fleet,
)
from tests.conftest import run_sync
from tests.web.test_ui_auth import login

# Upstream clients/serializers.py, in its field order.
CLIENT_KEYS = ["id", "name", "server_policy", "workstation_policy", "alert_template", "block_policy_inheritance",
               "sites", "custom_fields", "agent_count", "maintenance_mode", "failing_checks"]  # fmt: skip
SITE_KEYS = ["id", "name", "server_policy", "workstation_policy", "alert_template", "client_name", "client",
             "custom_fields", "agent_count", "block_policy_inheritance", "maintenance_mode", "failing_checks"]  # fmt: skip


def _fleet():  # type: ignore[no-untyped-def]
    return generate_fleet(seed=23, clients=4, agents=70, sites_per_client=3, now=datetime.now(UTC))


def _per_client(fleet) -> Counter[int]:  # type: ignore[no-untyped-def]
    return Counter(fleet.client_id_of(a) for a in fleet.agents.values())


async def test_simulator_clients_tree_is_the_client_serializer() -> None:
    fleet = _fleet()
    restricted_site = next(s for s in fleet.sites.values() if s.client_id == 2)
    users = [*default_users(), TacticalUser("one", "x", role=Role.read_only(clients={1})),
             TacticalUser("site", "x", role=Role.read_only(sites={restricted_site.id})),
             TacticalUser("nolist", "x", role=Role(can_list_sites=True))]  # fmt: skip
    keys = [ApiKey("ONECLIENTKEY0000000000000000000A", "one"), ApiKey("ONESITEKEY000000000000000000000A", "site"),
            ApiKey("NOLISTKEY0000000000000000000000A", "nolist")]  # fmt: skip
    app = create_app(fleet, users=users, api_keys=keys)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://api.example.com") as c:
        r = await c.get("/clients/", headers={"X-API-KEY": DEFAULT_API_KEY})
        assert r.status_code == 200, r.text
        rows = r.json()
        assert [row["name"] for row in rows] == sorted(c.name for c in fleet.clients.values())
        per_client = _per_client(fleet)
        per_site = Counter(a.site_id for a in fleet.agents.values())
        for row in rows:
            assert list(row) == CLIENT_KEYS
            assert row["agent_count"] == per_client[row["id"]] and row["custom_fields"] == []
            assert [s["name"] for s in row["sites"]] == sorted(s["name"] for s in row["sites"])
            assert len(row["sites"]) == 3
            for site in row["sites"]:
                assert list(site) == SITE_KEYS
                assert site["client"] == row["id"] and site["client_name"] == row["name"]
                assert site["agent_count"] == per_site[site["id"]]
            assert sum(s["agent_count"] for s in row["sites"]) == row["agent_count"]
        assert sum(row["agent_count"] for row in rows) == len(fleet.agents)
        # Role-filtered like upstream's filter_by_role; the counts stay the whole client's.
        one = (await c.get("/clients/", headers={"X-API-KEY": keys[0].key})).json()
        assert [row["id"] for row in one] == [1] and one[0]["agent_count"] == per_client[1]
        by_site = (await c.get("/clients/", headers={"X-API-KEY": keys[1].key})).json()
        assert [row["id"] for row in by_site] == [2]
        assert [s["id"] for s in by_site[0]["sites"]] == [restricted_site.id]
        assert by_site[0]["agent_count"] == per_client[2]
        assert (await c.get("/clients/", headers={"X-API-KEY": keys[2].key})).status_code == 403
        assert (await c.get("/clients")).status_code == 301  # the trailing slash, as everywhere


async def test_scope_sync_records_counts_shown_before_any_device_sync(http, state, transport, tenant):  # type: ignore[no-untyped-def]
    fleet = _fleet()
    host = f"api-{uuid.uuid4().hex[:8]}.example.com"
    transport.add(host, create_app(fleet))
    h = tenant.headers()
    iid = (await http.post("/api/v1/integrations", json={"provider": "tacticalrmm"}, headers=h)).json()["id"]
    r = await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h, json={
        "instance_url": f"https://{host}", "auth_mode": "api_key", "values": {"api_key": DEFAULT_CREDENTIALS.api_key}})
    assert r.status_code == 200, r.text
    assert (await http.post(f"/api/v1/integrations/{iid}/test", headers=h)).json()["ok"]

    class Setup:
        pass

    setup = Setup()
    setup.tenant, setup.integration_id = tenant, iid  # type: ignore[attr-defined]
    run = await run_sync(http, state, setup, "scopes")  # type: ignore[arg-type]
    assert run["status"] == "succeeded", run
    mappings = (await http.get(f"/api/v1/integrations/{iid}/mappings", headers=h)).json()["items"]
    per_client = _per_client(fleet)
    assert {m["external_org_id"]: m["device_count"] for m in mappings} == {str(k): v for k, v in per_client.items()}
    assert all(m["asset_count"] == 0 for m in mappings)  # no device sync yet

    # The mapping page shows them: imported / in Tactical.
    assert (await login(http, tenant.emails["admin"], tenant.password)).status_code == 303
    page = await http.get(f"/settings/integrations/tacticalrmm/{iid}")
    assert page.status_code == 200
    for m in mappings:
        row = re.search(re.escape(escape(m["external_org_name"], quote=False)) + r".*?</tr>", page.text, re.S)
        assert row and f'0<span class="muted"> / {m["device_count"]}</span>' in row.group(0), m["external_org_name"]
