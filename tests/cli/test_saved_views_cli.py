"""`rmmbridge assets views list` (issue #17): every user's saved views, or one user's, as a real
subprocess at 80 columns."""

from __future__ import annotations

import json


async def test_views_list(cli, http, tenant, other_tenant):  # type: ignore[no-untyped-def]
    made = {}
    for role, name in (("admin", "Overdue servers"), ("technician", "Reboots")):
        r = await http.post("/api/v1/asset-views", headers=tenant.headers(role), json={
            "name": name, "filters": {"agent_status": "overdue"}, "columns": ["ip"]})  # fmt: skip
        assert r.status_code == 201, r.text
        made[role] = r.json()
    r = await http.post("/api/v1/asset-views", headers=other_tenant.headers(), json={"name": "Elsewhere"})
    assert r.status_code == 201
    t = ["--tenant", tenant.name]
    listed = cli("assets", "views", "list", *t, env={"COLUMNS": "80"})
    assert listed.returncode == 0, listed.stderr
    assert all(len(line) <= 80 for line in listed.stdout.splitlines())
    assert made["admin"]["id"] in listed.stdout and made["technician"]["id"] in listed.stdout  # ids never cut
    assert "Elsewhere" not in listed.stdout
    as_json = json.loads(cli("assets", "views", "list", *t, "--json").stdout)
    assert {(v["owner"], v["name"]) for v in as_json} == {(tenant.emails["admin"], "Overdue servers"),
                                                         (tenant.emails["technician"], "Reboots")}  # fmt: skip
    assert as_json[0]["columns"] == ["name", "ip"] and as_json[0]["filters"] == {"agent_status": "overdue"}
    one = json.loads(cli("assets", "views", "list", *t, "--user", tenant.emails["technician"], "--json").stdout)
    assert [v["name"] for v in one] == ["Reboots"]
    stranger = cli("assets", "views", "list", *t, "--user", "nobody@nowhere.example")
    assert stranger.returncode == 1 and "no user" in stranger.stderr and "Traceback" not in stranger.stderr
