"""The integration page's sync panel (issue #17): exactly one state at a time — idle, running with
its progress, finished with its result — updated in place, with no navigation at all."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect

RECORD_STATES = """panel => {
  window.__syncStates = [panel.getAttribute('data-state')];
  new MutationObserver(() => {
    const s = panel.getAttribute('data-state');
    const shown = panel.querySelectorAll('.run-panel, .sync-idle, .sync-refused').length;
    if (shown !== 1) window.__syncStates.push('MORE THAN ONE: ' + shown);
    if (window.__syncStates[window.__syncStates.length - 1] !== s) window.__syncStates.push(s);
  }).observe(panel, {attributes: true, childList: true, subtree: true});
}"""


def test_sync_panel_states_in_order_without_navigation(live, account, api, tactical, new_page):  # type: ignore[no-untyped-def]
    from rmmbridge.simulators.faults import Fault

    sim = tactical(clients=3, agents=36)
    iid = api.connect_tactical(sim, page_size=3)
    assert api.sync(iid, "scopes")["status"] == "succeeded"
    api.map_all(iid)
    # Agent pages slowed down, so the run is visibly in progress for a few seconds.
    sim.app.state.faults.add(Fault("slow", path_contains="/beta/v1/agent/", delay_s=0.4))
    page = new_page(width=1280, height=900, account=account)
    page.goto(f"/settings/integrations/tacticalrmm/{iid}#sync")
    panel = page.locator("#sync-panel")
    expect(panel).to_have_attribute("data-state", "idle")
    expect(panel).to_contain_text("No sync is running.")
    assert panel.locator(".run-panel").count() == 0
    history_rows = page.locator("#sync-history tbody tr").count()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    panel.evaluate(RECORD_STATES)

    page.get_by_role("button", name="Sync devices").click()
    # Running: one run panel with its progress, the button disabled, nothing else in the panel.
    expect(panel).to_have_attribute("data-state", "running")
    expect(panel.locator(".run-panel")).to_have_count(1)
    expect(panel.get_by_role("progressbar", name="Devices sync progress")).to_be_visible()
    expect(panel.locator("[data-run-field=counters]")).to_contain_text(re.compile(r"[1-9]\d* of 36 devices"))
    expect(panel.locator(".sync-idle")).to_have_count(0)
    expect(page.get_by_role("button", name="Sync devices")).to_be_disabled()
    shot(page, "sync-panel-running", full_page=False)

    # Finished: the result, no progress bar; the counts, history and buttons follow in place.
    expect(panel).to_have_attribute("data-state", "succeeded", timeout=60_000)
    expect(panel.locator("[data-run-field=status]")).to_have_text("succeeded")
    expect(panel.locator("[data-run-field=counters]")).to_contain_text("36 created")
    expect(panel.get_by_role("progressbar")).to_have_count(0)
    expect(panel).to_contain_text("Finished just now.")
    expect(page.locator("#sync-history tbody tr")).to_have_count(history_rows + 1)
    expect(page.locator("#sync-history tbody tr").first).to_contain_text("succeeded")
    expect(page.locator("#sync-history tbody tr").first).to_contain_text("manual")  # a person pressed it
    expect(page.get_by_role("button", name="Sync devices")).to_be_enabled()
    stats = {name: int(page.locator("#status .stat", has_text=name).locator(".stat-value").inner_text())
             for name in ("Online", "Offline", "Overdue")}  # fmt: skip
    assert sum(stats.values()) == 36
    shot(page, "sync-panel-finished", full_page=False)

    assert page.evaluate("window.__syncStates") == ["idle", "running", "succeeded"]
    assert navigations == [], f"the page navigated: {navigations}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_sync_refused_is_shown_in_the_panel(live, account, api, tactical, new_page):  # type: ignore[no-untyped-def]
    sim = tactical(clients=2, agents=6)
    iid = api.connect_tactical(sim)
    page = new_page(width=1280, height=900, account=account)
    page.goto(f"/settings/integrations/tacticalrmm/{iid}#sync")
    panel = page.locator("#sync-panel")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    # Clients first: runs and finishes in place; the mapping table fills without a reload.
    page.get_by_role("button", name="Sync clients").click()
    expect(panel).to_have_attribute("data-state", "succeeded", timeout=30_000)
    expect(page.locator(".mapping-table tbody tr")).to_have_count(2)
    assert navigations == []
