"""The whole Tactical flow through the CLI, as separate processes, against a simulator on a port."""

from __future__ import annotations

import json
import uuid

from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS


def test_add_test_sync_map_sync_list(cli, tactical_simulator):
    server, fleet = tactical_simulator
    tenant = f"cli-flow-{uuid.uuid4().hex[:6]}"
    assert cli("tenant", "create", tenant).returncode == 0
    t = ("--tenant", tenant)
    # A secret on argv is impossible: there is no option for it.
    bad = cli("integrations", "add", "tacticalrmm", "--api-key", "x", *t)
    assert bad.returncode != 0
    added = cli("integrations", "add", "tacticalrmm", "--url", server.url, "--allow-insecure-url", "--auth-mode", "api_key",
                "--secrets-stdin", "--json", *t, stdin=json.dumps({"api_key": DEFAULT_CREDENTIALS.api_key}))
    assert added.returncode == 0, added.stderr
    integ = json.loads(added.stdout)
    assert integ["credentials"]["api_key"].endswith(DEFAULT_CREDENTIALS.api_key[-4:])
    assert DEFAULT_CREDENTIALS.api_key not in added.stdout

    tested = cli("integrations", "test", integ["id"], "--json", *t)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert json.loads(tested.stdout)["ok"] is True

    scopes = cli("sync", "run", "tacticalrmm", "scopes", "--wait", "--json", *t)
    assert scopes.returncode == 0, scopes.stderr
    assert json.loads(scopes.stdout)["status"] == "succeeded"

    mappings = json.loads(cli("mappings", "list", "tacticalrmm", "--json", *t).stdout)["items"]
    assert len(mappings) == 3 and all(m["client_id"] is None for m in mappings)
    for m in mappings[:2]:
        made = cli("mappings", "create-client", "tacticalrmm", m["external_org_id"], "--json", *t)
        assert made.returncode == 0, made.stderr
    bad_map = cli("mappings", "set", "tacticalrmm", mappings[2]["id"], "--client", "No Such Client", *t)
    assert bad_map.returncode == 1 and "no client" in bad_map.stderr

    devices = cli("sync", "run", "tacticalrmm", "devices", "--wait", "--json", *t)
    assert devices.returncode == 0, devices.stderr
    run = json.loads(devices.stdout)
    mapped_clients = {int(m["external_org_id"]) for m in mappings[:2]}
    expected = sum(1 for a in fleet.agents.values() if fleet.client_id_of(a) in mapped_clients)
    assert run["status"] == "succeeded" and run["counters"]["created"] == expected

    page = json.loads(cli("assets", "list", "--json", "--limit", "500", *t).stdout)
    assets = page["items"]
    assert len(assets) == expected == page["total"]
    assert {a["agent_status"] for a in assets} <= {"online", "offline", "overdue"}
    one = cli("assets", "show", assets[0]["id"], "--json", *t)
    assert one.returncode == 0 and json.loads(one.stdout)["details"]["os_name"]

    runs = json.loads(cli("runs", "list", "--json", *t).stdout)["items"]
    assert [r["kind"] for r in runs][:2] == ["devices", "scopes"]

    # The liveness pass, device health filters and the summary (issue #11).
    liveness = cli("sync", "run", "tacticalrmm", "liveness", "--wait", "--json", *t)
    assert liveness.returncode == 0, liveness.stderr
    pass_run = json.loads(liveness.stdout)
    assert pass_run["status"] == "succeeded" and pass_run["counters"]["requests"] == 2  # one per mapped client
    reboot = json.loads(cli("assets", "list", "--needs-reboot", "--json", "--limit", "500", *t).stdout)["items"]
    assert {a["rmm_device_id"] for a in reboot} == {
        a.agent_id for a in fleet.agents.values() if a.needs_reboot and fleet.client_id_of(a) in mapped_clients
    }
    assert all(a["health"]["needs_reboot"] is True for a in reboot)
    assert json.loads(cli("assets", "list", "--stale", "--json", *t).stdout)["items"] == []
    assert cli("assets", "list", "--stale", "--agent-status", "online", *t).returncode == 1
    summary = json.loads(cli("assets", "summary", "--json", *t).stdout)
    assert summary["counts"]["total"] == expected and summary["counts"]["stale"] == 0
    assert summary["health"]["needs_reboot"] == len(reboot) and summary["data_as_of"]
    shown = cli("assets", "summary", *t)
    assert shown.returncode == 0 and "status as of" in shown.stdout and "need a reboot" in shown.stdout
    table = cli("assets", "list", "--agent-status", "overdue", *t)
    assert table.returncode == 0 and "assets" in table.stdout
    assert cli("assets", "list", "--agent-status", "sleepy", *t).returncode == 1
    assert cli("runs", "show", "not-a-uuid", *t).returncode == 1
    assert cli("sync", "run", "tacticalrmm", "everything", *t).returncode == 1
