"""Bulk mapping (issue #17): match by name (exact and fuzzy, confirmed before writing), create PSA
clients for every unmapped organization, bulk map / unmap / auto-sync, auto-sync saved at once."""

from __future__ import annotations

import re

from rmmbridge.integrations.bulk_mapping import normalize_name
from tests.conftest import connect_tiny, run_sync
from tests.support.tinyrmm import make_fleet
from tests.web.test_ui_auth import csrf_of, login


def test_normalized_names() -> None:
    assert normalize_name("Redwood Logistics, Inc.") == normalize_name("redwood   logistics") == "redwood logistics"
    assert normalize_name("Café & Co GmbH") == "cafe"
    assert normalize_name("Inc") == "inc"  # nothing but noise: kept as it is


async def _setup(http, state, transport, tenant):  # type: ignore[no-untyped-def]
    fleet = make_fleet(orgs=4, devices=8)
    fleet.orgs.update({"org-0": "Redwood Logistics", "org-1": "Acme Dental Care", "org-2": "Blue Harbor",
                       "org-3": "Zephyr Labs"})  # fmt: skip
    setup = await connect_tiny(http, transport, tenant, fleet)
    await run_sync(http, state, setup, "scopes")
    h = tenant.headers()
    ids = {}
    for name in ("Redwood Logistics, Inc.", "Acme Dental Cares", "Harbor Freight", "Redwood Dental"):
        ids[name] = (await http.post("/api/v1/clients", json={"name": name}, headers=h)).json()["id"]
    orgs = (await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings", headers=h)).json()["items"]
    return setup, ids, {o["external_org_name"]: o["id"] for o in orgs}


async def test_match_confirm_create_and_bulk(http, state, transport, tenant):
    setup, clients, orgs = await _setup(http, state, transport, tenant)
    h, base = tenant.headers(), f"/api/v1/integrations/{setup.integration_id}/mappings-bulk"
    listing = f"/api/v1/integrations/{setup.integration_id}/mappings"
    found = (await http.post(base + "/match-by-name", headers=h)).json()
    by_org = {m["organization"]: m for m in found}
    assert by_org["Redwood Logistics"]["client_id"] == clients["Redwood Logistics, Inc."]
    assert by_org["Redwood Logistics"]["exact"] is True
    assert by_org["Acme Dental Care"]["client_id"] == clients["Acme Dental Cares"]
    assert by_org["Acme Dental Care"]["exact"] is False and 0.84 <= by_org["Acme Dental Care"]["score"] < 1
    assert "Blue Harbor" not in by_org and "Zephyr Labs" not in by_org  # nothing close enough: no guess
    # Nothing was written by matching.
    listed = (await http.get(listing, headers=h)).json()["items"]
    assert all(m["client_id"] is None for m in listed)
    # Confirm only the exact one.
    r = await http.post(base + "/apply-matches", headers=h, json={"matches": [
        {"mapping_id": by_org["Redwood Logistics"]["mapping_id"], "client_id": by_org["Redwood Logistics"]["client_id"]}
    ]})  # fmt: skip
    assert r.status_code == 200 and r.json()["updated"] == 1
    # Create clients for every other unmapped organization (none reused here but "Acme Dental Care" is new).
    r = await http.post(base + "/create-clients", headers=h)
    assert r.json() == {"updated": 3, "created_clients": 3, "reused_clients": 0}
    listed = {m["external_org_name"]: m for m in (await http.get(listing, headers=h)).json()["items"]}
    assert all(m["client_id"] for m in listed.values())
    assert listed["Redwood Logistics"]["client_id"] == clients["Redwood Logistics, Inc."]
    # Bulk: auto-sync off for two, then unmap them, then map both to one client.
    two = [orgs["Blue Harbor"], orgs["Zephyr Labs"]]
    r = await http.post(base, headers=h, json={"mapping_ids": two, "auto_sync_assets": False})
    assert r.json()["updated"] == 2
    r = await http.post(base, headers=h, json={"mapping_ids": two, "unmap": True})
    assert r.json()["updated"] == 2
    r = await http.post(base, headers=h, json={"mapping_ids": two, "client_id": clients["Harbor Freight"]})
    listed = {m["external_org_name"]: m for m in (await http.get(listing, headers=h)).json()["items"]}
    assert listed["Zephyr Labs"]["client_id"] == clients["Harbor Freight"] and not listed["Zephyr Labs"]["auto_sync_assets"]
    r = await http.post(base, headers=h, json={"mapping_ids": two})
    assert r.status_code == 200 and r.json()["updated"] == 0  # nothing asked, nothing changed
    r = await http.post(base, headers=tenant.headers("viewer"), json={"mapping_ids": two, "unmap": True})
    assert r.status_code == 403


async def test_ui_match_by_name_bulk_and_auto_sync(http, state, transport, tenant):
    setup, _clients, orgs = await _setup(http, state, transport, tenant)
    assert (await login(http, tenant.emails["admin"], tenant.password)).status_code == 303
    page_url = f"/settings/integrations/tinyrmm/{setup.integration_id}"
    page = await http.get(page_url + "?match=1")
    token = csrf_of(page.text)
    exact = re.search(r'name="match" value="([^"]+)" id="match-[^"]+" checked', page.text)
    close = re.search(r'name="match" value="([^"]+)" id="match-[^"]+" >', page.text)
    assert exact and close and "close (" in page.text
    r = await http.post(page_url + "/mappings-bulk/apply-matches", data={"match": [exact.group(1), close.group(1)],
                                                                          "csrf_token": token})  # fmt: skip
    assert r.status_code == 303 and "Mapped+2" in r.headers["location"]
    # Multi-select: auto-sync off for two rows in one post.
    r = await http.post(page_url + "/mappings-bulk", data={"ids": [orgs["Blue Harbor"], orgs["Zephyr Labs"]],
                                                           "bulk_action": "auto_off", "csrf_token": token})  # fmt: skip
    assert r.status_code == 303 and "error" not in r.headers["location"]
    # The auto-sync switch alone (what app.js posts on change), whatever the row's client select says.
    r = await http.post(page_url + f"/mappings/{orgs['Blue Harbor']}", data={
        "action": "auto_sync", "auto_sync__shown": "1", "auto_sync": "true", "csrf_token": token})  # fmt: skip
    assert r.status_code == 303
    listed = {m["external_org_name"]: m for m in (await http.get(
        f"/api/v1/integrations/{setup.integration_id}/mappings", headers=tenant.headers())).json()["items"]}  # fmt: skip
    assert listed["Blue Harbor"]["auto_sync_assets"] is True and listed["Blue Harbor"]["client_id"] is None
    assert listed["Zephyr Labs"]["auto_sync_assets"] is False
    r = await http.post(page_url + "/mappings-bulk/create-clients", data={"csrf_token": token})
    assert r.status_code == 303 and "Created+2" in r.headers["location"]
    r = await http.post(page_url + "/mappings-bulk", data={"bulk_action": "map", "csrf_token": token})
    assert "error=" in r.headers["location"]
