"""Settings → Integrations → RMM: connect Tactical RMM, test, sync, map, webhook secret, disconnect."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import Api, make_account, now_utc, shot

pytestmark = pytest.mark.e2e

SETTINGS = "/settings/integrations"
TACTICAL = SETTINGS + "/tacticalrmm"


def credentials():  # type: ignore[no-untyped-def]
    from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS

    return DEFAULT_CREDENTIALS


def set_up_tactical(page, url: str) -> None:  # type: ignore[no-untyped-def]
    """From the RMM tab: the Tactical card's "Set up" creates the integration; then the URL."""
    page.goto(SETTINGS)
    card = page.locator(".provider-card", has_text="Tactical RMM")
    expect(card.locator(".badge")).to_have_text("Not configured")
    card.get_by_role("button", name="Set up Tactical RMM").click()
    page.wait_for_url(re.compile(r".*/settings/integrations/tacticalrmm.*"))
    expect(page.get_by_role("status")).to_contain_text("Tactical RMM added")
    page.get_by_label("Instance URL").fill(url)


def test_configure_tactical_with_api_key(live, account, tactical, new_page):
    sim = tactical()
    key = credentials().api_key
    page = new_page(account=account)
    set_up_tactical(page, sim.url.replace("https://", "http://"))
    page.locator("#f-api_key").fill(key)
    page.get_by_role("button", name="Save connection").click()
    # Invalid input is explained beside its field and nothing is stored; what was typed stays
    # (the key too, in this one answer), and the operator's setting is named (issue #17).
    expect(page.locator("#f-instance_url-error")).to_contain_text("http:// would send the Tactical credentials in clear")
    expect(page.locator("#f-instance_url-error")).to_contain_text("RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS")
    expect(page.get_by_label("Instance URL")).to_have_value(sim.url.replace("https://", "http://"))
    expect(page.locator("#f-api_key")).to_have_value(key)
    page.get_by_label("Instance URL").fill(sim.url)
    # API-key mode is the default: the password-mode fields are not shown.
    expect(page.locator("#mode-api_key")).to_be_checked()
    expect(page.locator("#f-username")).to_be_hidden()
    page.locator("#f-api_key").fill(key)
    page.get_by_role("button", name="Save connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection details saved")
    # The key is never echoed back: the field is empty and only its last 4 characters are shown.
    expect(page.locator("#f-api_key")).to_have_value("")
    expect(page.locator("#f-api_key-help")).to_contain_text(f"Stored value ends in {key[-4:]}")
    assert key not in page.content()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection test passed")
    checks = page.get_by_role("list", name="Preflight checks").get_by_role("listitem")
    expect(checks.filter(has_text="Credentials")).to_contain_text("API key accepted")
    assert checks.count() >= 5
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    expect(page.locator("#status")).to_contain_text(sim.host)
    shot(page, "settings-tactical-connected-1280")
    # Saving again with the secret left blank keeps it (and the test still passes).
    page.get_by_label("Instance URL").fill(sim.url + "/api")  # a pasted suffix is normalised away
    page.get_by_role("button", name="Save connection").click()
    expect(page.locator("#f-api_key-help")).to_contain_text(f"Stored value ends in {key[-4:]}")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection test passed")

    narrow = new_page(width=390, height=844, account=account)
    narrow.goto(TACTICAL)
    expect(narrow.get_by_role("heading", name="Tactical RMM", exact=True)).to_be_visible()
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 390, "no horizontal page scroll at 390 px"
    shot(narrow, "settings-tactical-connected-390")
    narrow.goto(SETTINGS)
    shot(narrow, "settings-integrations-390")
    page.goto(SETTINGS)
    expect(page.locator(".provider-card", has_text="Tactical RMM").locator(".badge")).to_have_text("Connected")
    shot(page, "settings-integrations-1280")


def test_password_sign_in_asks_for_the_totp_code(live, account, tactical, new_page):
    from rmmbridge.simulators.tacticalrmm import totp

    sim = tactical()
    creds = credentials()
    page = new_page(account=account)
    set_up_tactical(page, sim.url)
    page.get_by_label("User name and password").check()
    expect(page.locator("#f-api_key")).to_be_hidden()
    page.locator("#f-username").fill(creds.totp_username)
    page.locator("#f-password").fill(creds.totp_password)
    page.get_by_role("button", name="Save connection").click()
    expect(page.locator("#mode-password")).to_be_checked()
    # Nothing of a stored password is shown, not even its end (issue #14 item 14).
    expect(page.locator("#f-password-help")).to_contain_text("Stored; leave blank to keep it.")
    expect(page.locator("#f-password-help")).not_to_contain_text(creds.totp_password[-4:])
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("alert")).to_contain_text("one-time code")
    code_field = page.get_by_label("One-time code")
    expect(code_field).to_be_visible()
    expect(code_field).to_be_focused()
    shot(page, "settings-tactical-totp-prompt")
    code_field.fill(totp(creds.totp_secret, now_utc()))
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection test passed")
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    expect(page.get_by_label("One-time code")).to_have_count(0)
    expect(page.locator("#status")).to_contain_text("User name and password")


def test_failing_preflight_shows_the_check_and_its_fix(live, account, tactical, new_page):
    sim = tactical()
    page = new_page(account=account)
    set_up_tactical(page, sim.url)
    page.locator("#f-api_key").fill("WRONGKEY" * 4)
    page.get_by_role("button", name="Save connection").click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("alert")).to_contain_text("Connection test failed")
    failed = page.locator(".check-fail")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Credentials")
    expect(failed.locator(".fix")).to_contain_text("How to fix: Create a new API key in Tactical")
    expect(page.locator(".check-ok").first).to_contain_text("Reachable")
    expect(page.locator(".page-head .badge")).to_have_text("Needs attention")
    # Syncs are refused, with the reason shown next to each button.
    expect(page.get_by_role("button", name="Sync devices")).to_be_disabled()
    expect(page.locator("#reason-devices")).to_contain_text("Test the connection first")
    shot(page, "settings-tactical-failing-preflight")
    # Replacing only the key (the URL is kept) fixes it.
    page.locator("#f-api_key").fill(credentials().api_key)
    page.get_by_role("button", name="Save connection").click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_contain_text("Connection test passed")
    expect(page.locator(".check-fail")).to_have_count(0)


def test_sync_clients_then_map_and_create_client(live, account, api, tactical, new_page):
    sim = tactical(clients=4, agents=20)
    iid = api.connect_tactical(sim)
    existing = api("POST", "/clients", json={"name": "Acme Existing Ltd"})
    page = new_page(account=account)
    page.goto(TACTICAL)
    expect(page.locator("#mappings")).to_contain_text("No clients yet")
    page.get_by_role("button", name="Sync clients").click()
    expect(page.locator(".run-panel").first).to_be_visible()
    expect(page.locator(".run-panel [data-run-field=status]").first).to_have_text("succeeded", timeout=20_000)
    rows = page.locator(".mapping-table tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator(".mapping-table .badge", has_text="unmapped")).to_have_count(4)
    names = sorted(c.name for c in sim.fleet.clients.values())
    assert [rows.nth(i).locator(".org-name").inner_text() for i in range(4)] == names

    # Map the first organization to an existing PSA client.
    first = names[0]
    page.get_by_label(f"PSA client for {first}").select_option(label="Acme Existing Ltd")
    page.get_by_role("button", name=f"Save mapping of {first}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved the mapping of “{first}”")
    # Mapped rows sort after the unmapped ones.
    expect(rows.last.locator(".org-name")).to_have_text(first)
    expect(page.get_by_label(f"PSA client for {first}")).to_have_value(existing["id"])

    # Create a PSA client from the second organization.
    second = names[1]
    page.get_by_role("button", name=f"Create client “{second}”").click()
    expect(page.get_by_role("status")).to_contain_text(f"Created client “{second}” and mapped it")
    expect(page.locator(".mapping-table .badge", has_text="unmapped")).to_have_count(2)
    clients = {c["name"] for c in api("GET", "/clients")["items"]}
    assert second in clients

    # Auto-sync off for the first one.
    page.get_by_label(f"Auto-sync devices of {first}").uncheck()
    page.get_by_role("button", name=f"Save mapping of {first}").click()
    expect(page.get_by_label(f"Auto-sync devices of {first}")).not_to_be_checked()

    # Search.
    page.get_by_label("Search clients").fill(second[:6])
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(second)
    shot(page, "settings-mapping-search")

    # An organization that disappears from Tactical is flagged, never deleted.
    gone = next(c for c in sim.fleet.clients.values() if c.name == names[2])
    sim.fleet.clients.pop(gone.id)
    assert api.sync(iid, "scopes")["status"] == "succeeded"
    page.goto(TACTICAL + "#mappings")
    missing = page.locator(".mapping-table tr.row-missing")
    expect(missing).to_have_count(1)
    expect(missing).to_contain_text(names[2])
    expect(missing.locator(".badge", has_text="missing since")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("1 missing")
    shot(page, "settings-mapping-missing-flagged")


def test_sync_devices_shows_live_progress(live, account, api, tactical, new_page):
    from rmmbridge.simulators.faults import Fault

    sim = tactical(clients=3, agents=36)
    iid = api.connect_tactical(sim, page_size=3)
    assert api.sync(iid, "scopes")["status"] == "succeeded"
    api.map_all(iid)
    # Slow agent pages down so the run is visibly in progress for a few seconds.
    sim.app.state.faults.add(Fault("slow", path_contains="/beta/v1/agent/", delay_s=0.45))
    page = new_page(account=account)
    page.goto(TACTICAL)
    page.get_by_role("button", name="Sync devices").click()
    panel = page.locator(".run-panel[data-run-kind=devices]")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("progressbar", name="Devices sync progress")).to_be_visible()
    assert panel.locator("[aria-live=polite]").count() == 1
    expect(panel.locator("[data-run-field=status]")).to_have_text(re.compile("queued|running"))
    # Counters move while the run is going.
    expect(panel.locator("[data-run-field=counters]")).to_contain_text(re.compile(r"[1-9]\d* of 36 devices"))
    bar = panel.get_by_role("progressbar")
    page.wait_for_function("el => Number(el.getAttribute('aria-valuenow')) > 0", arg=bar.element_handle())
    shot(page, "settings-sync-devices-in-progress", full_page=False)
    expect(page.get_by_role("button", name="Sync devices")).to_be_disabled()
    # Finished: the page reloads itself with the outcome, the counts and the history.
    panel = page.locator(".run-panel[data-run-kind=devices]")
    expect(panel.locator("[data-run-field=status]")).to_have_text("succeeded", timeout=30_000)
    expect(panel.locator("[data-run-field=counters]")).to_contain_text("36 created")
    # The reloaded page renders the finished run itself (no polling, not marked by the script).
    page.wait_for_selector(".run-panel[data-run-kind=devices]:not([data-run-poll]):not([data-run-done])")
    expect(page.locator("#sync table tbody tr").first).to_contain_text("succeeded")
    online = int(page.locator("#status .stat", has_text="Online").locator(".stat-value").inner_text())
    offline = int(page.locator("#status .stat", has_text="Offline").locator(".stat-value").inner_text())
    overdue = int(page.locator("#status .stat", has_text="Overdue").locator(".stat-value").inner_text())
    assert online + offline + overdue == 36
    shot(page, "settings-sync-devices-finished")


def test_webhook_secret_reveal_copy_rotate(live, account, api, tactical, new_page, browser):
    sim = tactical(clients=2, agents=6)
    iid = api.connect_tactical(sim)
    page = new_page(account=account, permissions=["clipboard-read", "clipboard-write"])
    page.goto(TACTICAL + "#webhook")
    section = page.locator("#webhook")
    expect(section.get_by_label("Webhook URL")).to_have_value(f"{live.url}/api/webhooks/tacticalrmm")
    expect(section.get_by_label("Header name")).to_have_value("X-Webhook-Secret")
    expect(section).to_contain_text("not created yet")
    # Not revealed: the headers read the secret from Tactical's key store, and a step says where.
    expect(section.locator("ol.steps li")).to_have_count(7)
    expect(section.locator("ol.steps")).to_contain_text("Key Store")
    expect(section.locator("pre").filter(has_text="X-Webhook-Secret")).to_contain_text(
        "{{global.RMMBRIDGE_WEBHOOK_SECRET}}"
    )
    section.get_by_role("button", name="Create webhook secret").click()
    expect(page.get_by_role("status")).to_contain_text("Webhook secret created")
    first = page.get_by_label("Webhook secret").input_value()
    assert first.startswith("whs_")
    # The templates now carry the real secret, ready to paste.
    expect(page.locator("#webhook pre").filter(has_text="X-Webhook-Secret")).to_contain_text(first)
    expect(page.locator("#webhook ol.steps li")).to_have_count(6)
    page.get_by_role("button", name="Copy webhook secret").click()
    assert page.evaluate("navigator.clipboard.readText()") == first
    page.get_by_role("button", name="Copy failure template").click()
    assert '"event": "trigger"' in page.evaluate("navigator.clipboard.readText()")

    # Leaving the page hides it again: only the last 4 characters show.
    page.goto(TACTICAL + "#webhook")
    expect(page.get_by_label("Webhook secret")).to_have_count(0)
    expect(page.locator("[data-secret-hint]")).to_have_text("••••" + first[-4:])
    assert first not in page.content()
    # Copy without revealing (fetched by script with the CSRF header).
    page.get_by_role("button", name="Copy secret").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == first
    page.get_by_role("button", name="Reveal webhook secret").click()
    expect(page.get_by_label("Webhook secret")).to_have_value(first)

    # Rotate asks first; cancelling changes nothing.
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name="Rotate webhook secret").click()
    expect(page.get_by_label("Webhook secret")).to_have_value(first)
    messages: list[str] = []

    def accept(dialog):  # type: ignore[no-untyped-def]
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Rotate webhook secret").click()
    expect(page.get_by_role("status")).to_contain_text("New webhook secret created")
    assert "stops working immediately" in messages[0]
    second = page.get_by_label("Webhook secret").input_value()
    assert second.startswith("whs_") and second != first

    # The old secret is refused, the new one accepted; a bad payload is listed with its reason.
    agent = next(iter(sim.fleet.agents.values()))
    body = {
        "event": "trigger",
        "alert_id": "9001",
        "alert_type": "availability",
        "severity": "error",
        "agent_id": agent.agent_id,
        "agent_pk": str(agent.pk),
        "hostname": agent.hostname,
        "message": f"{agent.hostname} is overdue.",
    }
    url = f"{live.url}/api/webhooks/tacticalrmm"
    assert httpx.post(url, content=json.dumps(body), headers={"X-Webhook-Secret": first}).status_code == 401
    assert httpx.post(url, content=json.dumps(body), headers={"X-Webhook-Secret": second}).status_code < 300
    bad = httpx.post(url, content=b"not json at all", headers={"X-Webhook-Secret": second})
    assert bad.status_code == 422
    page.goto(TACTICAL + "#webhook")
    expect(page.locator("#webhook table")).to_contain_text(bad.json()["detail"])
    expect(page.locator("#status .stat", has_text="Webhooks accepted")).to_contain_text("1")
    shot(page, "settings-webhook-section")
    assert iid


def test_disconnect_with_confirmation_keeps_assets(live, account, api, tactical, new_page):
    sim = tactical(clients=2, agents=12)
    api.fleet_ready(sim)
    page = new_page(account=account)
    page.goto(TACTICAL)
    page.get_by_role("link", name="Disconnect…").click()
    page.wait_for_url(re.compile(r".*/disconnect$"))
    confirm = page.locator(".danger-card")
    expect(confirm.get_by_role("heading", name="Disconnect Tactical RMM?")).to_be_visible()
    expect(confirm).to_contain_text("12 assets with their history and software")
    expect(confirm).to_contain_text("2 clients and their client mappings")
    expect(confirm).to_contain_text("The stored credentials")
    shot(page, "settings-disconnect-confirmation")
    # Cancel goes back with nothing changed.
    confirm.get_by_role("link", name="Cancel").click()
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    page.get_by_role("link", name="Disconnect…").click()
    page.get_by_role("button", name="Disconnect Tactical RMM").click()
    expect(page.get_by_role("status")).to_contain_text("Tactical RMM disconnected")
    expect(page.locator(".page-head .badge")).to_have_text("Disconnected")
    expect(page.get_by_role("button", name="Sync devices")).to_be_disabled()
    expect(page.locator("#f-api_key-help")).to_contain_text("Not stored yet")
    page.goto("/assets")
    expect(page.locator(".asset-table tbody tr")).to_have_count(12)
    page.goto(SETTINGS)
    expect(page.locator(".provider-card", has_text="Tactical RMM").locator(".badge")).to_have_text("Disconnected")


def test_pull_only_provider_offers_only_what_it_can(live, tactical, new_page):
    from tests.support.tinyrmm import make_fleet, tiny_app

    account = make_account(live, "pull")
    api = Api(live, account)
    fleet = make_fleet(orgs=2, devices=6)
    live.transport.add("tinypull-e2e.example", tiny_app(fleet))
    iid = api("POST", "/integrations", json={"provider": "tinypull"})["id"]
    api(
        "PUT",
        f"/integrations/{iid}/credentials",
        json={"instance_url": "https://tinypull-e2e.example", "values": {"api_key": fleet.api_key}},
    )
    assert api("POST", f"/integrations/{iid}/test")["ok"]
    page = new_page(account=account)
    page.goto(SETTINGS + "/tinypull")
    # What the provider cannot do is not offered at all (no disabled button to wonder about).
    expect(page.get_by_role("button", name="Ingest software")).to_have_count(0)
    expect(page.get_by_role("button", name="Sync alerts")).to_have_count(0)
    expect(page.get_by_role("button", name="Sync organizations")).to_be_enabled()
    expect(page.locator("#webhook")).to_contain_text("pull-only")
    expect(page.locator("#webhook input")).to_have_count(0)
    shot(page, "settings-pull-only")
    api.close()
