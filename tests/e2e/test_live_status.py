"""Schedules on the provider page; live status, health chips and the stale banner (issue #11)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rmmbridge.storage.db import unit_of_work
from rmmbridge.tenancy import service as tenancy

from .conftest import PASSWORD, Account, shot

pytestmark = pytest.mark.e2e

TACTICAL = "/settings/integrations/tacticalrmm"


def colleague(live, account: Account, role: str) -> Account:
    """Another user of ``account``'s tenant, with ``role``."""

    async def _create() -> Account:
        async with unit_of_work(live.state.sessionmaker) as db:
            email = f"{role}-{account.email}"
            user = await tenancy.create_user(db, account.tenant_id, email, PASSWORD, role)
            token = (await tenancy.issue_api_token(db, user, "e2e")).token
            return Account(account.tenant_id, email, PASSWORD, token)

    return live.call(_create())


def test_admin_edits_schedules_viewer_reads_them(live, account, api, tactical, new_page):
    api.connect_tactical(tactical())
    page = new_page(account=account)
    page.goto(TACTICAL + "#schedules")
    section = page.locator("#schedules")
    expect(section.get_by_role("heading", name="Schedules")).to_be_visible()
    devices = section.locator("tr[data-schedule=devices]")
    expect(devices.get_by_label("every")).to_have_value("1h")
    expect(devices).to_contain_text("now")  # connected: the first run is due at once
    expect(section.locator("tr[data-schedule=software]").get_by_label("On")).not_to_be_checked()
    # A value out of bounds is refused with the reason; what was typed stays.
    devices.get_by_label("every").fill("2m")
    devices.get_by_role("button", name="Save Devices schedule").click()
    expect(page.get_by_role("alert")).to_contain_text("between 5 min and 7 days (got 2 min)")
    devices = page.locator("#schedules tr[data-schedule=devices]")
    expect(devices.get_by_label("every")).to_have_value("2m")
    expect(devices.get_by_label("every")).to_have_attribute("aria-invalid", "true")
    devices.get_by_label("every").fill("30m")
    devices.get_by_role("button", name="Save Devices schedule").click()
    expect(page.get_by_role("status")).to_contain_text("Devices schedule saved: every 30 min.")
    expect(page.locator("#schedules tr[data-schedule=devices]").get_by_label("every")).to_have_value("30min")
    alerts = page.locator("#schedules tr[data-schedule=alerts]")
    alerts.get_by_label("On").uncheck()
    alerts.get_by_role("button", name="Save Alerts schedule").click()
    expect(page.get_by_role("status")).to_contain_text("Alerts schedule saved: off.")
    expect(page.locator("#schedules tr[data-schedule=alerts]").get_by_label("On")).not_to_be_checked()
    expect(page.locator("#schedules tr[data-schedule=alerts]")).to_contain_text("—")  # no next run when off
    shot(page, "settings-tactical-schedules-1280")

    reader = new_page(account=colleague(live, account, "viewer"))
    reader.goto(TACTICAL + "#schedules")
    row = reader.locator("#schedules tr[data-schedule=devices]")
    expect(row).to_contain_text("every 30 min")
    expect(row.get_by_role("textbox")).to_have_count(0)
    expect(reader.locator("#schedules")).to_contain_text("Only administrators can change schedules.")
    narrow = new_page(width=390, height=844, account=account)
    narrow.goto(TACTICAL + "#schedules")
    expect(narrow.locator("#schedules tr[data-schedule=devices]")).to_be_visible()
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 390, "no horizontal page scroll at 390 px"
    shot(narrow, "settings-tactical-schedules-390")
