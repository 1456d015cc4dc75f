"""NinjaOne gaps closed after the first cut, over HTTP against the simulator on SQLite and PostgreSQL:
poll-confirmed alert reconciliation (§6.1), webhook secret rotation with overlap and re-provisioning
(§7.1), organization activities and activity backfill (§6.2, §7.5), simulator checklist items (§9)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from rmmbridge.providers.ninjaone import HEADER
from rmmbridge.storage.models import RmmAlert
from tests.conftest import run_sync

from .test_flows import provisioned
from .test_section10 import _sim_event, approved


async def _alerts(db: Any, tenant: Any) -> dict[str, RmmAlert]:
    rows = (await db.scalars(select(RmmAlert).where(RmmAlert.tenant_id == tenant.tenant_id))).all()
    for row in rows:
        await db.refresh(row)
    return {a.external_alert_id: a for a in rows}


async def test_poll_resolves_only_poll_confirmed_alerts(http, state, transport, tenant, app, db) -> None:  # type: ignore[no-untyped-def]
    """§6.1: a webhook alert whose key /v2/alerts never listed (id-space mismatch, §6.3) survives
    every poll; an alert a poll once listed is resolved when a later complete poll omits it."""
    setup = await provisioned(http, state, transport, tenant, app)
    conf = next(iter(setup.sim.webhooks.values()))
    secret = conf["headers"][0]["value"]
    device = next(iter(approved(setup.fleet)))
    # A delivery keyed on a series uid that /v2/alerts never shows.
    foreign = str(uuid.uuid4())
    r = await http.post(
        "/api/webhooks/ninjaone",
        json={
            "id": 990001,
            "activityTime": 1742391675.556,
            "deviceId": device,
            "seriesUid": foreign,
            "activityType": "CONDITION",
            "statusCode": "TRIGGERED",
            "sourceConfigUid": "cfg-1",
            "message": "disk low",
        },
        headers={HEADER: secret},
    )
    assert r.status_code == 202, r.text
    # A webhook alert the poll does list (the simulator's uid = seriesUid): confirmed by the poll.
    trig = (await _sim_event(setup, {"kind": "trigger", "deviceId": device}))["sent"][0]
    confirmed = trig["seriesUid"]
    assert confirmed in setup.fleet.alerts
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "succeeded", run
    rows = await _alerts(db, tenant)
    assert rows[foreign].status == "active" and not rows[foreign].poll_seen
    assert rows[confirmed].poll_seen and rows[confirmed].webhook_seen
    polled_only = next(u for u in setup.fleet.alerts if u != confirmed)
    assert rows[polled_only].poll_seen
    # NinjaOne stops listing both poll-confirmed alerts (reset without a delivery): the next complete
    # poll resolves them, and still leaves the never-polled webhook alert alone.
    setup.fleet.alerts.pop(confirmed)
    setup.fleet.alerts.pop(polled_only)
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "succeeded", run
    rows = await _alerts(db, tenant)
    assert rows[confirmed].status == "resolved" and rows[polled_only].status == "resolved"
    assert rows[foreign].status == "active"
    assert run["counters"]["resolved"] == 2, run
    # A failed poll closes nothing.
    remaining = next(iter(setup.fleet.alerts))
    setup.fleet.alerts.pop(remaining)
    from rmmbridge.simulators.faults import Fault

    setup.sim.faults.add(Fault("status", path_contains="/v2/alerts", status=500))
    run = await run_sync(http, state, setup, "alerts")
    assert run["status"] == "failed", run
    rows = await _alerts(db, tenant)
    assert rows[remaining].status == "active"
