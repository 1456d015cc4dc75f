"""Issue #17 in the browser at 1280 px: choose the assets list's columns, save the view, reload,
apply it from the picker, and export it as CSV with exactly the chosen columns."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect
CHOSEN = ["Name", "Client", "Type", "Agent", "Last seen", "Status", "Serial number"]


def _headers(page):  # type: ignore[no-untyped-def]
    texts = page.locator(".asset-table thead th:not(.select-col)").evaluate_all("els => els.map(e => e.textContent)")
    return [re.sub(r"[▲▼↕]", "", t).split(",")[0].strip() for t in texts]


def _fits(page, width: int) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no horizontal page scroll"
    table, card = page.locator(".asset-table").bounding_box(), page.locator(".table-wrap").first.bounding_box()
    assert table["width"] <= card["width"] + 1, "the table fits its card"


def test_columns_saved_view_and_csv(account, api, tactical, new_page):  # type: ignore[no-untyped-def]
    sim = tactical(clients=3, agents=40, seed=11)
    api.fleet_ready(sim)
    servers = api("GET", "/assets", params={"asset_type": "server", "page_size": 1})["total"]
    assert servers > 0
    page = new_page(width=1280, height=900, account=account)
    page.goto("/assets")
    page.get_by_label("Type", exact=True).select_option("server")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r".*asset_type=server.*"))

    # Choose the columns: drop Health, OS, User and IP, add the serial number.
    page.locator(".columns-box > summary").click()
    for label in ("Health", "OS", "User", "IP"):
        page.get_by_label(f"{label} column", exact=True).uncheck()
    page.get_by_label("Serial number column", exact=True).check()
    page.get_by_role("button", name="Show columns").click()
    page.wait_for_url(re.compile(r".*col=serial.*"))
    assert "asset_type=server" in page.url
    assert _headers(page) == CHOSEN
    expect(page.locator(".asset-table tbody tr")).to_have_count(servers)
    _fits(page, 1280)

    # Save it under a name.
    page.locator(".views-box > summary").click()
    page.get_by_label("Name of this view").fill("Servers with serials")
    page.get_by_role("button", name="Save view", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved the view “Servers with serials”.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Servers with serials")

    # Reload, then start from the plain list and apply the view from the picker.
    page.reload()
    assert _headers(page) == CHOSEN
    page.goto("/assets")
    assert "Serial number" not in _headers(page) and "OS" in _headers(page)
    page.get_by_label("Saved view").select_option(label="Servers with serials")
    page.get_by_role("button", name="Apply view").click()
    page.wait_for_url(re.compile(r".*view=.*"))
    assert _headers(page) == CHOSEN
    expect(page.locator(".asset-table tbody tr")).to_have_count(servers)
    expect(page.get_by_label("Type", exact=True)).to_have_value("server")
    _fits(page, 1280)
    shot(page, "assets-saved-view-1280")

    # The CSV export has the chosen columns, and the view's rows.
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Export CSV")).click()
    text = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "client", "type", "agent_status", "last_seen", "status", "serial"]
    assert len(rows) == servers + 1 and {r[2] for r in rows[1:]} == {"server"}


def test_saved_view_on_a_phone(account, api, tactical, new_page):  # type: ignore[no-untyped-def]
    """390 px: a view saved elsewhere is applied from the picker, the page does not scroll sideways,
    and the export still has the view's columns (the phone hides secondary columns on screen only)."""
    sim = tactical(clients=2, agents=20, seed=12)
    api.fleet_ready(sim)
    servers = api("GET", "/assets", params={"asset_type": "server", "page_size": 1})["total"]
    columns = ["name", "client", "type", "agent", "last_seen", "status", "serial"]
    api("POST", "/asset-views", json={"name": "Servers (phone)", "filters": {"asset_type": "server"}, "columns": columns})
    page = new_page(width=390, height=844, account=account)
    page.goto("/assets")
    page.get_by_label("Saved view").select_option(label="Servers (phone)")
    page.get_by_role("button", name="Apply view").click()
    page.wait_for_url(re.compile(r".*view=.*"))
    expect(page.locator(".asset-table tbody tr")).to_have_count(servers)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no horizontal page scroll"
    shot(page, "assets-saved-view-390")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Export CSV")).click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert rows[0] == ["name", "client", "type", "agent_status", "last_seen", "status", "serial"]
    assert len(rows) == servers + 1 and {r[2] for r in rows[1:]} == {"server"}
