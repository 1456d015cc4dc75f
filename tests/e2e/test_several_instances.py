"""A second Tactical RMM connected beside the first, from the UI, at 1280 and 390 px (issue #17)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.mark.parametrize("width", [1280, 390])
def test_second_tactical_beside_the_first(live, account, api, tactical, new_page, width):
    from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS

    first = api.connect_tactical(tactical())
    second_sim = tactical(seed=9)
    page = new_page(width=width, height=900 if width > 400 else 844, account=account)
    page.goto("/settings/integrations")
    card = page.locator(".provider-card", has_text="Tactical RMM")
    card.locator("summary", has_text="Add another").click()
    card.get_by_label("Name of the new Tactical RMM integration").fill("Tactical EU")
    card.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url(re.compile(r".*/settings/integrations/tacticalrmm/[0-9a-f-]{36}.*"))
    assert first not in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Tactical EU")
    expect(page.get_by_role("navigation", name="Other Tactical RMM integrations")).to_contain_text("Tactical RMM")
    page.get_by_label("Instance URL").fill(second_sim.url)
    page.locator("#f-api_key").fill(DEFAULT_CREDENTIALS.api_key)
    page.get_by_role("button", name="Save connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection details saved")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection test passed")
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"second-tactical-{width}")
    # Both are listed on the card, each connected, each with its own page.
    page.goto("/settings/integrations")
    instances = page.get_by_role("list", name="Tactical RMM integrations").get_by_role("listitem")
    expect(instances).to_have_count(2)
    expect(instances.filter(has_text="Tactical EU").locator(".badge")).to_have_text("Connected")
    expect(instances.filter(has_text=re.compile(r"^Tactical RMM\b")).locator(".badge")).to_have_text("Connected")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"integrations-two-tactical-{width}")
    listed = {i["name"]: i for i in api("GET", "/integrations")}
    assert set(listed) == {"Tactical EU", "Tactical RMM"} and listed["Tactical RMM"]["id"] == first
    assert listed["Tactical EU"]["instance_url"] == second_sim.url and listed["Tactical EU"]["state"] == "connected"
