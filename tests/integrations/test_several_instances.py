"""Several integrations of one provider in one tenant (issue #17): each with its own name,
credentials, mappings, assets and webhook secret; the UI, API and CLI tell them apart."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from rmmbridge.storage.models import Asset, RmmAlert
from tests.conftest import connect_tiny, map_all, run_sync
from tests.web.test_ui_auth import csrf_of, login


async def test_two_instances_sync_and_receive_webhooks_apart(http, state, transport, tenant, db):
    eu = await connect_tiny(http, transport, tenant)
    us = await connect_tiny(http, transport, tenant)  # the same device ids on another server
    h = tenant.headers()
    # Both test servers report the very same machines (same serials): under the default policy
    # issue #19 would make them one asset each (tests/identity covers that). Here each server's
    # devices must stay its own, so every match waits for review.
    r = await http.put("/api/v1/identity/policy", json={"mode": "review"}, headers=h)
    assert r.status_code == 200, r.text
    listed = (await http.get("/api/v1/integrations", headers=h)).json()
    assert [i["name"] for i in listed] == ["TinyRMM", "TinyRMM 2"]  # unique names without asking
    for setup in (eu, us):
        await run_sync(http, state, setup, "scopes")
        await map_all(http, setup)
        run = await run_sync(http, state, setup, "devices")
        assert run["status"] == "succeeded", run
    per_integration = dict(
        (
            await db.execute(
                select(Asset.rmm_integration_id, func.count())
                .where(Asset.tenant_id == tenant.tenant_id)
                .group_by(Asset.rmm_integration_id)
            )
        ).all()
    )
    assert per_integration == {uuid.UUID(eu.integration_id): 30, uuid.UUID(us.integration_id): 30}

    secrets = {}
    for setup in (eu, us):
        r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/rotate", headers=h)
        secrets[setup.integration_id] = r.json()["secret"]
    assert len(set(secrets.values())) == 2
    # One URL for the provider: the secret says which integration the alert belongs to.
    body = json.dumps({"id": "alert-1", "device": "dev-00003", "severity": "error"})
    r = await http.post("/api/webhooks/tinyrmm", content=body, headers={"X-Tiny-Secret": secrets[us.integration_id]})
    assert r.status_code == 202, r.text
    alert = await db.scalar(select(RmmAlert).where(RmmAlert.tenant_id == tenant.tenant_id))
    assert alert is not None and alert.integration_id == uuid.UUID(us.integration_id)
    asset = await db.get(Asset, (tenant.tenant_id, alert.asset_id))
    assert asset is not None and asset.rmm_integration_id == uuid.UUID(us.integration_id)


async def test_names_are_unique_per_tenant(http, transport, tenant, other_tenant):
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "tinyrmm", "name": "Tiny EU"}, headers=h)
    assert r.status_code == 201, r.text
    r = await http.post("/api/v1/integrations", json={"provider": "tinyrmm", "name": "tiny eu "}, headers=h)
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "name"
    second = (await http.post("/api/v1/integrations", json={"provider": "tinyrmm"}, headers=h)).json()
    r = await http.patch(f"/api/v1/integrations/{second['id']}", json={"name": "TINY EU"}, headers=h)
    assert r.status_code == 409
    r = await http.patch(f"/api/v1/integrations/{second['id']}", json={"name": "Tiny US"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Tiny US"
    # Another tenant may use the same name.
    r = await http.post(
        "/api/v1/integrations", json={"provider": "tinyrmm", "name": "Tiny EU"}, headers=other_tenant.headers()
    )
    assert r.status_code == 201


async def test_ui_adds_another_and_pages_are_by_id(http, transport, tenant):
    first = await connect_tiny(http, transport, tenant)
    assert (await login(http, tenant.emails["admin"], tenant.password)).status_code == 303
    overview = await http.get("/settings/integrations")
    assert "Add another" in overview.text
    r = await http.post(
        "/settings/integrations/tinyrmm/setup", data={"name": "Tiny US", "csrf_token": csrf_of(overview.text)}
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/settings/integrations/tinyrmm/") and first.integration_id not in location
    page = await http.get(location.split("#")[0])
    assert page.status_code == 200 and "<h1>Tiny US</h1>" in page.text
    assert f"/settings/integrations/tinyrmm/{first.integration_id}" in page.text  # the sibling is linked
    # The provider's address opens the first integration; ?id= (older links) the named one.
    r = await http.get("/settings/integrations/tinyrmm")
    assert r.status_code == 303 and r.headers["location"] == f"/settings/integrations/tinyrmm/{first.integration_id}"
    overview = await http.get("/settings/integrations")
    assert "Tiny US" in overview.text and "TinyRMM" in overview.text
    # A taken name: not added, and the reason is shown.
    r = await http.post(
        "/settings/integrations/tinyrmm/setup",
        data={"name": "tiny us", "csrf_token": csrf_of(overview.text)},
        follow_redirects=True,
    )
    assert "already exists" in r.text
    # Rename with a taken name: inline error, what was typed kept, never a 500.
    page = await http.get(f"/settings/integrations/tinyrmm/{first.integration_id}")
    r = await http.post(
        f"/settings/integrations/tinyrmm/{first.integration_id}/name",
        data={"name": "Tiny US", "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 422 and 'value="Tiny US"' in r.text and "field-error" in r.text
