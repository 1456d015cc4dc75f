"""NinjaOne "Connect with NinjaOne" in Chromium: settings page → the simulator's consent page →
rmmbridge's callback → connected card. The simulator's host is served to the browser by routing its
requests to the in-process simulator (the browser sees the real consent page, clicks Allow, and is
redirected back to the live server's callback)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import Api, shot

pytestmark = pytest.mark.e2e

NINJA = "/settings/integrations/ninjaone"


def test_connect_with_ninjaone_in_the_browser(live, account, new_page):
    from rmmbridge.simulators.ninjaone import WEB_CLIENT_ID, WEB_CLIENT_SECRET, create_app, generate_fleet

    fleet = generate_fleet(seed=9, orgs=2, devices=20)
    sim_app = create_app(fleet)
    host = f"sim-{uuid.uuid4().hex[:8]}-eu.ninjarmm.com"
    live.transport.add(host, sim_app)
    sim_app.state.sim.apps[WEB_CLIENT_ID].redirect_uris = [f"{live.url}/integrations/ninjaone/callback"]
    api = Api(live, account)
    iid = api("POST", "/integrations", json={"provider": "ninjaone"})["id"]
    api(
        "PUT",
        f"/integrations/{iid}/credentials",
        json={
            "instance_url": f"https://{host}",
            "auth_mode": "authorization_code",
            "values": {"region": "custom", "client_id": WEB_CLIENT_ID, "client_secret": WEB_CLIENT_SECRET},
        },
    )

    async def forward(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=f"https://{host}") as c:
            r = await c.request(method, url, content=body, headers=headers)
            await r.aread()
            return r

    def serve_sim(route: Any) -> None:
        req = route.request
        headers = {k: v for k, v in req.headers.items() if k.lower() in ("content-type", "cookie")}
        r = live.call(forward(req.method, req.url, req.post_data_buffer, headers))
        route.fulfill(status=r.status_code, headers=dict(r.headers), body=r.content)

    page = new_page(account=account)
    page.route(re.compile(rf"https://{re.escape(host)}/.*"), serve_sim)
    page.goto(f"{NINJA}?id={iid}")
    expect(page.locator(".page-head .badge")).not_to_have_text("Connected")
    page.get_by_role("link", name="Connect with NinjaOne").click()
    page.wait_for_url(re.compile(rf"https://{re.escape(host)}/ws/oauth/authorize.*"))
    expect(page.locator("h1")).to_have_text("Authorize application")
    expect(page.locator("#scopes")).to_contain_text("offline_access")
    shot(page, "ninjaone-consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r".*/settings/integrations/ninjaone.*"))
    expect(page.get_by_role("status")).to_contain_text("Connected with NinjaOne")
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    shot(page, "ninjaone-connected")
    out = api("GET", f"/integrations/{iid}")
    assert out["state"] == "connected" and out["auth_mode"] == "authorization_code"
