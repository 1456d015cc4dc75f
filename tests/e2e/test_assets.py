"""Assets list and detail, alerts list and the dashboard, against a synced Tactical fleet."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import shot

pytestmark = pytest.mark.e2e


def test_assets_list_filtered_to_overdue(live, account, api, tactical, new_page):
    sim = tactical(clients=3, agents=60, seed=8)
    api.fleet_ready(sim)
    overdue = api("GET", "/assets", params={"agent_status": "overdue", "page_size": 1})["total"]
    assert overdue > 0, "the simulated fleet has overdue agents"
    page = new_page(account=account)
    page.goto("/assets")
    expect(page.get_by_role("heading", name="Assets")).to_contain_text("(60)")
    expect(page.locator(".asset-table tbody tr")).to_have_count(50)  # 50 per page
    expect(page.locator(".status-chips .chip-overdue .chip-count")).to_have_text(str(overdue))
    shot(page, "assets-list-1280")
    page.get_by_label("Agent status", exact=True).select_option("overdue")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r".*agent_status=overdue.*"))
    rows = page.locator(".asset-table tbody tr")
    expect(rows).to_have_count(overdue)
    for i in range(overdue):
        expect(rows.nth(i).locator(".badge-overdue")).to_be_visible()
    expect(page.locator(".chip-overdue")).to_have_attribute("aria-current", "true")
    # Sorting by last seen, newest first; the filter stays.
    page.get_by_role("link", name=re.compile("^Last seen")).click()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name=re.compile("^Last seen")).click()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    assert "agent_status=overdue" in page.url
    expect(rows).to_have_count(overdue)
    shot(page, "assets-overdue-1280")
    # Filter by client too, from a client link in the table.
    # (the client column is found by its class: a selection column now comes first for writers)
    client = rows.first.locator("td.client-cell").inner_text().strip()
    page.get_by_label("Client", exact=True).select_option(label=client)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r".*client_id=.*"))
    for text in rows.locator("td.client-cell").all_inner_texts():
        assert text.strip() == client

    narrow = new_page(width=390, height=844, account=account)
    narrow.goto("/assets?agent_status=overdue")
    expect(narrow.locator(".asset-table tbody tr")).to_have_count(overdue)
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 390, "no horizontal page scroll at 390 px"
    shot(narrow, "assets-overdue-390")
    narrow.goto("/assets")
    shot(narrow, "assets-list-390")
    # Pagination: 60 assets, 50 per page.
    page.goto("/assets")
    page.get_by_role("link", name="Next →").click()
    expect(page.locator(".asset-table tbody tr")).to_have_count(10)
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")


def test_asset_detail_after_webhook_shows_vitals_software_and_alert(
    live, account, api, tactical, new_page, monkeypatch
):
    from rmmbridge.simulators.tacticalrmm import catalog

    sim = tactical(clients=2, agents=12, seed=3)
    iid = api.fleet_ready(sim, software=True)
    agent = next(a for a in sim.fleet.agents.values() if a.is_windows and a.software_id is not None)
    asset = next(a for a in api("GET", "/assets", params={"q": agent.hostname})["items"] if a["name"] == agent.hostname)
    installed = api("GET", f"/assets/{asset['id']}/software", params={"current": "true"})["total"]
    assert installed > 0
    # One application disappears from every Windows agent: the next ingest marks it uninstalled.
    dropped = next(
        e
        for e in catalog.WIN_SOFTWARE
        if e.common and not e.servers_only and "{v}" not in e.name and e.name != "Tactical RMM Agent"
    )
    monkeypatch.setattr(catalog, "WIN_SOFTWARE", [e for e in catalog.WIN_SOFTWARE if e is not dropped])
    assert api.sync(iid, "software")["status"] == "succeeded"

    secret = api("POST", f"/integrations/{iid}/webhook/rotate")["secret"]
    body = {
        "event": "trigger",
        "alert_id": "770001",
        "alert_type": "check",
        "severity": "error",
        "alert_time": "2025-11-22 10:58:03.407861+00:00",
        "agent_id": agent.agent_id,
        "agent_pk": str(agent.pk),
        "hostname": agent.hostname,
        "client_id": "None",
        "site_id": "None",
        "check_id": "None",
        "task_id": "None",
        "message": f"{agent.hostname} has a disk space check: C: below 10% that failed.",
    }
    r = httpx.post(
        f"{live.url}/api/webhooks/tacticalrmm",
        content=json.dumps(body),
        headers={"X-Webhook-Secret": secret},
        timeout=10,
    )
    assert r.status_code < 300, r.text
    refresh = r.json().get("refresh_run_id")
    if refresh:
        api.wait_run(refresh)

    page = new_page(account=account)
    page.goto("/assets")
    page.get_by_label("Search").fill(agent.hostname)
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_role("link", name=agent.hostname, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(agent.hostname)
    rmm = page.locator("section", has=page.get_by_role("heading", name="RMM", exact=True))
    for label in (
        "Provider",
        "Device ID",
        "Organization",
        "Agent status",
        "Last seen",
        "Data as of",
        "Current user",
        "Uptime",
        "LAN IP",
        "WAN IP",
    ):
        expect(rmm.locator("dt", has_text=label)).to_be_visible()
    expect(rmm).to_contain_text("Tactical RMM")
    expect(rmm).to_contain_text(agent.agent_id)
    if agent.public_ip:
        expect(rmm).to_contain_text(agent.public_ip)
    hw = page.locator("section", has=page.get_by_role("heading", name="Operating system and hardware"))
    expect(hw.locator("dt", has_text="Memory")).to_be_visible()
    expect(hw.get_by_role("meter").first).to_be_visible()
    alerts = page.locator("#alerts")
    expect(alerts).to_contain_text("C: below 10% that failed")
    expect(alerts.locator(".badge-error").first).to_be_visible()
    software = page.locator("#software")
    expect(software.get_by_role("heading")).to_contain_text("installed")
    assert software.locator("table").first.locator("tbody tr").count() > 0
    software.get_by_text(re.compile(r"Uninstalled software \(\d+\)")).click()
    expect(software.locator("details table")).to_contain_text(dropped.name)
    expect(page.locator("section", has=page.get_by_role("heading", name="External mappings"))).to_contain_text(
        agent.agent_id
    )
    shot(page, "asset-detail-after-webhook")


def test_asset_edit_sets_overrides_and_refresh_runs(live, account, api, tactical, new_page):
    sim = tactical(clients=2, agents=8, seed=4)
    api.fleet_ready(sim)
    asset = api("GET", "/assets", params={"page_size": 1})["items"][0]
    page = new_page(account=account)
    page.goto(f"/assets/{asset['id']}")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name").fill(asset["name"] + "-renamed")
    page.get_by_label("Location").fill("Server room B")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("-renamed")
    core = page.locator("section", has=page.get_by_role("heading", name="Asset", exact=True))
    expect(core.locator("dd", has_text="-renamed").locator(".badge")).to_have_text("override")
    expect(core).to_contain_text("Server room B")
    expect(page.locator(".timeline")).to_contain_text("Edited")
    # Refresh from the RMM (single-device refresh), with its progress.
    page.get_by_role("button", name="Refresh from RMM").click()
    expect(page.get_by_role("status").first).to_contain_text("Refresh requested")
    panel = page.locator(".run-panel[data-run-kind=agent]")
    expect(panel.locator("[data-run-field=status]")).to_have_text("succeeded", timeout=20_000)
    # The override survived the refresh.
    page.wait_for_selector(".run-panel[data-run-kind=agent]:not([data-run-poll]):not([data-run-done])")
    expect(page.get_by_role("heading", level=1)).to_contain_text("-renamed")
    shot(page, "asset-edited-and-refreshed")
    # Clearing the override lets the RMM's name win again at the next sync.
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Clear the name override").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")


def test_alerts_list_filters(live, account, api, tactical, new_page):
    sim = tactical(clients=3, agents=40, seed=9)
    iid = api.fleet_ready(sim, alerts=True)
    active = api("GET", "/alerts", params={"status": "active", "page_size": 1})["total"]
    errors = api("GET", "/alerts", params={"status": "active", "severity": "error", "page_size": 1})["total"]
    assert active > 0 and errors > 0
    page = new_page(account=account)
    page.goto("/alerts")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(active)
    page.get_by_label("Severity", exact=True).select_option("error")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(errors)
    for i in range(errors):
        expect(rows.nth(i).locator(".badge").first).to_have_text("error")
    # Found by polling on an integration that never had a webhook: nothing was "missed" (issue #18;
    # tests/alerts/test_delivery_health.py counts the real misses).
    expect(page.locator(".badge", has_text="missed by webhook")).to_have_count(0)
    shot(page, "alerts-filtered-error")
    page.get_by_label("Search").fill("zz-no-such-alert")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows.first).to_contain_text("No alerts match")
    assert iid


def test_dashboard_fleet_status_per_client(live, account, api, tactical, new_page):
    sim = tactical(clients=3, agents=30, seed=6)
    api.fleet_ready(sim)
    page = new_page(account=account)
    page.goto("/")
    donut = page.get_by_role("img", name=re.compile(r"Agent status of 30 assets"))
    expect(donut).to_be_visible()
    table = page.locator(".fleet-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    bars = table.locator("svg.fleet-bar")
    expect(bars).to_have_count(3)
    total = sum(int(t) for t in table.locator("tbody tr td:nth-child(2)").all_inner_texts())
    assert total == 30
    expect(page.locator(".int-list")).to_contain_text("Tactical RMM")
    shot(page, "dashboard-1280")
    narrow = new_page(width=390, height=844, account=account)
    narrow.goto("/")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 390
    shot(narrow, "dashboard-390")
