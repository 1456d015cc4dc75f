"""Integrations: credentials, settings merge, test results, disconnect, mappings validation."""

from __future__ import annotations

from sqlalchemy import func, select

from rmmbridge.storage.models import Asset, RmmOrganizationMapping, TenantSecret
from tests.conftest import connect_tiny, map_all, run_sync


async def test_another_integration_of_a_provider_and_unknown_provider(http, tiny):
    h = tiny.tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "tinyrmm"}, headers=h)
    assert r.status_code == 201 and r.json()["name"] == "TinyRMM 2"  # several per provider (issue #17)
    r = await http.post("/api/v1/integrations", json={"provider": "nosuchrmm"}, headers=h)
    assert r.status_code == 404 and "known:" in r.json()["detail"]


async def test_credentials_validation_and_partial_replacement(http, tiny, db):
    h, iid = tiny.tenant.headers(), tiny.integration_id
    r = await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h, json={"values": {"bogus": "x"}})
    assert r.status_code == 422 and "bogus" in r.json()["detail"]
    r = await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h, json={"values": {"page_size": "many"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "values.page_size"
    # Changing a non-secret value keeps the stored API key (no retyping).
    r = await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h, json={"values": {"page_size": 7}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["settings"]["page_size"] == 7 and body["credentials"]["api_key"].endswith("3456")
    assert body["is_active"] is True  # saving credentials never silently switches syncs off
    r = await http.post(f"/api/v1/integrations/{iid}/test", headers=h)
    assert r.json()["ok"] is True
    # A wrong key: the named check fails with an actionable message, and the state says so.
    await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h, json={"values": {"api_key": "wrong-key-0000"}})
    r = (await http.post(f"/api/v1/integrations/{iid}/test", headers=h)).json()
    assert r["ok"] is False
    failed = [c for c in r["checks"] if not c["ok"]]
    assert failed[0]["name"] == "credentials" and failed[0]["fix"]
    assert r["integration"]["state"] == "needs_attention"
    secrets = (await db.scalars(select(TenantSecret.ciphertext).where(TenantSecret.tenant_id == tiny.tenant.tenant_id))).all()
    assert secrets and all(b"wrong-key-0000" not in bytes(c) for c in secrets)


async def test_settings_are_merged_never_replaced(http, tiny):
    h, iid = tiny.tenant.headers(), tiny.integration_id
    await http.patch(f"/api/v1/integrations/{iid}", headers=h,
                     json={"settings": {"schedules": {"devices": {"interval_minutes": 30}}}})
    r = await http.patch(f"/api/v1/integrations/{iid}", headers=h,
                         json={"settings": {"schedules": {"alerts": {"enabled": False}}}})
    s = r.json()["settings"]
    # The older spelling in minutes is accepted and stored in seconds.
    assert s["schedules"] == {"devices": {"interval_seconds": 1800}, "alerts": {"enabled": False}}
    assert s["page_size"] == 10  # provider setting untouched
    r = await http.patch(f"/api/v1/integrations/{iid}", headers=h,
                         json={"settings": {"schedules": {"devices": {"interval_minutes": 1}}}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "settings.schedules.devices.interval_seconds"
    r = await http.patch(f"/api/v1/integrations/{iid}", headers=h,
                         json={"settings": {"schedules": {"liveness": {"interval_seconds": 20}}}})
    assert r.status_code == 422 and "between 30 s and 15 min" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "settings.schedules.liveness.interval_seconds"
    r = await http.patch(f"/api/v1/integrations/{iid}", headers=h, json={"settings": {"schedules": {"coffee": {}}}})
    assert r.status_code == 422


async def test_disconnect_keeps_assets_and_mappings_and_deletes_secrets(http, state, tiny, db):
    h, iid = tiny.tenant.headers(), tiny.integration_id
    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    await run_sync(http, state, tiny, "devices")
    r = await http.post(f"/api/v1/integrations/{iid}/webhook/rotate", headers=h)
    assert r.status_code == 200
    r = await http.post(f"/api/v1/integrations/{iid}/disconnect", headers=h)
    body = r.json()
    assert body["state"] == "disconnected" and not body["is_active"] and body["credentials"] == {}
    assert body["webhook_configured"] is False and "kept" in body["state_message"]
    assert await db.scalar(select(func.count()).select_from(TenantSecret).where(
        TenantSecret.tenant_id == tiny.tenant.tenant_id)) == 0
    assert await db.scalar(select(func.count()).select_from(Asset).where(Asset.tenant_id == tiny.tenant.tenant_id)) == 30
    assert await db.scalar(select(func.count()).select_from(RmmOrganizationMapping).where(
        RmmOrganizationMapping.tenant_id == tiny.tenant.tenant_id)) == 3
    r = await http.post(f"/api/v1/integrations/{iid}/sync/devices", headers=h)
    assert r.status_code == 409 and "not active" in r.json()["detail"]


async def test_mapping_validation(http, state, transport, tenant, other_tenant):
    setup = await connect_tiny(http, transport, tenant)
    other = await connect_tiny(http, transport, other_tenant)
    await run_sync(http, state, setup, "scopes")
    await run_sync(http, state, other, "scopes")
    h = tenant.headers()
    mine = (await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings", headers=h)).json()["items"]
    theirs_client = (await http.post("/api/v1/clients", json={"name": "Theirs"}, headers=other_tenant.headers())).json()
    r = await http.patch(f"/api/v1/integrations/{setup.integration_id}/mappings/{mine[0]['id']}", headers=h,
                         json={"client_id": theirs_client["id"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "client_id"
    other_mappings = (await http.get(f"/api/v1/integrations/{other.integration_id}/mappings",
                                     headers=other_tenant.headers())).json()["items"]
    r = await http.patch(f"/api/v1/integrations/{setup.integration_id}/mappings/{other_mappings[0]['id']}",
                         headers=h, json={"auto_sync_assets": False})
    assert r.status_code == 404
    r = await http.get(f"/api/v1/integrations/{other.integration_id}/mappings", headers=h)
    assert r.status_code == 404


async def test_scope_that_disappears_is_flagged_not_deleted(http, state, tiny):
    await run_sync(http, state, tiny, "scopes")
    del tiny.fleet.orgs["org-2"]
    run = await run_sync(http, state, tiny, "scopes")
    assert run["counters"]["missing"] == 1
    items = (await http.get(f"/api/v1/integrations/{tiny.integration_id}/mappings",
                            headers=tiny.tenant.headers())).json()["items"]
    assert {m["external_org_id"]: m["missing_since"] is not None for m in items} == {
        "org-0": False, "org-1": False, "org-2": True}
    tiny.fleet.orgs["org-2"] = "Org C"
    run = await run_sync(http, state, tiny, "scopes")
    assert run["counters"]["revived"] == 1
