"""``rmmbridge delivery …`` as an operator runs it (a separate process on the test database)."""

from __future__ import annotations

import json

from tests.delivery.support import Receiver, drain, emit_events


async def test_subscribe_test_log_replay_and_routes(cli, state, tenant):
    from standardwebhooks import Webhook

    from rmmbridge.delivery.worker import DeliveryWorker

    t = ["--tenant", tenant.name]
    assert "asset.updated" in cli("delivery", "types").stdout
    with Receiver() as receiver:
        r = cli("delivery", "subscribe", "psa", receiver.url, "-e", "asset.created", "--json", *t)
        assert r.returncode == 0, r.stderr
        created = json.loads(r.stdout)
        sub_id, secret = created["subscription"]["id"], created["secret"]
        r = cli("delivery", "test", "psa", *t)
        assert r.returncode == 0 and "queued" in r.stdout, r.stderr
        [event_id] = await emit_events(state, tenant.tenant_id, 1)
        worker = DeliveryWorker(state, nats_url="")
        try:
            await drain(worker)
            log = json.loads(cli("delivery", "log", "psa", "--json", *t).stdout)
            assert {d["status"] for d in log} == {"succeeded"} and len(log) == 2
            one = next(d for d in log if d["event_id"] == event_id)
            r = cli("delivery", "replay", sub_id, "--delivery", one["id"], *t)
            assert r.returncode == 0, r.stderr
            await drain(worker)
        finally:
            await worker.aclose()
        assert receiver.ids()[event_id] == 2
        assert all(Webhook(secret).verify(x.body, x.headers) for x in receiver.received)
    r = cli("delivery", "routes", "add", "crit", "--to", sub_id, "--severity", "critical", "--hours",
            "Europe/Berlin 0-4 08:00-18:00 outside", "--group-window", "600", *t)  # fmt: skip
    assert r.returncode == 0, r.stderr
    listed = cli("delivery", "routes", "list", *t).stdout
    assert "crit" in listed and "outside 08:00-18:00 Europe/Berlin" in listed
    assert cli("delivery", "routes", "dry-run", *t).returncode == 0
    # Bad input: one line, exit code 1, nothing written.
    r = cli("delivery", "subscribe", "x", "http://169.254.169.254/", *t)
    assert r.returncode == 1 and "link-local" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = cli("delivery", "routes", "add", "bad", "--to", sub_id, "--hours", "whenever", *t)
    assert r.returncode == 1 and "--hours" in r.stderr
    r = cli("delivery", "disable", "nope", *t)
    assert r.returncode == 1 and "no subscription" in r.stderr
