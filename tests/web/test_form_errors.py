"""Every UI form refuses bad input inline, never with a 500 (issue #17): the error stands beside
its field in plain words, what was typed is kept (secrets too, in that one answer), the first
invalid field is focused, and state-changing forms redirect after their POST."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from rmmbridge.storage.models import Asset, RmmIntegration
from tests.conftest import connect_tiny, map_all, run_sync
from tests.web.test_ui_auth import csrf_of, login


async def _signed_in(http, tenant) -> str:
    assert (await login(http, tenant.emails["admin"], tenant.password)).status_code == 303
    return csrf_of((await http.get("/settings/account")).text)


async def test_asset_edit_with_a_blank_name_is_shown_inline(http, state, tiny, db):
    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    await run_sync(http, state, tiny, "devices")
    asset = await db.scalar(select(Asset).where(Asset.tenant_id == tiny.tenant.tenant_id).limit(1))
    token = await _signed_in(http, tiny.tenant)
    r = await http.post(f"/assets/{asset.id}/edit", data={"name": "   ", "location": "Rack 4", "notes": "kept",
                                                          "csrf_token": token})  # fmt: skip
    assert r.status_code == 422, r.text[:500]
    assert 'id="e-name-error"' in r.text and "Enter a name (spaces alone are not a name)" in r.text
    assert re.search(r'id="e-name"[^>]*aria-invalid="true"[^>]*autofocus', r.text)
    assert 'value="Rack 4"' in r.text and ">kept</textarea>" in r.text
    again = await db.scalar(
        select(Asset.name).where(Asset.tenant_id == tiny.tenant.tenant_id, Asset.id == asset.id)
        .execution_options(populate_existing=True)
    )  # fmt: skip
    assert again == asset.name  # nothing written
    r = await http.post(f"/assets/{asset.id}/edit", data={"name": asset.name, "client_id": "not-a-client",
                                                          "csrf_token": token})  # fmt: skip
    assert r.status_code == 422 and 'id="e-client_id-error"' in r.text


async def test_connection_form_keeps_what_was_typed_and_marks_the_field(http, transport, tenant):
    setup = await connect_tiny(http, transport, tenant)
    token = await _signed_in(http, tenant)
    base = f"/settings/integrations/tinyrmm/{setup.integration_id}"
    r = await http.post(base + "/credentials", data={"instance_url": "", "api_key": "typed-key-9876",
                                                     "page_size": "many", "csrf_token": token})  # fmt: skip
    assert r.status_code == 422
    assert 'id="f-page_size-error"' in r.text and "Enter a whole number." in r.text
    assert re.search(r'id="f-page_size"[^>]*aria-invalid="true"[^>]*autofocus', r.text)
    assert 'value="typed-key-9876"' in r.text  # the key typed in this post is not lost
    assert "page_size:" not in r.text and "Field required" not in r.text  # no internals
    # The key that was stored before is still the one in use (nothing was saved).
    r = await http.get(f"/api/v1/integrations/{setup.integration_id}", headers=tenant.headers())
    assert r.json()["credentials"]["api_key"].endswith(setup.fleet.api_key[-4:])


async def test_http_url_names_the_operator_setting_and_hides_the_checkbox(http, tenant):
    token = await _signed_in(http, tenant)
    r = await http.post("/settings/integrations/tacticalrmm/setup", data={"csrf_token": token})
    page_url = r.headers["location"].split("?")[0]
    page = await http.get(page_url)
    assert 'name="allow_insecure_url"' not in page.text  # the operator forbids http://: nothing to tick
    r = await http.post(page_url + "/credentials", data={"instance_url": "http://127.0.0.1:8123", "auth_mode": "api_key",
                                                         "api_key": "k" * 32, "csrf_token": token})  # fmt: skip
    assert r.status_code == 422
    assert 'id="f-instance_url-error"' in r.text and "RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS=true" in r.text
    assert 'value="http://127.0.0.1:8123"' in r.text and 'value="' + "k" * 32 + '"' in r.text
    # Ticking a checkbox the page does not offer changes nothing: the operator's policy wins.
    r = await http.post(page_url + "/credentials", data={"instance_url": "http://127.0.0.1:8123", "auth_mode": "api_key",
                                                         "api_key": "k" * 32, "allow_insecure_url": "true",
                                                         "allow_insecure_url__shown": "1", "csrf_token": token})  # fmt: skip
    assert r.status_code == 422 and "RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS" in r.text


async def test_rotate_redirects_and_a_reload_keeps_the_secret(http, transport, tenant, db):
    setup = await connect_tiny(http, transport, tenant)
    token = await _signed_in(http, tenant)
    base = f"/settings/integrations/tinyrmm/{setup.integration_id}"
    r = await http.post(base + "/webhook/rotate", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith(base + "?")
    shown = await http.get(r.headers["location"])
    secret = re.search(r'id="webhook-secret" value="(whs_[^"]+)"', shown.text)
    assert secret, "the new secret is shown once after the redirect"
    row = await db.scalar(select(RmmIntegration).where(RmmIntegration.id == uuid.UUID(setup.integration_id)))
    digest = row.webhook_secret_digest
    reloaded = await http.get(r.headers["location"])  # what a browser reload does after a redirect
    assert secret.group(1) not in reloaded.text and reloaded.status_code == 200
    row = await db.scalar(
        select(RmmIntegration).where(RmmIntegration.id == uuid.UUID(setup.integration_id)).execution_options(populate_existing=True)
    )
    assert row.webhook_secret_digest == digest  # not rotated again
    r = await http.post(base + "/webhook/reveal", data={"csrf_token": token})
    assert r.status_code == 303
    assert secret.group(1) in (await http.get(r.headers["location"])).text


async def test_other_forms_refuse_inline(http, transport, tenant):
    setup = await connect_tiny(http, transport, tenant)
    token = await _signed_in(http, tenant)
    base = f"/settings/integrations/tinyrmm/{setup.integration_id}"
    r = await http.post(base + "/schedules/devices", data={"interval": "every tuesday", "enabled": "on",
                                                           "csrf_token": token})  # fmt: skip
    assert r.status_code == 422 and 'value="every tuesday"' in r.text
    r = await http.post(base + "/name", data={"name": "   ", "csrf_token": token})
    assert r.status_code == 422 and "field-error" in r.text
    r = await http.post("/settings/account/password", data={"current_password": tenant.password, "password": "x" * 14,
                                                            "password2": "y" * 14, "csrf_token": token})  # fmt: skip
    assert r.status_code == 422 and 'id="password2-error"' in r.text
    r = await http.post("/settings/account/password", data={"current_password": "wrong", "password": "x" * 14,
                                                            "password2": "x" * 14, "csrf_token": token})  # fmt: skip
    assert r.status_code == 422 and 'id="current_password-error"' in r.text
    r = await http.post(base + "/test", data={"totp_code": "12ab", "csrf_token": token})
    assert r.status_code == 303 and "error=" in r.headers["location"]
