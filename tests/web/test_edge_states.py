"""Empty and edge states of issue #17: past the last page, an integration not configured yet,
what a provider cannot do, the webhook header, and the favicon."""

from __future__ import annotations

from tests.conftest import connect_tiny, map_all, run_sync
from tests.web.test_ui_auth import csrf_of, login


async def test_past_the_last_page_and_favicon(http, state, tiny):
    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    await run_sync(http, state, tiny, "devices")
    assert (await login(http, tiny.tenant.emails["admin"], tiny.tenant.password)).status_code == 303
    page = (await http.get("/assets?page=99")).text
    assert "No assets yet" not in page and "Page 99 of" not in page
    assert "Page 99 is past the end: there is 1 page of assets" in page and "Go to the last page" in page
    r = await http.get("/favicon.ico")
    assert r.status_code == 301 and r.headers["location"] == "/static/favicon.svg"
    assert (await http.get("/static/favicon.svg")).status_code == 200
    assert 'rel="icon"' in page


async def test_unconfigured_page_is_a_short_setup_path(http, transport, tenant):
    assert (await login(http, tenant.emails["admin"], tenant.password)).status_code == 303
    token = csrf_of((await http.get("/settings/integrations")).text)
    r = await http.post("/settings/integrations/tacticalrmm/setup", data={"csrf_token": token})
    page = (await http.get(r.headers["location"].split("?")[0])).text
    assert "in three steps" in page and 'id="connection"' in page
    for section in ('id="status"', 'id="sync"', 'id="schedules"', 'id="mappings"', 'id="webhook"'):
        assert section not in page
    # Once configured, the full page is there; a provider's missing capabilities are not offered.
    setup = await connect_tiny(http, transport, tenant, provider="tinypull")
    page = (await http.get(f"/settings/integrations/tinypull/{setup.integration_id}")).text
    assert 'id="sync"' in page and "Ingest software" not in page and "does not offer" not in page
    # The webhook section does not advertise another product's header (it is still accepted).
    tiny = await connect_tiny(http, transport, tenant)
    page = (await http.get(f"/settings/integrations/tinyrmm/{tiny.integration_id}")).text
    assert "Also accepted" not in page and "Create the webhook secret above" in page
