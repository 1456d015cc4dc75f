"""Tanium in the browser: set up, test, sync computer groups, map, sync devices, see the assets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import shot

pytestmark = pytest.mark.e2e

TANIUM = "/settings/integrations/tanium"


def test_tanium_connect_map_sync_and_assets(live, account, new_page):
    from rmmbridge.simulators.tanium import DEFAULT_TOKEN, create_app, generate_fleet

    fleet = generate_fleet(seed=3, groups=3, endpoints=40)
    host = "tanium-e2e-api.example.com"
    live.transport.add(host, create_app(fleet))
    page = new_page(account=account)
    page.goto("/settings/integrations")
    card = page.locator(".provider-card", has_text="Tanium")
    expect(card.locator(".badge")).to_have_text("Not configured")
    card.get_by_role("button", name="Set up Tanium").click()
    page.wait_for_url(re.compile(r".*/settings/integrations/tanium.*"))
    page.get_by_label("Instance URL").fill(f"https://{host}")
    page.locator("#f-api_token").fill(DEFAULT_TOKEN)
    page.get_by_role("button", name="Save connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection details saved")
    assert DEFAULT_TOKEN not in page.content()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection test passed")
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    # Pull-only: no webhook section to fill in, and the page says so.
    expect(page.locator("#webhook")).to_contain_text("pull-only")

    page.get_by_role("button", name="Sync computer groups").click()
    expect(page.locator(".run-panel [data-run-field=status]").first).to_have_text("succeeded", timeout=30_000)
    page.goto(TANIUM + "#mappings")
    rows = page.locator(".mapping-table tbody tr")
    expect(rows.first).to_be_visible()
    # Map the customer groups (created as PSA clients from the group names).
    customer_groups = [fleet.groups[g].name for g in fleet.customer_group_ids] if hasattr(fleet, "groups") else []
    names = customer_groups or [rows.nth(i).locator(".org-name").inner_text() for i in range(min(3, rows.count()))]
    for name in names:
        page.get_by_role("button", name=f"Create client “{name}”").click()
        expect(page.get_by_role("status")).to_contain_text(f"Created client “{name}” and mapped it")
    shot(page, "settings-tanium-mapped")

    page.get_by_role("button", name="Sync devices").click()
    panel = page.locator(".run-panel[data-run-kind=devices]")
    expect(panel.locator("[data-run-field=status]")).to_have_text("succeeded", timeout=60_000)
    page.goto("/assets?provider=tanium")
    expect(page.locator("table tbody tr").first).to_be_visible()
    assert page.locator("table tbody tr").count() > 0
    expect(page.locator("table")).to_contain_text(re.compile("online|offline|overdue", re.IGNORECASE))
    shot(page, "assets-tanium")
