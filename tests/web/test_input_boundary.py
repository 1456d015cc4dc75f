"""Hostile input at the HTTP boundary (issue #14 items 3 and 6), on SQLite and PostgreSQL: a NUL
never reaches the database, an undecodable body gets the documented 422, state-dependent refusals
are 409, 405 says what is allowed, and the schema's bools are strict."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from rmmbridge.storage.models import Client

NUL_QUERIES = [
    "/api/v1/clients?q=ac%00me",
    "/api/v1/assets?q=%00",
    "/api/v1/alerts?status=active&q=x%00",
    "/api/v1/events?event_type=rmm.%00",
    "/api/v1/sync-runs?kind=%00",
    "/api/v1/clients?na%00me=x",
]


@pytest.mark.parametrize("url", NUL_QUERIES)
async def test_nul_in_a_query_string_is_a_422(http, tenant, url):
    r = await http.get(url, headers=tenant.headers())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "NUL" in r.json()["detail"]


async def test_nul_in_json_text_is_a_422_and_nothing_is_written(http, tenant, db):
    h = tenant.headers()
    before = await db.scalar(select(func.count()).select_from(Client).where(Client.tenant_id == tenant.tenant_id))
    for body in ('{"name": "Ac\\u0000me"}', '{"name": "x", "extra": ["\\u0000"]}', '{"name": "\\\\\\u0000"}'):
        r = await http.post("/api/v1/clients", content=body, headers={**h, "content-type": "application/json"})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == "body"
    # An escaped backslash followed by "u0000" is plain text, not a NUL.
    r = await http.post(
        "/api/v1/clients", content='{"name": "C:\\\\u0000 share"}', headers={**h, "content-type": "application/json"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "C:\\u0000 share"
    after = await db.scalar(select(func.count()).select_from(Client).where(Client.tenant_id == tenant.tenant_id))
    assert after == before + 1


async def test_nul_in_a_ui_form_is_a_422(http, tenant):
    r = await http.get("/clients?q=a%00b", headers=tenant.headers())
    assert r.status_code == 422


async def test_an_undecodable_body_is_the_documented_422(http, tenant):
    h = {**tenant.headers(), "content-type": "application/json"}
    for body in (b"\xff\xfe{", b'{"name": "\xc3\x28"}', b"{broken"):
        r = await http.post("/api/v1/clients", content=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    spec = (await http.get("/api/v1/openapi.json")).json()
    assert "422" in spec["paths"]["/api/v1/clients"]["post"]["responses"]


async def test_405_names_the_allowed_methods(http, tenant):
    r = await http.request("TRACE", "/api/v1/clients", headers=tenant.headers())
    assert r.status_code == 405
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    r = await http.delete("/api/v1/sync-runs", headers=tenant.headers())
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    r = await http.head("/api/v1/sync-runs", headers=tenant.headers())
    assert r.status_code == 405 and r.headers["allow"] == "GET"  # HEAD is not served: not listed


async def test_bools_are_strict(http, tenant):
    h = tenant.headers()
    client = (await http.post("/api/v1/clients", json={"name": f"Strict {uuid.uuid4().hex[:6]}"}, headers=h)).json()
    for value in (0, 1, "true", "yes"):
        r = await http.patch(f"/api/v1/clients/{client['id']}", json={"archived": value}, headers=h)
        assert r.status_code == 422, (value, r.text)
    r = await http.patch(f"/api/v1/clients/{client['id']}", json={"archived": True}, headers=h)
    assert r.status_code == 200 and r.json()["archived"] is True


async def test_any_cursor_the_schema_allows_is_served(http, tenant):
    h = tenant.headers("viewer")
    for cursor in ("0-" + "0" * 32, "999999999999999999-" + "f" * 32):
        r = await http.get("/api/v1/events", params={"cursor": cursor}, headers=h)
        assert r.status_code == 200, r.text
    for cursor in ("garbage", "1-" + "0" * 31, "9999999999999999999-" + "0" * 32, "MXwwMQ=="):
        r = await http.get("/api/v1/events", params={"cursor": cursor}, headers=h)
        assert r.status_code == 422, cursor


async def test_state_refusals_are_409_and_documented(http, tenant):
    h = tenant.headers()
    created = await http.post("/api/v1/integrations", json={"provider": "tinyrmm"}, headers=h)
    iid = created.json()["id"]
    for method, path, kwargs in (
        ("POST", f"/api/v1/integrations/{iid}/test", {"content": b"null"}),
        ("POST", f"/api/v1/integrations/{iid}/sync/devices", {"content": b"null"}),
        ("POST", f"/api/v1/integrations/{iid}/sync/alerts", {}),
        ("POST", f"/api/v1/integrations/{iid}/webhook/rotate", {}),
        ("POST", f"/api/v1/integrations/{iid}/webhook/reveal", {}),
    ):
        r = await http.request(method, path, headers={**h, "content-type": "application/json"}, **kwargs)
        assert r.status_code == 409, (path, r.status_code, r.text)
        assert r.json()["type"].endswith("/wrong-state") and r.json()["detail"]
    spec = (await http.get("/api/v1/openapi.json")).json()["paths"]
    assert "409" in spec["/api/v1/integrations/{integration_id}/test"]["post"]["responses"]
    assert "409" in spec["/api/v1/integrations/{integration_id}/sync/{kind}"]["post"]["responses"]
    assert "409" in spec["/api/v1/integrations/{integration_id}/webhook/reveal"]["post"]["responses"]
