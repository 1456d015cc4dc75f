"""`rmmbridge alerts …` and `rmmbridge integrations provision-webhook` as separate processes against
a Tactical simulator on a loopback port."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, generate_fleet
from rmmbridge.simulators.tacticalrmm import create_app as simulator_app
from tests.support.live_server import SimulatorServer


def test_alerts_and_provisioning_from_the_cli(cli) -> None:  # type: ignore[no-untyped-def]
    fleet = generate_fleet(seed=8, clients=2, agents=6, sites_per_client=1, now=datetime.now(UTC))
    sim = simulator_app(fleet, allowed_hosts=None)
    sim.state.actions.add_template("Default", default=True)
    with SimulatorServer(sim) as server:
        tenant = f"cli-alerts-{uuid.uuid4().hex[:6]}"
        assert cli("tenant", "create", tenant).returncode == 0
        t = ("--tenant", tenant)
        added = cli("integrations", "add", "tacticalrmm", "--url", server.url, "--allow-insecure-url", "--auth-mode", "api_key",
                    "--secrets-stdin", "--json", *t, stdin=json.dumps({"api_key": DEFAULT_CREDENTIALS.api_key}))  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert cli("integrations", "test", "tacticalrmm", *t).returncode == 0
        assert cli("sync", "run", "tacticalrmm", "scopes", "--wait", *t).returncode == 0
        for m in json.loads(cli("mappings", "list", "tacticalrmm", "--json", *t).stdout)["items"]:
            assert cli("mappings", "create-client", "tacticalrmm", m["external_org_id"], *t).returncode == 0
        agents = list(fleet.agents.values())
        opened = [fleet.add_alert(a.pk, "check", "warning", check_id=50 + i) for i, a in enumerate(agents[:2])]
        assert cli("sync", "run", "tacticalrmm", "alerts", "--wait", *t).returncode == 0

        listed = cli("alerts", "list", "--status", "active", "--source", "poll", "--json", *t)
        assert listed.returncode == 0, listed.stderr
        items = {a["external_alert_id"]: a for a in json.loads(listed.stdout)["items"]}
        first, second = items[str(opened[0].id)], items[str(opened[1].id)]
        assert cli("alerts", "list", "--severity", "bogus", *t).returncode != 0

        assert cli("alerts", "ack", first["id"], *t).returncode == 0
        resolved = cli("alerts", "resolve", first["id"], "--json", *t)
        assert resolved.returncode == 0, resolved.stderr
        assert json.loads(resolved.stdout)[0]["remote_state"] == "synced" and opened[0].resolved
        snoozed = cli("alerts", "snooze", second["id"], "--days", "2", *t)
        assert snoozed.returncode == 0 and opened[1].snoozed
        shown = cli("alerts", "show", first["id"], *t)
        assert shown.returncode == 0
        assert "acknowledged (user) by system:cli" in shown.stdout and "resolved_in_rmm (rmm)" in shown.stdout

        listed = cli("integrations", "webhook-templates", "tacticalrmm", "--json", *t)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        choices = json.loads(listed.stdout)["templates"]
        assert choices and all(c["active"] for c in choices) and json.loads(listed.stdout)["error"] is None
        plain = cli("integrations", "webhook-templates", "tacticalrmm", *t)
        assert plain.returncode == 0 and "applies to:" in plain.stdout, plain.stdout + plain.stderr

        provisioned = cli("integrations", "provision-webhook", "tacticalrmm", "--no-test", "--json", *t)
        assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
        assert json.loads(provisioned.stdout)["ok"] is True
        assert len(sim.state.actions.urlactions) == 2 and len(sim.state.actions.keystore) == 1
        again = cli("integrations", "provision-webhook", "tacticalrmm", "--no-test", *t)
        assert again.returncode == 0 and "created" not in again.stdout and "unchanged" in again.stdout
