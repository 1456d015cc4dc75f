"""PSA clients over REST: create, rename, archive, list, validation."""

from __future__ import annotations


async def test_client_lifecycle(http, tenant):
    h = tenant.headers()
    created = (await http.post("/api/v1/clients", json={"name": "  Contoso   Ltd "}, headers=h)).json()
    assert created["name"] == "Contoso Ltd"  # whitespace folded
    cid = created["id"]
    r = await http.patch(f"/api/v1/clients/{cid}", json={"name": "Contoso Limited"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Contoso Limited"
    r = await http.patch(f"/api/v1/clients/{cid}", json={"archived": True}, headers=h)
    assert r.json()["archived"] is True
    live = (await http.get("/api/v1/clients", headers=h)).json()
    assert cid not in {c["id"] for c in live["items"]}
    everything = (await http.get("/api/v1/clients?include_archived=true", headers=h)).json()
    assert cid in {c["id"] for c in everything["items"]}
    # An archived name can be reused by a new live client.
    assert (await http.post("/api/v1/clients", json={"name": "contoso limited"}, headers=h)).status_code == 201
    # ...and then restoring the archived one conflicts instead of creating a duplicate.
    r = await http.patch(f"/api/v1/clients/{cid}", json={"archived": False}, headers=h)
    assert r.status_code == 409


async def test_duplicate_and_invalid_names(http, tenant):
    h = tenant.headers()
    assert (await http.post("/api/v1/clients", json={"name": "Fabrikam"}, headers=h)).status_code == 201
    r = await http.post("/api/v1/clients", json={"name": "FABRIKAM"}, headers=h)
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": 5}, []):
        r = await http.post("/api/v1/clients", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await http.post("/api/v1/clients", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422
    r = await http.get("/api/v1/clients/not-a-uuid", headers=h)
    assert r.status_code == 422


async def test_list_search_sort_and_paging(http, tenant):
    h = tenant.headers()
    for name in ("Gamma Co", "alpha co", "Beta Co"):
        await http.post("/api/v1/clients", json={"name": name}, headers=h)
    page = (await http.get("/api/v1/clients?page_size=2&sort=name", headers=h)).json()
    assert [c["name"] for c in page["items"]] == ["alpha co", "Beta Co"]
    assert page["total"] == 3 and page["pages"] == 2
    page2 = (await http.get("/api/v1/clients?page_size=2&page=2", headers=h)).json()
    assert [c["name"] for c in page2["items"]] == ["Gamma Co"]
    found = (await http.get("/api/v1/clients?q=BETA", headers=h)).json()
    assert [c["name"] for c in found["items"]] == ["Beta Co"]
    assert (await http.get("/api/v1/clients?page_size=0", headers=h)).status_code == 422
