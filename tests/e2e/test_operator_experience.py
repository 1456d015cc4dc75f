"""Issue #17 in the browser, at 1280 and 390 px: users and tokens, a failed connection save, rotate
then reload, an invalid asset edit, bulk mapping by name, the assets list's widths and CSV export.

Written against Debian's Chromium; the machine these were written on had none (the suite skips
them there), so they were not run there."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect
WIDTHS = [1280, 390]


def _no_page_overflow(page, width: int) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_users_and_tokens(account, new_page, width):  # type: ignore[no-untyped-def]
    page = new_page(width=width, height=900, account=account)
    # E-mail addresses sign in across tenants, so they are unique on the server: one per run.
    email = f"new-tech-{uuid.uuid4().hex[:8]}@msp.example"
    page.goto("/settings/users")
    expect(page.get_by_text("The only admin")).to_be_visible()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Role", exact=True).select_option("technician")
    page.get_by_label("Initial password").fill("short")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_value(email)  # kept
    page.get_by_label("Initial password").fill("long enough passphrase")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_contain_text(f"Added {email} as technician")
    expect(page.get_by_role("row", name=re.compile(re.escape(email)))).to_be_visible()
    _no_page_overflow(page, width)
    shot(page, f"users-{width}")
    page.goto("/settings/api-tokens")
    page.get_by_label("What is it for?").fill("Nightly export")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("[data-new-token]").inner_text()
    assert token.startswith("rmb_")
    page.reload()
    expect(page.locator("[data-new-token]")).to_have_count(0)  # shown once
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("row", name=re.compile("Nightly export")).get_by_role("button", name=re.compile("Revoke")).click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    _no_page_overflow(page, width)
    shot(page, f"api-tokens-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_failed_connection_save_keeps_the_key_and_marks_the_field(account, api, new_page, width):  # type: ignore[no-untyped-def]
    iid = api("POST", "/integrations", json={"provider": "tacticalrmm"})["id"]
    page = new_page(width=width, height=900, account=account)
    page.goto(f"/settings/integrations/tacticalrmm/{iid}")
    page.get_by_label("Instance URL").fill("http://127.0.0.1:8010")
    page.locator("#f-api_key").fill("A" * 32)
    page.get_by_role("button", name="Save connection").click()
    error = page.locator("#f-instance_url-error")
    expect(error).to_contain_text("RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS")
    expect(page.locator("#f-api_key")).to_have_value("A" * 32)
    expect(page.get_by_label("Instance URL")).to_be_focused()
    box_field, box_error = page.get_by_label("Instance URL").bounding_box(), error.bounding_box()
    assert box_error["y"] - (box_field["y"] + box_field["height"]) < 120  # beside the field, not 850 px away
    _no_page_overflow(page, width)
    shot(page, f"connection-error-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_rotate_then_reload_keeps_the_secret(account, api, tactical, new_page, width):  # type: ignore[no-untyped-def]
    iid = api.connect_tactical(tactical(clients=1, agents=2))
    page = new_page(width=width, height=900, account=account)
    page.goto(f"/settings/integrations/tacticalrmm/{iid}#webhook")
    page.get_by_role("button", name="Create webhook secret").click()
    secret = page.get_by_label("Webhook secret").input_value()
    assert "/webhook/rotate" not in page.url
    page.reload()
    expect(page.get_by_label("Webhook secret")).to_have_count(0)
    assert api("POST", f"/integrations/{iid}/webhook/reveal")["secret"] == secret  # not rotated again


@pytest.mark.parametrize("width", WIDTHS)
def test_invalid_asset_edit_bulk_mapping_and_assets_list(account, api, tactical, new_page, width):  # type: ignore[no-untyped-def]
    sim = tactical(clients=4, agents=60)
    iid = api.connect_tactical(sim)
    assert api.sync(iid, "scopes")["status"] == "succeeded"
    first = api("GET", f"/integrations/{iid}/mappings")["items"][0]
    api("POST", "/clients", json={"name": first["external_org_name"] + ", Inc."})
    page = new_page(width=width, height=900, account=account)
    page.goto(f"/settings/integrations/tacticalrmm/{iid}#mappings")
    page.get_by_role("link", name="Match by name…").click()
    expect(page.get_by_role("heading", name="Matches by name")).to_be_visible()
    page.get_by_role("button", name="Map the ticked matches").click()
    expect(page.get_by_role("status")).to_contain_text("Mapped 1")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name=re.compile("Create PSA clients for all")).click()
    expect(page.get_by_role("status")).to_contain_text("Created 3 PSA clients")
    assert api.sync(iid, "devices")["status"] == "succeeded"
    asset = api("GET", "/assets", params={"page_size": 1})["items"][0]
    page.goto(f"/assets/{asset['id']}/edit")
    page.get_by_label("Name").fill("   ")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#e-name-error")).to_be_visible()
    page.goto("/assets")
    table, card = page.locator(".asset-table"), page.locator(".table-wrap").first
    assert table.bounding_box()["width"] <= card.bounding_box()["width"] + 1, "the table fits its card"
    _no_page_overflow(page, width)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Export CSV")).click()
    assert download.value.suggested_filename.endswith(".csv")
    shot(page, f"assets-list-{width}")
