"""Schema-valid requests the fuzz stage found answered 422 (or schema-invalid ones accepted) on the
event delivery, alert and identity routes, pinned on SQLite and PostgreSQL (issue #14, item 6)."""

from __future__ import annotations

import uuid


async def test_subscription_patch_null_means_no_change(http, tenant):
    h = tenant.headers()
    r = await http.post("/api/v1/webhook-subscriptions", json={"name": "n", "url": "https://example.com/h"}, headers=h)
    assert r.status_code == 201, r.text
    sub = r.json()["subscription"]
    r = await http.patch(
        f"/api/v1/webhook-subscriptions/{sub['id']}",
        json={"name": None, "url": None, "format": None, "enabled": None, "event_types": None},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("name", "url", "format", "enabled")} == {
        "name": "n",
        "url": "https://example.com/h",
        "format": "standard",
        "enabled": True,
    }


async def test_integers_as_json_schema_means_them(http, tenant):
    h = tenant.headers()
    r = await http.post("/api/v1/webhook-subscriptions", json={"name": "n", "url": "https://example.com/h"}, headers=h)
    sub = r.json()["subscription"]["id"]
    rule = {"name": "r", "subscription_ids": [sub], "group_window_s": 3089.0, "position": 5.0}
    r = await http.post("/api/v1/alert-routes", json=rule, headers=h)
    assert r.status_code == 201 and r.json()["group_window_s"] == 3089, r.text  # 3089.0 is an integer
    for bad in ({"group_window_s": "5"}, {"group_window_s": 1.5}, {"group_window_s": True}):
        r = await http.post("/api/v1/alert-routes", json={**rule, **bad}, headers=h)
        assert r.status_code == 422, (bad, r.text)
    r = await http.post(
        "/api/v1/identity/candidates/bulk-accept", json={"client_id": str(uuid.uuid4()), "min_score": False}, headers=h
    )
    assert r.status_code == 422, r.text  # false is not 0


async def test_alert_bulk_snooze_needs_days_by_the_document(http, tenant):
    h = tenant.headers()
    body = {"action": "snooze", "alert_ids": [str(uuid.uuid4())], "days": None}
    r = await http.post("/api/v1/alerts/bulk", json=body, headers=h)
    assert r.status_code == 422 and "days" in r.text, r.text
    spec = (await http.get("/api/v1/openapi.json", headers=h)).json()
    variants = spec["components"]["schemas"]["BulkSnoozeIn"]
    assert "days" in variants["required"]
    # 405 lists what /alerts/bulk serves, not what /alerts/{alert_id} would
    for method in ("OPTIONS", "GET", "DELETE"):  # GET used to reach /alerts/{alert_id}: 422 "not a UUID"
        r = await http.request(method, "/api/v1/alerts/bulk", headers=h)
        assert r.status_code == 405 and r.headers["allow"] == "POST", (method, r.headers, r.text)


async def test_identity_same_asset_twice_is_404_then_409(http, tenant):
    h = tenant.headers()
    same = str(uuid.uuid4())
    r = await http.post("/api/v1/identity/merge", json={"keep": same, "other": same}, headers=h)
    assert r.status_code == 404, r.text  # no such asset: said first
    r = await http.post("/api/v1/identity/never-merge", json={"asset_a": same, "asset_b": same}, headers=h)
    assert r.status_code == 404, r.text
    r = await http.put("/api/v1/identity/policy", json={"precedence": {"hardware": ["tinyrmm"]}}, headers=h)
    assert r.status_code == 200 and r.json()["precedence"]["hardware"] == ["tinyrmm"], r.text


async def test_identity_merging_an_asset_with_itself_is_409(http, state, tenant):
    from rmmbridge.storage.db import unit_of_work
    from rmmbridge.storage.models import Asset

    asset_id = uuid.uuid4()
    async with unit_of_work(state.sessionmaker) as s:
        s.add(Asset(tenant_id=tenant.tenant_id, id=asset_id, name="one", asset_type="server"))
    h = tenant.headers()
    r = await http.post("/api/v1/identity/merge", json={"keep": str(asset_id), "other": str(asset_id)}, headers=h)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "other", r.text
    body = {"asset_a": str(asset_id), "asset_b": str(asset_id)}
    r = await http.post("/api/v1/identity/never-merge", json=body, headers=h)
    assert r.status_code == 409, r.text


async def test_blank_names_and_nul_are_stated_by_the_document(http, tenant):
    h = tenant.headers()
    for blank in (" ", "\u3000", "\x1c"):
        r = await http.post("/api/v1/clients", json={"name": blank}, headers=h)
        assert r.status_code == 422 and "must not be blank" in r.text, (blank, r.text)
    spec = (await http.get("/api/v1/openapi.json", headers=h)).json()
    precedence = spec["components"]["schemas"]["Precedence"]
    assert precedence["additionalProperties"] is False
    assert precedence["properties"]["hardware"]["anyOf"][0]["items"]["pattern"] == "^[^\\x00]*$"
