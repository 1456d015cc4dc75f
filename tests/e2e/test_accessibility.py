"""Keyboard use and labels: a whole set-up done with the keyboard only; every control labelled."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import nameless_buttons, shot, unlabeled_controls

pytestmark = pytest.mark.e2e


def tab_to(page, description: str, predicate: str, limit: int = 120) -> None:  # type: ignore[no-untyped-def]
    """Press Tab until ``predicate(document.activeElement)`` holds; fail after ``limit`` presses."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {predicate})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached {description}")


def focus_is_visible(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'; }"""
    )


def test_connect_an_rmm_with_the_keyboard_only(live, account, new_page):
    from tests.support.tinyrmm import make_fleet, tiny_app

    fleet = make_fleet(orgs=2, devices=4)
    live.transport.add("tiny-keyboard.example", tiny_app(fleet))
    page = new_page(account=account)
    page.goto("/settings/integrations")
    tab_to(page, "the TinyRMM set-up button", "el.tagName === 'BUTTON' && el.textContent.trim() === 'Set up TinyRMM'")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/settings/integrations/tinyrmm.*"))
    tab_to(page, "the Instance URL field", "el.id === 'f-instance_url'")
    assert focus_is_visible(page)
    page.keyboard.type("https://tiny-keyboard.example")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-api_key", "the API key field follows the URL"
    page.keyboard.type(fleet.api_key)
    page.keyboard.press("Enter")  # submits the credentials form
    expect(page.get_by_role("status")).to_contain_text("Connection details saved")
    tab_to(page, "the Test connection button", "el.textContent.trim() === 'Test connection'")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Connection test passed")
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    # Then the first sync, still by keyboard (Space activates a focused button too).
    tab_to(page, "the Sync organizations button", "el.textContent.trim() === 'Sync organizations'")
    page.keyboard.press("Space")
    expect(page.locator(".mapping-table tbody tr")).to_have_count(2, timeout=15_000)
    shot(page, "keyboard-only-setup")


def test_every_control_has_a_label_and_every_page_one_heading(live, account, api, tactical, new_page, browser):
    sim = tactical(clients=2, agents=10, seed=2)
    iid = api.fleet_ready(sim, software=True, alerts=True)
    api("POST", f"/integrations/{iid}/webhook/rotate")
    asset = api("GET", "/assets", params={"page_size": 1})["items"][0]
    alert = api("GET", "/alerts", params={"page_size": 1})["items"][0]
    page = new_page(account=account)
    problems: dict[str, list[str]] = {}
    paths = [
        "/",
        "/assets",
        "/assets?agent_status=overdue&sort=last_seen&order=desc",
        f"/assets/{asset['id']}",
        f"/assets/{asset['id']}/edit",
        "/alerts",
        f"/alerts/{alert['id']}",
        "/clients",
        "/settings/integrations",
        "/settings/integrations/tacticalrmm",
        f"/settings/integrations/tacticalrmm/{iid}/disconnect",
        "/settings/integrations/tinypull",
    ]
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        found = unlabeled_controls(page) + nameless_buttons(page)
        if found:
            problems[path] = found
        assert page.locator("h1").count() == 1, f"{path}: one h1 per page"
        assert page.locator("main#main").count() == 1, path
    # The page with the secret revealed (a POST answer) too.
    page.goto("/settings/integrations/tacticalrmm#webhook")
    page.get_by_role("button", name="Reveal webhook secret").click()
    expect(page.get_by_label("Webhook secret")).to_be_visible()
    if found := unlabeled_controls(page) + nameless_buttons(page):
        problems["revealed"] = found
    shot(page, "labels-checked-settings-revealed")
    # And the signed-out pages.
    anon = new_page()
    anon.goto("/login")
    if found := unlabeled_controls(anon):
        problems["/login"] = found
    assert not problems, problems


def test_core_forms_work_without_javascript(live, account, new_page):
    from tests.support.tinyrmm import make_fleet, tiny_app

    fleet = make_fleet(orgs=2, devices=6)
    live.transport.add("tiny-nojs.example", tiny_app(fleet))
    page = new_page(account=account, java_script_enabled=False)
    page.goto("/settings/integrations")
    page.get_by_role("button", name="Set up TinyRMM").click()
    page.get_by_label("Instance URL").fill("https://tiny-nojs.example")
    page.locator("#f-api_key").fill(fleet.api_key)
    page.get_by_role("button", name="Save connection").click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection test passed")
    page.get_by_role("button", name="Sync organizations").click()
    expect(page.get_by_role("status")).to_contain_text("sync started")  # the POST has been answered
    expect(page.locator(".run-panel")).to_be_visible()
    # Without the script nothing polls: reloading shows the outcome.
    for _ in range(50):
        if page.locator(".mapping-table tbody tr .org-name").count() == 2:
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(page.locator(".mapping-table tbody tr .org-name")).to_have_count(2)
    page.get_by_role("button", name="Create client “Org A”").click()
    expect(page.get_by_role("status")).to_contain_text("Created client “Org A”")
    page.get_by_role("button", name="Sync devices").click()
    expect(page.get_by_role("status")).to_contain_text("Devices sync started")
    for _ in range(50):
        page.reload()
        if page.locator("#sync tbody tr").first.locator(".badge-succeeded").count():
            break
        page.wait_for_timeout(200)
    page.goto("/assets")
    expect(page.locator(".asset-table tbody tr")).to_have_count(3)  # Org A's devices
    shot(page, "no-javascript-assets")
