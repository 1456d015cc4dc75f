"""API tokens, roles and tenant isolation over the REST API."""

from __future__ import annotations

from sqlalchemy import select, text

from rmmbridge.storage.models import ApiToken


async def test_missing_and_garbage_tokens_get_401(http):
    r = await http.get("/api/v1/clients")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await http.get("/api/v1/clients", headers={"Authorization": "Bearer rmb_not-a-real-token"})
    assert r.status_code == 401


async def test_token_is_stored_hashed_with_last4_only(http, tenant, db):
    raw = tenant.tokens["admin"]
    rows = (await db.scalars(select(ApiToken).where(ApiToken.tenant_id == tenant.tenant_id))).all()
    assert len(rows) == 3
    assert raw[-4:] in {r.last4 for r in rows}
    for row in rows:
        assert raw not in row.token_digest and len(row.token_digest) == 64
    # Nowhere in the table does the plaintext appear.
    dump = " ".join(str(v) for r in (await db.execute(text("SELECT * FROM api_tokens"))).all() for v in r)
    assert raw not in dump


async def test_revoked_token_gets_401_and_last_use_is_recorded(http, tenant, state):
    from rmmbridge.storage.db import unit_of_work
    from rmmbridge.tenancy import service

    headers = tenant.headers("viewer")
    assert (await http.get("/api/v1/clients", headers=headers)).status_code == 200
    async with unit_of_work(state.sessionmaker) as db:
        row = await db.scalar(
            select(ApiToken).where(ApiToken.tenant_id == tenant.tenant_id, ApiToken.name == "viewer token")
        )
        assert row.last_used_at is not None
        await service.revoke_api_token(db, tenant.tenant_id, row.id)
    r = await http.get("/api/v1/clients", headers=headers)
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


async def test_tenant_b_never_sees_tenant_a_clients(http, tenant, other_tenant):
    r = await http.post("/api/v1/clients", json={"name": "Acme Dental"}, headers=tenant.headers())
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    # Direct access by id: 404, not 403 (existence is not revealed).
    for method, kwargs in (("get", {}), ("patch", {"json": {"name": "stolen"}})):
        r = await getattr(http, method)(f"/api/v1/clients/{client_id}", headers=other_tenant.headers(), **kwargs)
        assert r.status_code == 404, (method, r.text)
    listed = (await http.get("/api/v1/clients?page_size=500", headers=other_tenant.headers())).json()
    assert client_id not in {c["id"] for c in listed["items"]}
    # The owner still sees it, unchanged.
    mine = (await http.get(f"/api/v1/clients/{client_id}", headers=tenant.headers())).json()
    assert mine["name"] == "Acme Dental"


async def test_roles_are_enforced_per_route(http, tenant):
    r = await http.post("/api/v1/clients", json={"name": "By viewer"}, headers=tenant.headers("viewer"))
    assert r.status_code == 403
    assert "clients:write" in r.json()["detail"]
    r = await http.post("/api/v1/clients", json={"name": "By technician"}, headers=tenant.headers("technician"))
    assert r.status_code == 201
