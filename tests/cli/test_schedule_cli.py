"""``rmmbridge integrations schedule``: list every schedule, change one, clear messages on bad input."""

from __future__ import annotations

import json
import uuid

from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS


def test_schedule_list_and_edit(cli, tactical_simulator):
    server, _ = tactical_simulator
    tenant = f"cli-sched-{uuid.uuid4().hex[:6]}"
    assert cli("tenant", "create", tenant).returncode == 0
    t = ("--tenant", tenant)
    added = cli("integrations", "add", "tacticalrmm", "--url", server.url, "--allow-insecure-url", "--auth-mode", "api_key",
                "--secrets-stdin", *t, stdin=json.dumps({"api_key": DEFAULT_CREDENTIALS.api_key}))
    assert added.returncode == 0, added.stderr

    listed = cli("integrations", "schedule", "tacticalrmm", "--json", *t)
    assert listed.returncode == 0, listed.stderr
    rows = {r["kind"]: r for r in json.loads(listed.stdout)}
    assert list(rows) == ["liveness", "devices", "alerts", "software"]
    assert (rows["liveness"]["enabled"], rows["liveness"]["interval_seconds"], rows["liveness"]["adaptive"]) == (
        True, 60, True)
    assert rows["devices"]["interval_seconds"] == 3600 and rows["software"]["enabled"] is False
    assert rows["devices"]["next_run_at"] is None  # not connected yet: nothing will run

    changed = cli("integrations", "schedule", "tacticalrmm", "devices", "5m", *t)
    assert changed.returncode == 0, changed.stderr
    assert "devices schedule every 5 min" in changed.stdout
    assert cli("integrations", "schedule", "tacticalrmm", "software", "1h", *t).returncode == 0
    assert "alerts schedule off" in cli("integrations", "schedule", "tacticalrmm", "alerts", "off", *t).stdout
    table = cli("integrations", "schedule", "tacticalrmm", *t)
    assert table.returncode == 0 and "every 5 min" in table.stdout and "every 1 h" in table.stdout
    rows = {r["kind"]: r for r in json.loads(cli("integrations", "schedule", "tacticalrmm", "--json", *t).stdout)}
    assert (rows["devices"]["interval_seconds"], rows["software"]["enabled"], rows["alerts"]["enabled"]) == (
        300, True, False)

    live = cli("integrations", "schedule", "tacticalrmm", "liveness", "45s", *t)
    assert live.returncode == 0 and "liveness schedule every 45 s" in live.stdout
    too_fast = cli("integrations", "schedule", "tacticalrmm", "liveness", "20s", *t)
    assert too_fast.returncode == 1 and "between 30 s and 15 min (got 20 s)" in too_fast.stderr
    too_short = cli("integrations", "schedule", "tacticalrmm", "devices", "90", *t)
    assert too_short.returncode == 1 and "between 5 min and 7 days (got 90 s)" in too_short.stderr
    assert "Traceback" not in too_short.stderr
    garbled = cli("integrations", "schedule", "tacticalrmm", "devices", "soon", *t)
    assert garbled.returncode == 1 and "'soon' is not an interval" in garbled.stderr
    unknown = cli("integrations", "schedule", "tacticalrmm", "coffee", "5m", *t)
    assert unknown.returncode == 1 and "has no 'coffee' schedule" in unknown.stderr
    missing = cli("integrations", "schedule", "tacticalrmm", "devices", *t)
    assert missing.returncode == 1 and "an interval (60s, 5m, 1h), on or off" in missing.stderr
    # Nothing was written by the refused commands.
    rows = {r["kind"]: r for r in json.loads(cli("integrations", "schedule", "tacticalrmm", "--json", *t).stdout)}
    assert rows["devices"]["interval_seconds"] == 300 and rows["liveness"]["interval_seconds"] == 45
