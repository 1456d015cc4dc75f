"""Resolving alerts in the browser (issue #18): from the alert's page and in bulk from the list;
Tactical (the simulator) is told each time."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import Api, shot

pytestmark = pytest.mark.e2e


def test_resolve_from_the_alert_page_and_from_the_list(live, account, api: Api, tactical, new_page) -> None:  # type: ignore[no-untyped-def]
    sim = tactical(clients=2, agents=8)
    agents = [a for a in sim.fleet.agents.values() if not a.maintenance_mode][:3]
    opened = [sim.fleet.add_alert(a.pk, "check", "error", message=f"Disk C: low ({i})", check_id=700 + i)
              for i, a in enumerate(agents)]  # fmt: skip
    iid = api.fleet_ready(sim, alerts=True)
    local = {a["external_alert_id"]: a for a in api("GET", "/alerts", params={"integration_id": iid})["items"]}

    page = new_page(account=account)
    page.goto(f"/alerts/{local[str(opened[0].id)]['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Disk C: low (0)")
    expect(page.locator("[data-timeline]")).to_contain_text("raised")
    page.get_by_role("button", name="Resolve here and in Tactical RMM").click()
    expect(page.get_by_role("status")).to_contain_text("Resolved here and in the RMM.")
    expect(page.locator("[data-alert-status]")).to_contain_text("resolved")
    expect(page.locator("[data-timeline]")).to_contain_text("resolved in rmm")
    assert opened[0].resolved
    shot(page, "alert-page-resolved")

    page.goto("/alerts?status=active")
    for alert in opened[1:]:
        row = page.locator(f"[data-alert-row='{local[str(alert.id)]['id']}']")
        row.get_by_role("checkbox").check()
    page.get_by_label("With the selected alerts").select_option("resolve")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status")).to_contain_text("2 alert(s): Resolved here and in the RMM.")
    assert all(a.resolved for a in opened[1:])
    for alert in opened[1:]:
        expect(page.locator(f"[data-alert-row='{local[str(alert.id)]['id']}']")).to_have_count(0)
    shot(page, "alerts-list-after-bulk-resolve")


def test_one_click_webhook_setup_delivers_a_test_alert(live, account, api: Api, tactical, new_page) -> None:  # type: ignore[no-untyped-def]
    sim = tactical(clients=2, agents=6)
    sim.app.state.actions.add_template("Default", default=True)  # the admin's alert template in Tactical
    api.fleet_ready(sim)
    page = new_page(account=account)
    page.goto("/settings/integrations/tacticalrmm#webhook")
    expect(page.locator("[data-last-delivery]")).to_contain_text("never")
    page.get_by_role("button", name="Set up Tactical RMM and send test alert").click()
    expect(page.get_by_role("status").first).to_contain_text("Tactical RMM is set up and a test alert arrived.")
    report = page.locator("[data-provision-report]")
    expect(report).to_contain_text("key store entry RMMB_")
    expect(report).to_contain_text("alert template “Default”")
    expect(page.locator("[data-test-delivered]")).to_contain_text("delivered through Tactical and accepted")
    expect(page.locator("[data-last-delivery]")).not_to_contain_text("never")
    assert len(sim.app.state.actions.urlactions) == 2
    shot(page, "webhook-provisioned")
    page.get_by_role("button", name="Send test alert", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Test alert arrived: delivered through Tactical")

    # A real alert fired in Tactical shows up in the delivery count while the page stays open.
    accepted = int(page.locator("[data-deliveries-accepted]").inner_text())
    agent = next(a for a in sim.fleet.agents.values() if not a.maintenance_mode)

    async def fire() -> None:
        async with httpx.AsyncClient(transport=live.transport, base_url=sim.url) as tactical_api:
            r = await tactical_api.post("/_sim/alerts", json={"agent": agent.pk, "alert_type": "check"})
            assert r.status_code == 201, r.text

    live.call(fire())
    expect(page.locator("[data-deliveries-accepted]")).to_have_text(str(accepted + 1), timeout=15_000)


def test_send_test_alert_on_a_tactical_without_the_test_run(live, account, api: Api, tactical, new_page) -> None:  # type: ignore[no-untyped-def]
    """An older Tactical (no ``POST /core/urlaction/run/test/``): the test alert is a synthetic
    delivery over the network to rmmbridge's own public URL, and the page shows it arrive."""
    sim = tactical(clients=2, agents=6, url_action_test_run=False)
    sim.app.state.actions.add_template("Default", default=True)
    api.fleet_ready(sim)
    page = new_page(account=account)
    page.goto("/settings/integrations/tacticalrmm#webhook")
    page.get_by_role("button", name="Set up Tactical RMM and send test alert").click()
    expect(page.get_by_role("status").first).to_contain_text("Tactical RMM is set up and a test alert arrived.")
    expect(page.locator("[data-test-delivered]")).to_contain_text("synthetic test delivery accepted")
    assert not [d for d in sim.app.state.actions.deliveries if d.kind == "test"]  # Tactical sent nothing

    accepted = int(page.locator("[data-deliveries-accepted]").inner_text())
    page.get_by_role("button", name="Send test alert", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Test alert arrived: synthetic test delivery accepted")
    expect(page.get_by_role("status").first).to_contain_text("Tactical has no URL action test run")
    expect(page.locator("[data-deliveries-accepted]")).to_have_text(str(accepted + 1), timeout=15_000)
    shot(page, "webhook-synthetic-test")
