"""Authorization code with PKCE and state, through the UI over HTTP (browser steps done by hand here;
tests/e2e/test_ninjaone_connect.py drives the same flow in Chromium): settings page → consent page
on the simulator → callback → connected. State is one-time, bound to the user, and never trusted."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from rmmbridge.simulators.ninjaone import DEFAULT_CLIENT_ID, WEB_CLIENT_ID, WEB_CLIENT_SECRET
from rmmbridge.storage.models import OAuthAuthorization
from tests.conftest import make_tenant

from .test_section10 import _SIM_APPS, connect

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def signed_in(app: Any, tenant: Any) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    page = await client.get("/login")
    token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    r = await client.post(
        "/login", data={"email": tenant.emails["admin"], "password": tenant.password, "csrf_token": token}
    )
    assert r.status_code == 303, r.text
    return client


async def start_connect(ui: httpx.AsyncClient, setup: Any) -> str:
    page = await ui.get(f"/settings/integrations/ninjaone/{setup.integration_id}")
    assert page.status_code == 200 and "Connect with NinjaOne" in page.text
    link = re.search(r'id="oauth-connect" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    # Without the page's CSRF token the link does nothing.
    assert (await ui.get(link.split("?")[0])).status_code in (403, 303)
    r = await ui.get(link)
    assert r.status_code == 303, r.text
    return r.headers["location"]


async def consent(setup: Any, authorize_url: str, decision: str = "allow") -> str:
    parts = urlsplit(authorize_url)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_SIM_APPS[setup.host]), base_url=f"https://{parts.hostname}"
    ) as sim:
        page = await sim.get(parts.path + "?" + parts.query)
        assert page.status_code == 200 and "Authorize application" in page.text, page.text
        r = await sim.post(parts.path + "?" + parts.query, data={"decision": decision})
        assert r.status_code == 302
        return r.headers["location"]


async def test_authorization_code_with_pkce_and_state(http, state, transport, tenant, app, db, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    setup = await connect(
        http,
        transport,
        tenant,
        app,
        auth_mode="authorization_code",
        client_id=WEB_CLIENT_ID,
        client_secret=WEB_CLIENT_SECRET,
    )
    setup.sim.apps[WEB_CLIENT_ID].redirect_uris = ["http://testserver/integrations/ninjaone/callback"]
    ui = await signed_in(app, tenant)
    try:
        url = await start_connect(ui, setup)
        q = parse_qs(urlsplit(url).query)
        assert q["code_challenge_method"] == ["S256"] and q["redirect_uri"] == [
            "http://testserver/integrations/ninjaone/callback"
        ]
        assert set(q["scope"][0].split()) == {"monitoring", "management", "offline_access"}
        raw_state = q["state"][0]
        assert len(raw_state) >= 43 and str(tenant.tenant_id) not in raw_state  # carries no trusted data
        back = await consent(setup, url)
        code = parse_qs(urlsplit(back).query)["code"][0]
        r = await ui.get(urlsplit(back).path + "?" + urlsplit(back).query)
        assert r.status_code == 303 and "ok=" in r.headers["location"], r.headers
        out = (await http.get(f"/api/v1/integrations/{setup.integration_id}", headers=tenant.headers())).json()
        assert out["state"] == "connected" and out["is_active"]
        # One-time: the same answer again is refused, and nothing is exchanged twice.
        r = await ui.get(urlsplit(back).path + "?" + urlsplit(back).query)
        assert r.status_code == 303 and "error=" in r.headers["location"]
        rows = (
            await db.scalars(select(OAuthAuthorization).where(OAuthAuthorization.tenant_id == tenant.tenant_id))
        ).all()
        assert rows and all(row.used_at is not None for row in rows) and raw_state not in str(rows[0].state_digest)
        # Denied consent: not connected, a clear message.
        url = await start_connect(ui, setup)
        back = await consent(setup, url, "deny")
        r = await ui.get(urlsplit(back).path + "?" + urlsplit(back).query)
        assert "error=" in r.headers["location"] and "denied" in r.headers["location"]
    finally:
        await ui.aclose()
    # rmmbridge logs no code and no state (the test's own HTTP client logs its URLs: not ours).
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert code not in ours and raw_state not in ours


async def test_state_from_another_user_is_refused(http, state, transport, tenant, app) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(
        http,
        transport,
        tenant,
        app,
        auth_mode="authorization_code",
        client_id=WEB_CLIENT_ID,
        client_secret=WEB_CLIENT_SECRET,
    )
    setup.sim.apps[WEB_CLIENT_ID].redirect_uris = ["http://testserver/integrations/ninjaone/callback"]
    ui = await signed_in(app, tenant)
    other = await make_tenant(state, "o")
    intruder = await signed_in(app, other)
    try:
        back = await consent(setup, await start_connect(ui, setup))
        r = await intruder.get(urlsplit(back).path + "?" + urlsplit(back).query)
        assert r.status_code in (303, 403)
        out = (await http.get(f"/api/v1/integrations/{setup.integration_id}", headers=tenant.headers())).json()
        assert out["state"] != "connected"
        # A made-up state is refused.
        r = await ui.get("/integrations/ninjaone/callback?code=abc&state=forged")
        assert r.status_code == 303 and "error=" in r.headers["location"]
    finally:
        await ui.aclose()
        await intruder.aclose()


async def test_settings_page_region_picker_and_webhook_button(http, state, transport, tenant, app) -> None:  # type: ignore[no-untyped-def]
    setup = await connect(http, transport, tenant, app)
    ui = await signed_in(app, tenant)
    try:
        page = await ui.get(f"/settings/integrations/ninjaone/{setup.integration_id}")
        assert page.status_code == 200
        assert 'name="region"' in page.text and 'value="us2"' in page.text and 'name="instance_url"' in page.text
        assert "Configure NinjaOne webhook" in page.text and "Connect with NinjaOne" not in page.text
        token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
        r = await ui.post(
            f"/settings/integrations/ninjaone/{setup.integration_id}/credentials",
            data={
                "csrf_token": token,
                "region": "ca",
                "instance_url": "",
                "auth_mode": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
            },
        )
        assert r.status_code in (200, 303), r.text
        out = (await http.get(f"/api/v1/integrations/{setup.integration_id}", headers=tenant.headers())).json()
        assert out["instance_url"] == "https://ca.ninjarmm.com" and out["settings"]["region"] == "ca"
        cards = await ui.get("/settings/integrations")
        assert "NinjaOne" in cards.text
    finally:
        await ui.aclose()
