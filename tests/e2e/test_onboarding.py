"""First-run setup and signing in, in a real browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import LiveServer, make_account, shot

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh_live(chromium_path: str, tmp_path) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """A server of its own with an empty database: first-run setup is only offered before any user exists."""
    server = LiveServer(tmp_path)
    yield server
    server.stop()


def test_first_run_setup_creates_tenant_and_admin(fresh_live, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=fresh_live.url)
    page = ctx.new_page()
    page.goto("/")
    assert page.url.endswith("/setup"), "a fresh install sends everyone to the setup page"
    assert page.get_by_role("heading", name="Welcome to rmmbridge").is_visible()
    page.get_by_label("Organization (MSP) name").fill("Northwind IT")
    page.get_by_label("Admin email").fill("owner@northwind.example")
    page.get_by_label("Password", exact=False).first.fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Create and sign in").click()
    # The browser's own validation keeps a too-short password from being sent.
    assert page.url.endswith("/setup")
    page.locator("#password").fill("a long enough password")
    page.get_by_label("Repeat password").fill("a different password!")
    page.get_by_role("button", name="Create and sign in").click()
    assert page.get_by_role("alert").inner_text() == "the two passwords differ"
    assert page.get_by_label("Organization (MSP) name").input_value() == "Northwind IT"
    page.locator("#password").fill("a long enough password")
    page.get_by_label("Repeat password").fill("a long enough password")
    page.get_by_role("button", name="Create and sign in").click()
    page.wait_for_url(fresh_live.url + "/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_text("owner@northwind.example").is_visible()
    assert page.get_by_role("link", name="Connect your RMM").is_visible()  # onboarding steps on an empty dashboard
    shot(page, "first-run-setup-dashboard")
    # Setup is gone once an administrator exists.
    response = page.goto("/setup")
    assert response is not None and response.status == 404
    ctx.close()


def test_login_wrong_password_then_success_then_logout(live, new_page):
    account = make_account(live, "login")
    page = new_page()
    page.goto("/assets")
    assert "/login" in page.url, "signed-out visitors are sent to the login page"
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "wrong email or password"
    assert page.get_by_label("Email").input_value() == account.email
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/assets")
    assert page.get_by_role("heading", name="Assets").is_visible()
    shot(page, "login-landed-on-assets")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto("/")
    assert "/login" in page.url
