"""The whole Tactical flow through the CLI, as separate processes, against a simulator on a port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest

from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, create_app, generate_fleet
from tests.conftest import TEST_SECRET_KEY
from tests.support.live_server import LiveServer


@pytest.fixture(scope="module")
def simulator():
    fleet = generate_fleet(seed=5, clients=3, agents=40, sites_per_client=2, now=datetime.now(UTC))
    app = create_app(fleet, allowed_hosts=None)

    class _Probe:  # LiveServer waits for /healthz; the simulator answers "/" — wrap it
        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/healthz":
                scope = {**scope, "path": "/", "raw_path": b"/"}
            await self.inner(scope, receive, send)

    with LiveServer(_Probe(app)) as server:
        yield server, fleet


@pytest.fixture
def cli(database_url, tmp_path):
    env = {**os.environ, "RMMBRIDGE_DATABASE_URL": database_url, "RMMBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
           "RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS": "true", "NO_COLOR": "1", "COLUMNS": "200"}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rmmbridge", *args], input=stdin, env=env,
                              capture_output=True, text=True, timeout=180, cwd=tmp_path)

    return run


def test_add_test_sync_map_sync_list(cli, simulator):
    server, fleet = simulator
    tenant = f"cli-flow-{uuid.uuid4().hex[:6]}"
    assert cli("tenant", "create", tenant).returncode == 0
    t = ("--tenant", tenant)
    # A secret on argv is impossible: there is no option for it.
    bad = cli("integrations", "add", "tacticalrmm", "--api-key", "x", *t)
    assert bad.returncode != 0
    added = cli("integrations", "add", "tacticalrmm", "--url", server.url, "--auth-mode", "api_key",
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

    mappings = json.loads(cli("mappings", "list", "tacticalrmm", "--json", *t).stdout)
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

    assets = json.loads(cli("assets", "list", "--json", "--limit", "500", *t).stdout)
    assert len(assets) == expected
    assert {a["agent_status"] for a in assets} <= {"online", "offline", "overdue"}
    one = cli("assets", "show", assets[0]["id"], "--json", *t)
    assert one.returncode == 0 and json.loads(one.stdout)["details"]["os_name"]

    runs = json.loads(cli("runs", "list", "--json", *t).stdout)
    assert [r["kind"] for r in runs][:2] == ["devices", "scopes"]

    # The liveness pass, device health filters and the summary (issue #11).
    liveness = cli("sync", "run", "tacticalrmm", "liveness", "--wait", "--json", *t)
    assert liveness.returncode == 0, liveness.stderr
    pass_run = json.loads(liveness.stdout)
    assert pass_run["status"] == "succeeded" and pass_run["counters"]["requests"] == 2  # one per mapped client
    reboot = json.loads(cli("assets", "list", "--needs-reboot", "--json", "--limit", "500", *t).stdout)
    assert {a["rmm_device_id"] for a in reboot} == {
        a.agent_id for a in fleet.agents.values() if a.needs_reboot and fleet.client_id_of(a) in mapped_clients
    }
    assert all(a["health"]["needs_reboot"] is True for a in reboot)
    assert json.loads(cli("assets", "list", "--stale", "--json", *t).stdout) == []
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
