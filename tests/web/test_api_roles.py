"""Every REST route as the three roles and as another tenant, with valid and invalid bodies."""

from __future__ import annotations

import pytest

from tests.conftest import connect_tiny, map_all, run_sync

READ, WRITE, ADMIN, SYNC = "read", "write", "admin", "sync"
ALLOWED = {  # which roles pass each permission class
    READ: {"admin", "technician", "viewer"},
    WRITE: {"admin", "technician"},
    SYNC: {"admin", "technician"},
    ADMIN: {"admin"},
}


@pytest.fixture
async def world(http, state, transport, tenant):
    setup = await connect_tiny(http, transport, tenant)
    await run_sync(http, state, setup, "scopes")
    clients = await map_all(http, setup)
    await run_sync(http, state, setup, "devices")
    h = tenant.headers()
    asset = (await http.get("/api/v1/assets?page_size=1", headers=h)).json()["items"][0]
    mapping = (await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings", headers=h)).json()["items"][0]
    run = (await http.get("/api/v1/sync-runs?page_size=1", headers=h)).json()["items"][0]
    setup.fleet.alerts = {
        "p1": {"id": "p1", "device": "dev-00001", "severity": "error", "message": "CPU", "active": True}
    }
    await run_sync(http, state, setup, "alerts")
    alert = (await http.get("/api/v1/alerts", headers=h)).json()["items"][0]
    ids = {
        "iid": setup.integration_id,
        "cid": next(iter(clients.values())),
        "aid": asset["id"],
        "mid": mapping["id"],
        "rid": run["id"],
        "alid": alert["id"],
    }
    return setup, ids


ROUTES = [
    # method, path, valid body, invalid body, permission
    ("GET", "/api/v1/providers", None, None, READ),
    ("POST", "/api/v1/integrations", {"provider": "tinypull"}, {"provider": ""}, ADMIN),
    ("GET", "/api/v1/integrations", None, None, READ),
    ("GET", "/api/v1/integrations/{iid}", None, None, READ),
    ("PATCH", "/api/v1/integrations/{iid}", {"name": "Renamed"}, {"settings": {"schedules": {"x": {}}}}, ADMIN),
    ("PUT", "/api/v1/integrations/{iid}/credentials", {"values": {"page_size": 10}}, {"values": {"nope": 1}}, ADMIN),
    ("POST", "/api/v1/integrations/{iid}/test", {}, {"totp_code": "abc"}, ADMIN),
    ("GET", "/api/v1/integrations/{iid}/webhook", None, None, READ),
    ("POST", "/api/v1/integrations/{iid}/webhook/rotate", None, None, ADMIN),
    ("POST", "/api/v1/integrations/{iid}/webhook/reveal", None, None, ADMIN),
    ("GET", "/api/v1/integrations/{iid}/mappings", None, None, READ),
    ("PATCH", "/api/v1/integrations/{iid}/mappings/{mid}", {"auto_sync_assets": True}, {"client_id": "nope"}, ADMIN),
    ("PATCH", "/api/v1/integrations/{iid}/mappings/{mid}", {"unmap": True}, {"unmap": "maybe"}, ADMIN),
    ("POST", "/api/v1/integrations/{iid}/mappings/{mid}/create-client", None, None, ADMIN),
    ("POST", "/api/v1/integrations/{iid}/sync/scopes", None, None, SYNC),
    ("POST", "/api/v1/integrations/{iid}/sync/bogus", None, None, None),
    ("GET", "/api/v1/sync-runs", None, None, READ),
    ("GET", "/api/v1/sync-runs/{rid}", None, None, READ),
    ("GET", "/api/v1/clients", None, None, READ),
    ("POST", "/api/v1/clients", {"name": "New {role}"}, {"name": ""}, WRITE),
    ("GET", "/api/v1/clients/{cid}", None, None, READ),
    ("PATCH", "/api/v1/clients/{cid}", {"name": "Renamed {role}"}, {"name": 7}, WRITE),
    ("GET", "/api/v1/assets", None, None, READ),
    ("GET", "/api/v1/assets/{aid}", None, None, READ),
    ("PATCH", "/api/v1/assets/{aid}", {"location": "Rack {role}"}, {"asset_type": "toaster"}, WRITE),
    ("POST", "/api/v1/assets/{aid}/refresh", None, None, WRITE),
    ("GET", "/api/v1/assets/{aid}/software", None, None, READ),
    ("GET", "/api/v1/assets/{aid}/software/counts", None, None, READ),
    ("GET", "/api/v1/alerts", None, None, READ),
    ("GET", "/api/v1/alerts/{alid}", None, None, READ),
    ("GET", "/api/v1/events", None, None, READ),
    ("POST", "/api/v1/integrations/{iid}/disconnect", None, None, ADMIN),  # last: it ends the integration
]


def _fill(template, ids, role):
    if isinstance(template, dict):
        return {k: _fill(v, ids, role) for k, v in template.items()}
    if isinstance(template, str):
        return template.format(**ids, role=role)
    return template


async def test_every_route_by_role_tenant_and_body(http, state, world, other_tenant):
    from rmmbridge.sync.runner import runner_of

    setup, ids = world
    for method, path, body, bad, permission in ROUTES:
        url = path.format(**ids)
        for role in ("admin", "technician", "viewer"):
            kwargs = {"json": _fill(body, ids, role)} if body is not None else {}
            r = await http.request(method, url, headers=setup.tenant.headers(role), **kwargs)
            if permission is None:  # an invalid path: 422 (a viewer may be refused first with 403)
                assert r.status_code == 422 or (role == "viewer" and r.status_code == 403), (method, url, role)
            elif role in ALLOWED[permission]:
                assert r.status_code < 300, (method, url, role, r.status_code, r.text[:200])
            else:
                assert r.status_code == 403, (method, url, role, r.status_code)
                assert r.headers["content-type"].startswith("application/problem+json")
        if bad is not None:
            r = await http.request(method, url, headers=setup.tenant.headers(), json=bad)
            assert r.status_code == 422, (method, url, "bad body", r.status_code, r.text[:200])
            assert r.json()["detail"]
        if "{" in path:  # another tenant's token never reaches this tenant's objects
            r = await http.request(
                method,
                url,
                headers=other_tenant.headers(),
                **({"json": _fill(body, ids, "x")} if body is not None else {}),
            )
            assert r.status_code in (404, 422), (method, url, "other tenant", r.status_code)
            if permission is not None:
                assert r.status_code == 404, (method, url, r.text)
        r = await http.request(method, url)
        assert r.status_code == 401
    await runner_of(state).wait_all(timeout=60)


async def test_delete_integration_requires_disconnect(http, state, world):
    setup, ids = world
    h = setup.tenant.headers()
    r = await http.delete(f"/api/v1/integrations/{ids['iid']}", headers=h)
    assert r.status_code == 409
    await http.post(f"/api/v1/integrations/{ids['iid']}/disconnect", headers=h)
    r = await http.delete(f"/api/v1/integrations/{ids['iid']}", headers=setup.tenant.headers("technician"))
    assert r.status_code == 403
    r = await http.delete(f"/api/v1/integrations/{ids['iid']}", headers=h)
    assert r.status_code == 204
    asset = (await http.get(f"/api/v1/assets/{ids['aid']}", headers=h)).json()
    assert asset["rmm_integration_id"] is None and asset["rmm_device_id"]  # kept, detached


async def test_events_follow_changes_with_a_cursor(http, world):
    setup, _ = world
    h = setup.tenant.headers()
    first = (await http.get("/api/v1/events?limit=5", headers=h)).json()
    assert len(first["items"]) == 5 and first["has_more"]
    seen = [e["id"] for e in first["items"]]
    cursor = first["next_cursor"]
    while True:
        page = (await http.get(f"/api/v1/events?limit=50&cursor={cursor}", headers=h)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert len(seen) == len(set(seen))
    types = {e["event_type"] for e in (await http.get("/api/v1/events?limit=500", headers=h)).json()["items"]}
    assert {"asset.created", "integration.sync_started", "integration.sync_finished"} <= types
    created = (await http.get("/api/v1/events?event_type=asset.created&limit=500", headers=h)).json()
    assert len(created["items"]) == 30
    assert (await http.get("/api/v1/events?cursor=garbage!!", headers=h)).status_code == 422
