"""Schedules on the provider page; live status, health chips and the stale banner (issue #11)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from rmmbridge.kit.time import utcnow
from rmmbridge.simulators.faults import Fault
from rmmbridge.storage.db import unit_of_work
from rmmbridge.sync.service import request_sync
from rmmbridge.tenancy import service as tenancy
from rmmbridge.tenancy.auth import system_context

from .conftest import PASSWORD, Account, Api, nameless_buttons, shot, unlabeled_controls

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
    assert unlabeled_controls(page) == [] and nameless_buttons(page) == []

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


class ShiftedClock:
    """The app's clock (``AppState.clock``) moved forward on demand: time passes without sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(live):
    shifted = ShiftedClock()
    original, live.state.clock = live.state.clock, shifted
    yield shifted
    live.state.clock = original


def liveness_pass(live, api: Api, account: Account, iid: str) -> dict:
    """One liveness pass, started as the scheduler starts it, and waited for."""

    async def _start() -> str:
        async with unit_of_work(live.state.sessionmaker) as db:
            ctx = system_context(account.tenant_id, "scheduler")
            started = await request_sync(live.state, db, ctx, uuid.UUID(iid), "liveness", "schedule")
            return str(started.run.id)

    return api.wait_run(live.call(_start()))


def test_live_status_health_chips_and_the_stale_banner(live, account, api, tactical, new_page, clock):
    sim = tactical(agents=60, seed=11)
    iid = api.fleet_ready(sim)
    first_pass = liveness_pass(live, api, account, iid)
    assert first_pass["status"] == "succeeded"
    summary = api("GET", "/fleet/summary")
    health, total = summary["health"], summary["counts"]["total"]
    assert health["needs_reboot"] > 0 and health["failing_checks"] > 0, "the fleet has devices to show"

    page = new_page(account=account)
    # What the pass cost the RMM is on the provider page's schedule of live status.
    page.goto(TACTICAL + "#schedules")
    row = page.locator("#schedules tr[data-schedule=liveness]")
    counters = first_pass["counters"]
    expect(row).to_contain_text(f"{counters['requests']} requests · {counters['rows']} rows")
    expect(row.get_by_label("every")).to_have_value("1min")
    page.goto("/")
    expect(page.locator("[data-as-of]")).to_contain_text("Data as of")
    expect(page.locator("[data-stale-banner]")).to_have_count(0)
    chips = page.get_by_role("list", name="Assets by device health")
    expect(chips.locator("[data-health=needs_reboot]")).to_have_text(f"{health['needs_reboot']} need a reboot")
    expect(chips.locator("[data-health=failing_checks]")).to_have_text(
        f"{health['failing_checks']} with failing checks"
    )
    shot(page, "dashboard-live-1280")
    chips.locator("[data-health=needs_reboot]").click()
    page.wait_for_url("**/assets?needs_reboot=true")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"({health['needs_reboot']})")
    expect(page.locator("[data-as-of]")).to_contain_text("Status as of")
    rows = page.locator("table.asset-table tbody tr")
    expect(rows).to_have_count(health["needs_reboot"])
    for i in range(rows.count()):
        expect(rows.nth(i).locator(".health-cell")).to_contain_text("reboot")
    expect(
        page.get_by_role("list", name="Assets by device health").locator("[data-health=needs_reboot]")
    ).to_have_attribute("aria-current", "true")
    expect(page.get_by_label("Needs a reboot")).to_be_checked()
    shot(page, "assets-needs-reboot-1280")

    # The RMM stops answering; four minutes pass (more than three 60 s intervals) and the next pass fails.
    sim.app.faults.add(Fault("status", status=503))
    clock.advance(minutes=4)
    assert liveness_pass(live, api, account, iid)["status"] == "failed"

    page.goto("/")
    banner = page.locator("[data-stale-banner]")
    expect(banner).to_contain_text("Live status is stale.")
    expect(banner).to_contain_text(re.compile(r"Tactical RMM: not checked since \d\d:\d\d \(4 min\) — "))
    expect(banner.get_by_role("link", name="Tactical RMM")).to_have_attribute(
        "href", f"/settings/integrations/tacticalrmm/{iid}#schedules"
    )
    expect(page.locator(".stats")).to_contain_text(f"{total}Stale status")
    shot(page, "dashboard-stale-1280")

    page.goto("/assets")
    expect(page.locator("[data-stale-banner]")).to_be_visible()
    expect(page.locator(".chip-stale .chip-count")).to_have_text(str(total))
    first = page.locator("table.asset-table tbody tr").first
    expect(first.locator(".agent-cell .badge-stale")).to_have_text("stale")
    expect(first.locator(".agent-cell .as-of")).to_contain_text(re.compile(r"as of \d\d:\d\d"))
    expect(first.locator(".agent-cell time")).to_have_attribute("title", re.compile(r"not checked for 4 min$"))
    shot(page, "assets-stale-1280")
    first.locator("a.asset-link").click()
    expect(page.locator("[data-stale-status]")).to_contain_text(", not checked for 4 min")
    expect(page.locator("[data-stale-status]")).to_contain_text(" as of ")
    expect(page.get_by_role("heading", name="Health")).to_be_visible()

    narrow = new_page(width=390, height=844, account=account)
    for path in ("/", "/assets"):
        narrow.goto(path)
        expect(narrow.locator("[data-stale-banner]")).to_be_visible()
        expect(narrow.get_by_role("heading", level=1)).to_have_count(1)
        assert unlabeled_controls(narrow) == [] and nameless_buttons(narrow) == [], path
        assert narrow.evaluate("document.documentElement.scrollWidth") <= 390, f"{path}: no horizontal scroll"
    shot(narrow, "assets-stale-390")
