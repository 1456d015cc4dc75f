"""Issue #14 item 15 in a real browser: under the Content-Security-Policy every page works with no
violation reported, widths and colours included, and Swagger UI renders from local files."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    return problems


def test_pages_work_under_the_policy(live, account, api, tactical, new_page):
    sim = tactical(clients=2, agents=8)
    iid = api.fleet_ready(sim)
    page = new_page(account=account)
    problems = watch(page)
    for path in ("/", "/assets", "/clients", "/alerts", "/settings/integrations", f"/settings/integrations/{iid}"):
        page.goto(path)
        assert "content-security-policy" in (page.context.request.get(live.url + path).headers)
    page.goto("/")
    swatch = page.locator(".swatch-online").first
    assert swatch.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(31, 157, 98)"
    page.goto("/assets")
    page.locator("table a[href^='/assets/']").first.click()
    page.wait_for_load_state()
    meters = page.locator(".meter > span")
    if meters.count():
        assert meters.first.evaluate("el => el.getBoundingClientRect().width") >= 0
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_swagger_ui_renders_offline_under_the_policy(live, new_page):
    page = new_page()
    problems = watch(page)
    # Anything not served by this service would be a CDN: refuse it, as a machine without Internet would.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live.url) else route.abort())
    page.goto("/api/docs")
    page.locator(".opblock").first.wait_for(timeout=15_000)
    assert page.locator(".opblock").count() > 10
    assert not problems, problems
