"""NinjaOne through the CLI, as separate processes, against its simulator on a real port that closes
kept-alive connections: add (client credentials), test, sync, map, sync devices, configure the
webhook (PUT /v2/webhook) — the operator copies nothing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from rmmbridge.simulators.ninjaone import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, create_app, generate_fleet
from tests.support.live_server import SimulatorServer


def test_ninjaone_cli_flow(cli) -> None:  # type: ignore[no-untyped-def]
    fleet = generate_fleet(seed=8, orgs=2, devices=30, now=datetime.now(UTC))
    app = create_app(fleet)
    with SimulatorServer(app) as server:
        tenant = f"cli-ninja-{uuid.uuid4().hex[:6]}"
        assert cli("tenant", "create", tenant).returncode == 0
        t = ("--tenant", tenant)
        added = cli(
            "integrations",
            "add",
            "ninjaone",
            "--url",
            server.url,
            "--auth-mode",
            "client_credentials",
            "--set",
            "region=custom",
            "--set",
            f"client_id={DEFAULT_CLIENT_ID}",
            "--secrets-stdin",
            "--json",
            *t,
            stdin=json.dumps({"client_secret": DEFAULT_CLIENT_SECRET}),
        )
        assert added.returncode == 0, added.stderr
        iid = json.loads(added.stdout)["id"]
        assert DEFAULT_CLIENT_SECRET not in added.stdout
        tested = cli("integrations", "test", iid, "--json", *t)
        assert tested.returncode == 0 and json.loads(tested.stdout)["ok"], tested.stdout + tested.stderr
        assert cli("sync", "run", iid, "scopes", "--wait", "--json", *t).returncode == 0
        for m in json.loads(cli("mappings", "list", iid, "--json", *t).stdout)["items"]:
            assert cli("mappings", "create-client", iid, m["external_org_id"], "--json", *t).returncode == 0
        devices = cli("sync", "run", iid, "devices", "--wait", "--json", *t)
        assert devices.returncode == 0 and json.loads(devices.stdout)["status"] == "succeeded", devices.stdout
        provisioned = cli("integrations", "provision-webhook", iid, "--no-test", "--json", *t)
        assert provisioned.returncode == 0, provisioned.stderr
        conf = next(iter(app.state.sim.webhooks.values()))
        assert json.loads(provisioned.stdout)["ok"] and conf["url"].endswith("/api/webhooks/ninjaone")
        assert conf["headers"][0]["value"].startswith("whs_")
        assert conf["headers"][0]["value"] not in provisioned.stdout
        # A provider that cannot configure its RMM side: a one-line message, exit 1.
        bad = cli("integrations", "provision-webhook", str(uuid.uuid4()), *t)
        assert bad.returncode != 0 and bad.stderr.strip()
