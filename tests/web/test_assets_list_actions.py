"""The assets list (issue #17): CSV export of the current view, bulk refresh / set client / archive,
and the OS column's tooltip."""

from __future__ import annotations

import csv
import io
import re

from tests.conftest import map_all, run_sync
from tests.web.test_ui_auth import csrf_of, login


async def test_csv_export_and_bulk_actions(http, state, tiny):
    await run_sync(http, state, tiny, "scopes")
    clients = await map_all(http, tiny)
    await run_sync(http, state, tiny, "devices")
    assert (await login(http, tiny.tenant.emails["admin"], tiny.tenant.password)).status_code == 303
    client_id = next(iter(clients.values()))
    page = await http.get(f"/assets?client_id={client_id}&sort=name&order=desc")
    assert "Export CSV" in page.text and 'title="Windows' in page.text  # the OS cell has its full text
    href = re.search(r'href="(/assets\.csv\?[^"]+)"', page.text).group(1).replace("&amp;", "&")
    r = await http.get(href)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    listed = (await http.get(f"/api/v1/assets?client_id={client_id}&page_size=500", headers=tiny.tenant.headers())).json()
    assert len(rows) == listed["total"] == 10 and {r["client"] for r in rows} == {listed["items"][0]["client_name"]}
    assert [r["name"] for r in rows] == sorted((r["name"] for r in rows), reverse=True)  # the view's order
    token = csrf_of(page.text)
    ids = [row["id"] for row in rows[:3]]
    other = list(clients.values())[1]
    back = f"/assets?client_id={client_id}"
    r = await http.post("/assets/bulk", data={"ids": ids, "bulk_action": "client", "bulk_client_id": other,
                                              "back": back, "csrf_token": token})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith(back + "&ok=")
    moved = (await http.get(f"/api/v1/assets?client_id={other}&page_size=500", headers=tiny.tenant.headers())).json()
    assert set(ids) <= {a["id"] for a in moved["items"]}
    r = await http.post("/assets/bulk", data={"ids": ids[:2], "bulk_action": "archive", "back": back,
                                              "csrf_token": token})  # fmt: skip
    assert "ok=Archived+2" in r.headers["location"]
    r = await http.post("/assets/bulk", data={"ids": ids[2:], "bulk_action": "refresh", "back": back,
                                              "csrf_token": token})  # fmt: skip
    assert "Refresh+requested+for+1+asset" in r.headers["location"]
    r = await http.post("/assets/bulk", data={"bulk_action": "archive", "back": back, "csrf_token": token})
    assert "error=Select+at+least+one" in r.headers["location"]
    shown = await http.get(r.headers["location"])
    assert "Select at least one asset first." in shown.text
    # A viewer may export but not change anything.
    http.cookies.clear()
    assert (await login(http, tiny.tenant.emails["viewer"], tiny.tenant.password)).status_code == 303
    viewer_page = await http.get("/assets")
    assert "Export CSV" in viewer_page.text and 'id="asset-bulk"' not in viewer_page.text
