"""Saved views of the assets list (issue #17): the REST API (per user, per tenant, reasons for bad
input), the page's forms (post/redirect/get) and the CSV export following the chosen columns."""

from __future__ import annotations

import csv
import io
import re
import uuid
from html import unescape

from rmmbridge.assets import columns
from tests.conftest import map_all, run_sync
from tests.web.test_ui_auth import csrf_of, login

API = "/api/v1/asset-views"


async def test_views_are_per_user_and_per_tenant(http, tenant, other_tenant):
    admin, tech = tenant.headers("admin"), tenant.headers("technician")
    client_id = str(uuid.uuid4())
    body = {"name": "  Overdue   servers ", "filters": {"agent_status": "overdue", "asset_type": "server",
            "needs_reboot": True, "client_id": client_id, "sort": "name", "q": ""},
            "columns": ["os", "name", "serial", "client"]}  # fmt: skip
    r = await http.post(API, json=body, headers=admin)
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["name"] == "Overdue servers"  # spaces collapsed
    # Stored normalised: defaults and blanks dropped, flags as text, columns in the catalogue's order.
    assert view["filters"] == {"agent_status": "overdue", "asset_type": "server", "needs_reboot": "true",
                               "client_id": client_id}  # fmt: skip
    assert view["columns"] == ["name", "client", "os", "serial"]
    assert [v["id"] for v in (await http.get(API, headers=admin)).json()] == [view["id"]]

    # Another user of the same tenant sees none of it, and may use the same name.
    assert (await http.get(API, headers=tech)).json() == []
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"name": "mine now"}} if method == "PATCH" else {}
        r = await http.request(method, f"{API}/{view['id']}", headers=tech, **kwargs)
        assert r.status_code == 404, (method, r.text)
    r = await http.post(API, json={"name": "Overdue servers"}, headers=tech)
    assert r.status_code == 201 and r.json()["columns"] == ["name", "client", "type", "agent", "last_seen", "health",
                                                            "os", "user", "ip", "status"]  # fmt: skip
    # Another tenant: not found either.
    other = other_tenant.headers()
    assert (await http.get(f"{API}/{view['id']}", headers=other)).status_code == 404
    assert (await http.delete(f"{API}/{view['id']}", headers=other)).status_code == 404
    assert (await http.get(API, headers=other)).json() == []

    # Rename and overwrite; the owner's view is changed, nobody else's.
    r = await http.patch(f"{API}/{view['id']}", json={"name": "Servers to reboot", "columns": ["ip"]}, headers=admin)
    assert r.status_code == 200 and r.json()["name"] == "Servers to reboot" and r.json()["columns"] == ["name", "ip"]
    assert r.json()["filters"]["agent_status"] == "overdue"
    r = await http.post(API, json={"name": "Servers to reboot", "filters": {"status": "retired"}, "overwrite": True},
                        headers=admin)  # fmt: skip
    assert r.status_code == 200 and r.json()["id"] == view["id"] and r.json()["filters"] == {"status": "retired"}
    assert (await http.delete(f"{API}/{view['id']}", headers=admin)).status_code == 204
    assert (await http.get(f"{API}/{view['id']}", headers=admin)).status_code == 404
    assert (await http.get(API, headers=tech)).json()[0]["name"] == "Overdue servers"


async def test_bad_input_is_refused_with_its_reason(http, tenant):
    h = tenant.headers("viewer")  # a viewer may keep views too
    assert (await http.post(API, json={"name": "Mine"}, headers=h)).status_code == 201
    cases = [
        ({"name": "Mine"}, 409, "already have a view named"),
        ({"name": "x", "columns": ["name", "colour"]}, 422, "columns.1: Input should be 'name', 'client'"),
        ({"name": "x", "filters": {"colour": "red"}}, 422, "filters.colour: Extra inputs are not permitted"),
        ({"name": "x", "filters": {"agent_status": "sleepy"}}, 422, "filters.agent_status: Input should be 'online'"),
        ({"name": "x", "filters": {"client_id": "acme"}}, 422, "filters.client_id: Input should be a valid UUID"),
        ({"name": "x", "filters": {"q": "a" * 201}}, 422, "filters.q: String should have at most 200 characters"),
        ({"name": "x" * 101}, 422, "name: String should have at most 100 characters"),
        ({"name": "   "}, 422, "name: String should match pattern"),
        ({"name": "a\x01b"}, 422, "name: String should match pattern"),
        ({"name": "x", "extra": 1}, 422, "extra: Extra inputs are not permitted"),
    ]
    for body, status, reason in cases:
        r = await http.post(API, json=body, headers=h)
        assert r.status_code == status, (body, r.text)
        assert reason in r.text, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    views = (await http.get(API, headers=h)).json()
    assert [v["name"] for v in views] == ["Mine"]
    r = await http.post(API, json={"name": "Other"}, headers=h)
    r = await http.patch(f"{API}/{r.json()['id']}", json={"name": "Mine"}, headers=h)
    assert r.status_code == 409 and "already have a view named 'Mine'" in r.text
    schema = (await http.get("/api/v1/openapi.json", headers=h)).json()
    assert {"/api/v1/asset-views", "/api/v1/asset-views/{view_id}"} <= set(schema["paths"])
    # The schema's column keys are the catalogue's (the page, the CSV export and views share it).
    keys = schema["components"]["schemas"]["SavedViewIn"]["properties"]["columns"]["anyOf"][0]["items"]["enum"]
    assert tuple(keys) == columns.KEYS


async def test_page_forms_save_apply_rename_delete_and_csv_columns(http, state, tiny):
    await run_sync(http, state, tiny, "scopes")
    clients = await map_all(http, tiny)
    await run_sync(http, state, tiny, "devices")
    assert (await login(http, tiny.tenant.emails["technician"], tiny.tenant.password)).status_code == 303
    client_id = next(iter(clients.values()))
    # The column chooser: only the chosen columns are shown, and the CSV export follows them.
    listed = f"/assets?client_id={client_id}&sort=name&order=desc&col=name&col=serial&col=ip"
    page = await http.get(listed)
    assert page.status_code == 200
    heads = [unescape(re.sub(r"<[^>]+>|[▲▼↕]", "", h)).strip()
             for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page.text, re.S)]  # fmt: skip
    assert [h.split(",")[0] for h in heads if h and not h.startswith("Select")] == ["Name", "IP", "Serial number"]
    href = unescape(re.search(r'href="(/assets\.csv\?[^"]+)"', page.text).group(1))
    rows = list(csv.reader(io.StringIO((await http.get(href)).text)))
    assert rows[0] == ["name", "ip", "serial"] and len(rows) == 11
    assert [r[0] for r in rows[1:]] == sorted((r[0] for r in rows[1:]), reverse=True)

    # Save it (post/redirect/get), then it is in the picker and applies with its columns.
    token = csrf_of(page.text)
    query = unescape(re.search(r'name="query" value="([^"]*)"', page.text).group(1))
    r = await http.post("/assets/views", data={"name": "Client A by IP", "query": query, "csrf_token": token})
    assert r.status_code == 303 and "view=" in r.headers["location"], r.text
    shown = await http.get(r.headers["location"])
    assert "Saved the view “Client A by IP”." in shown.text
    view_id = re.search(r"view=([0-9a-f-]{36})", r.headers["location"]).group(1)
    assert f'<option value="{view_id}" selected>Client A by IP</option>' in shown.text
    r = await http.get(f"/assets/views/open?view_id={view_id}")
    assert r.status_code == 303
    location = r.headers["location"]
    assert f"client_id={client_id}" in location and "col=serial" in location and "order=desc" in location

    # The same name again: refused beside the field, what was typed kept; with overwrite: replaced.
    r = await http.post("/assets/views", data={"name": "Client A by IP", "query": "status=retired",
                                               "csrf_token": token})  # fmt: skip
    again = await http.get(r.headers["location"])
    assert 'id="view-name-error"' in again.text and "already have a view named" in again.text
    assert 'value="Client A by IP"' in again.text
    r = await http.post("/assets/views", data={"name": "Client A by IP", "query": "status=retired", "overwrite": "on",
                                               "csrf_token": token})  # fmt: skip
    assert "Overwrote" in unescape(r.headers["location"]).replace("+", " ")
    api_view = (await http.get(f"{API}/{view_id}", headers=tiny.tenant.headers("technician"))).json()
    assert api_view["filters"] == {"status": "retired"} and api_view["columns"][:3] == ["name", "client", "type"]

    # Rename, then delete; another user's session cannot touch it.
    r = await http.post(f"/assets/views/{view_id}/rename", data={"name": "Retired", "query": "", "csrf_token": token})
    assert r.status_code == 303 and "Renamed" in unescape(r.headers["location"]).replace("+", " ")
    r = await http.post(f"/assets/views/{view_id}/rename", data={"name": "", "query": "", "csrf_token": token})
    assert "error=Not+renamed" in r.headers["location"]
    http.cookies.clear()
    assert (await login(http, tiny.tenant.emails["admin"], tiny.tenant.password)).status_code == 303
    admin_page = await http.get("/assets")
    assert "Retired" not in re.sub(r"<select id=\"f-status\".*?</select>", "", admin_page.text, flags=re.S)
    r = await http.post(f"/assets/views/{view_id}/delete", data={"query": "", "csrf_token": csrf_of(admin_page.text)})
    assert "error=Not+deleted" in r.headers["location"]
    http.cookies.clear()
    assert (await login(http, tiny.tenant.emails["technician"], tiny.tenant.password)).status_code == 303
    token = csrf_of((await http.get("/assets")).text)
    r = await http.post(f"/assets/views/{view_id}/delete", data={"query": f"view={view_id}", "csrf_token": token})
    assert "Deleted" in unescape(r.headers["location"]).replace("+", " ") and "view=" not in r.headers["location"]
    assert (await http.get(API, headers=tiny.tenant.headers("technician"))).json() == []
