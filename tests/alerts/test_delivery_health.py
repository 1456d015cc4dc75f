"""Delivery health that tells the truth, on SQLite and PostgreSQL: with half the alerts arriving by
webhook and half only by polling, "missed by webhook" counts exactly the second half raised after
the webhook was provisioned, with a hint from what Tactical reports; without a webhook it is zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.alerts.tactical_setup import admin_template, connect_tactical
from tests.alerts.test_provisioning import fire, provision
from tests.conftest import run_sync


async def webhook_info(http: Any, setup: Any) -> dict[str, Any]:
    r = await http.get(f"/api/v1/integrations/{setup.integration_id}/webhook", headers=setup.tenant.headers())
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_missed_counts_only_alerts_raised_after_the_webhook(
    http, transport, app, state, tenant, other_tenant
) -> None:  # type: ignore[no-untyped-def]
    setup = await connect_tactical(http, transport, app, state, tenant)
    template = admin_template(setup)
    agents = [a for a in setup.fleet.agents.values() if not a.maintenance_mode]
    # Raised before any webhook existed: polling finds it, but it was never "missed".
    setup.fleet.add_alert(agents[0].pk, "check", "error", check_id=1, when=datetime.now(UTC) - timedelta(hours=2))
    assert (await provision(http, setup, send_test=False))["ok"]
    template.task_script_actions = False  # an admin switches task actions off in Tactical afterwards

    for i, agent in enumerate(agents[:6]):  # three check alerts arrive, three task alerts do not
        await fire(transport, setup, agent.pk, alert_type="check" if i % 2 == 0 else "task",
                   **({"check_id": 100 + i} if i % 2 == 0 else {"task_id": 100 + i}))  # fmt: skip
    assert len(setup.sim.actions.deliveries) == 3

    run = await run_sync(http, state, setup, "alerts")  # type: ignore[arg-type]
    assert run["status"] == "succeeded", run
    assert run["counters"]["missed_by_webhook"] == 3
    info = await webhook_info(http, setup)
    assert info["alerts_missed_by_webhook"] == 3
    assert info["deliveries_accepted"] == 3 and info["deliveries_rejected"] == 0 and info["last_delivery_at"]
    assert any("task_script_actions" in h and "task alerts" in h for h in info["hints"]), info["hints"]

    # The same fleet polled by an integration that never had a webhook: nothing is "missed".
    # (Another tenant: one Tactical integration per tenant until issue #17 lands.)
    other = await connect_tactical(http, transport, app, state, other_tenant)
    for i, agent in enumerate(list(other.fleet.agents.values())[:4]):
        other.fleet.add_alert(agent.pk, "check", "error", check_id=200 + i)
    run = await run_sync(http, state, other, "alerts")  # type: ignore[arg-type]
    assert run["counters"]["created"] >= 4 and run["counters"]["missed_by_webhook"] == 0
    info = await webhook_info(http, other)
    assert info["alerts_missed_by_webhook"] == 0 and info["hints"] == [] and info["configured_at"] is None


async def test_alerts_found_only_by_polling_are_events_too(http, transport, app, state, tenant, db) -> None:  # type: ignore[no-untyped-def]
    """Routing rules and subscriptions see what polling finds: a new alert is ``alert.triggered``,
    one the RMM stopped listing is ``alert.resolved`` (payloads as the catalogue says)."""
    from sqlalchemy import select

    from rmmbridge.storage.models import EventOutbox
    from tests.events.payloads import check_outbox

    setup = await connect_tactical(http, transport, app, state, tenant)

    async def alert_events() -> list[tuple[str, dict[str, Any]]]:
        rows = await db.execute(
            select(EventOutbox.event_type, EventOutbox.payload)
            .where(EventOutbox.tenant_id == tenant.tenant_id, EventOutbox.event_type.like("alert.%"))
            .order_by(EventOutbox.id)
        )
        return [(t, p) for t, p in rows.all()]

    assert (await run_sync(http, state, setup, "alerts"))["status"] == "succeeded"  # type: ignore[arg-type]
    before = await alert_events()  # the fleet's own open alerts: one triggered event each
    assert before and {t for t, _ in before} == {"alert.triggered"}
    agents = list(setup.fleet.agents.values())
    first = setup.fleet.add_alert(agents[0].pk, "check", "error", check_id=301)
    setup.fleet.add_alert(agents[1].pk, "check", "warning", check_id=302)
    assert (await run_sync(http, state, setup, "alerts"))["status"] == "succeeded"  # type: ignore[arg-type]
    events = (await alert_events())[len(before) :]
    assert [t for t, _ in events] == ["alert.triggered", "alert.triggered"]
    assert sorted(p["severity"] for _, p in events) == ["error", "warning"]
    assert all(p["asset_id"] for _, p in events), "the alerts were matched to their assets"

    setup.fleet.resolve_alert(first.id)
    assert (await run_sync(http, state, setup, "alerts"))["status"] == "succeeded"  # type: ignore[arg-type]
    events = (await alert_events())[len(before) :]
    assert [t for t, _ in events] == ["alert.triggered", "alert.triggered", "alert.resolved"]
    assert events[-1][1]["severity"] == "error"
    await check_outbox(db, tenant.tenant_id)
