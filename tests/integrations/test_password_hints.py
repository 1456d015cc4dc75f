"""Issue #14 item 14: nothing of a stored RMM password is shown (not even its last four
characters); API keys keep their last four."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from rmmbridge.storage.models import RmmIntegration


async def test_a_stored_password_shows_nothing_to_anyone(http, tenant, db):
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "tacticalrmm"}, headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    body = {"instance_url": f"https://rmm-{uuid.uuid4().hex[:6]}.invalid", "auth_mode": "password",
            "values": {"username": "sync-bot", "password": "hunter2-WXYZ"}}  # fmt: skip
    r = await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h, json=body)
    assert r.status_code == 200, r.text
    for role in ("admin", "technician", "viewer"):
        shown = (await http.get(f"/api/v1/integrations/{iid}", headers=tenant.headers(role))).json()
        assert shown["credentials"]["password"] == "••••", shown["credentials"]
        assert "WXYZ" not in str(shown)
        page = await http.get(f"/api/v1/integrations/{iid}", headers=tenant.headers(role))
        assert "WXYZ" not in page.text
    row = await db.scalar(select(RmmIntegration).where(RmmIntegration.id == uuid.UUID(iid)))
    assert row is not None and "WXYZ" not in str(row.credential_hints)
    # An API key keeps its last four: random, and they tell an admin which key is stored.
    body = {"auth_mode": "api_key", "values": {"api_key": "K" * 28 + "ABCD"}}
    r = await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["credentials"]["api_key"] == "••••ABCD"


async def test_hints_stored_before_the_fix_are_masked_when_shown(http, tenant, db):
    h = tenant.headers()
    iid = (await http.post("/api/v1/integrations", json={"provider": "tacticalrmm"}, headers=h)).json()["id"]
    row = await db.get(RmmIntegration, (tenant.tenant_id, uuid.UUID(iid)))
    assert row is not None
    row.credential_hints = {"password": "••••WXYZ", "api_key": "••••ABCD"}
    await db.commit()
    shown = (await http.get(f"/api/v1/integrations/{iid}", headers=tenant.headers("viewer"))).json()
    assert shown["credentials"] == {"password": "••••", "api_key": "••••ABCD"}
