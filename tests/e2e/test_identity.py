"""One asset per machine in the browser: the review queue (merge, unmerge from the sources panel),
the asset page's sources panel and the coverage report, over Tactical and Tanium sharing machines."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from .conftest import shot

pytestmark = pytest.mark.e2e


def _shared_setup(live, api):  # type: ignore[no-untyped-def]
    from rmmbridge.simulators import tacticalrmm as tac
    from rmmbridge.simulators import tanium as tan
    from rmmbridge.simulators.tacticalrmm.shared import apply_shared_fleet as share_tac
    from rmmbridge.simulators.tanium.shared import apply_shared_fleet as share_tan

    now = datetime.now(UTC)
    tfleet = tac.generate_fleet(seed=41, clients=2, agents=30, sites_per_client=2, now=now)
    share_tac(tfleet, 7, 0.6)
    nfleet = tan.generate_fleet(seed=23, groups=2, endpoints=24, now=now)
    share_tan(nfleet, 7, 0.6)
    thost, nhost = f"tac-{uuid.uuid4().hex[:8]}.example", f"t{uuid.uuid4().hex[:8]}-api.cloud.tanium.com"
    live.transport.add(thost, tac.create_app(tfleet))
    live.transport.add(nhost, tan.create_app(nfleet))
    client = api("POST", "/clients", json={"name": "Shared Co"})["id"]
    ids = []
    for provider, url, values, only in (
        ("tacticalrmm", f"https://{thost}", {"api_key": tac.DEFAULT_CREDENTIALS.api_key}, None),
        ("tanium", f"https://{nhost}", {"api_token": tan.DEFAULT_TOKEN}, {tan.ALL_COMPUTERS_ID}),
    ):
        iid = api("POST", "/integrations", json={"provider": provider})["id"]
        api("PUT", f"/integrations/{iid}/credentials", json={"instance_url": url, "values": values})
        assert api("POST", f"/integrations/{iid}/test")["ok"]
        assert api.sync(iid, "scopes")["status"] == "succeeded"
        for m in api("GET", f"/integrations/{iid}/mappings", params={"page_size": 500})["items"]:
            if only is None or m["external_org_id"] in only:
                api("PATCH", f"/integrations/{iid}/mappings/{m['id']}", json={"client_id": client})
        ids.append(iid)
    for iid in ids:
        assert api.sync(iid, "devices")["status"] == "succeeded"
    return client


def test_review_queue_sources_panel_and_coverage(live, account, api, new_page) -> None:  # type: ignore[no-untyped-def]
    _shared_setup(live, api)
    page = new_page(account=account)

    # Dashboard counts.
    page.goto("/")
    expect(page.locator("[data-dash-candidates] .stat-value")).not_to_have_text("0")
    expect(page.locator("[data-dash-coverage]")).to_be_visible()

    # The review queue: candidates side by side with their evidence; merge one.
    page.get_by_role("link", name="Review").click()
    page.wait_for_url(re.compile(r".*/identity/review"))
    rows = page.locator("[data-candidates] tbody tr")
    expect(rows.first).to_be_visible()
    before = rows.count()
    expect(rows.first).to_contain_text(re.compile("mac|host"))
    shot(page, "identity-review")
    rows.first.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Merged")

    # The asset page's sources panel: both devices, each with its status; unmerge one.
    panel = page.locator("[data-sources]")
    expect(panel.locator("tbody tr")).to_have_count(2)
    expect(panel).to_contain_text(re.compile("online|offline|overdue|unknown"))
    shot(page, "identity-asset-sources")
    panel.locator("tbody tr").nth(1).get_by_role("button", name="Unmerge").click()
    expect(page.get_by_role("status")).to_contain_text("Unmerged")
    expect(page.locator("[data-sources] tbody tr")).to_have_count(1)

    # The pair is remembered: never proposed again, one fewer open candidate.
    page.goto("/identity/review")
    expect(page.locator("[data-candidates] tbody tr")).to_have_count(before - 1) if before > 1 else expect(
        page.locator("[data-empty]")
    ).to_be_visible()
    page.goto("/identity/review?status=never")
    expect(page.locator("[data-candidates] tbody tr")).to_have_count(1)

    # Coverage: per client counts, filter, CSV export.
    page.goto("/identity/coverage")
    expect(page.locator("[data-coverage-totals]")).to_contain_text("coverage gaps")
    expect(page.locator("[data-coverage-client]").first).to_contain_text(re.compile(r"in .+, not in .+"))
    page.get_by_label("Show").select_option("gap")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("[data-coverage-rows] tbody tr").first).to_contain_text("Gap")
    shot(page, "identity-coverage")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "coverage.csv"
