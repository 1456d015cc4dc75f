"""Users and API tokens managed from the REST API and the UI (issue #17): roles, disable/enable,
password reset and change, token list and revoke, the audit trail, and the last-admin rule."""

from __future__ import annotations

import re

from sqlalchemy import select

from rmmbridge.storage.models import AuditEntry
from tests.web.test_ui_auth import csrf_of, login

NEW_PASSWORD = "a brand new passphrase"


async def _users(http, tenant):
    page = (await http.get("/api/v1/users", headers=tenant.headers())).json()
    return {u["email"]: u for u in page["items"]}


async def test_roles_disable_and_the_last_admin(http, tenant, other_tenant, db):
    h = tenant.headers()
    people = await _users(http, tenant)
    assert set(people) == set(tenant.emails.values())  # only this tenant's users
    admin, tech = people[tenant.emails["admin"]], people[tenant.emails["technician"]]
    # The only admin can be neither demoted nor disabled.
    r = await http.patch(f"/api/v1/users/{admin['id']}", json={"role": "viewer"}, headers=h)
    assert r.status_code == 409 and "at least one active admin" in r.json()["detail"]
    r = await http.patch(f"/api/v1/users/{admin['id']}", json={"is_active": False}, headers=h)
    assert r.status_code == 409
    # Promote the technician; then the first admin may step down.
    r = await http.patch(f"/api/v1/users/{tech['id']}", json={"role": "admin"}, headers=h)
    assert r.status_code == 200 and r.json()["role"] == "admin"
    r = await http.patch(f"/api/v1/users/{admin['id']}", json={"role": "viewer"}, headers=tenant.headers("technician"))
    assert r.status_code == 200
    # A viewer may not manage users; another tenant's user is not found.
    assert (await http.get("/api/v1/users", headers=tenant.headers("viewer"))).status_code == 403
    foreign = next(iter((await _users(http, other_tenant)).values()))
    r = await http.patch(f"/api/v1/users/{foreign['id']}", json={"role": "viewer"}, headers=tenant.headers("technician"))
    assert r.status_code == 404
    # Disabling stops the user's tokens at once; enabling brings them back.
    viewer = people[tenant.emails["viewer"]]
    th = tenant.headers("technician")
    assert (await http.patch(f"/api/v1/users/{viewer['id']}", json={"is_active": False}, headers=th)).status_code == 200
    assert (await http.get("/api/v1/assets", headers=tenant.headers("viewer"))).status_code == 401
    assert (await http.patch(f"/api/v1/users/{viewer['id']}", json={"is_active": True}, headers=th)).status_code == 200
    assert (await http.get("/api/v1/assets", headers=tenant.headers("viewer"))).status_code == 200
    r = await http.patch(f"/api/v1/users/{viewer['id']}", json={"role": "boss"}, headers=th)
    assert r.status_code == 422
    # Everything is in the audit trail, newest first, with who did it.
    log = (await http.get("/api/v1/audit-log", headers=th)).json()["items"]
    actions = [e["action"] for e in log]
    assert actions[:4] == ["user.enabled", "user.disabled", "user.role_changed", "user.role_changed"]
    assert log[2]["detail"] == {"old": "admin", "new": "viewer"} and log[2]["actor_email"] == tenant.emails["technician"]
    rows = (await db.scalars(select(AuditEntry).where(AuditEntry.tenant_id == other_tenant.tenant_id))).all()
    assert rows == []


async def test_passwords_and_tokens(http, tenant):
    h = tenant.headers()
    people = await _users(http, tenant)
    viewer = people[tenant.emails["viewer"]]
    r = await http.post(f"/api/v1/users/{viewer['id']}/password", json={"password": "short"}, headers=h)
    assert r.status_code == 422 and "password" in r.json()["errors"][0]["field"]
    r = await http.post(f"/api/v1/users/{viewer['id']}/password", json={"password": NEW_PASSWORD}, headers=h)
    assert r.status_code == 200
    assert (await login(http, tenant.emails["viewer"], NEW_PASSWORD)).status_code == 303
    vh = tenant.headers("viewer")
    r = await http.post("/api/v1/me/password", json={"current_password": "wrong one!!!!", "new_password": "x" * 20},
                        headers=vh)  # fmt: skip
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "current_password"
    r = await http.post("/api/v1/me/password", json={"current_password": NEW_PASSWORD, "new_password": "y" * 20},
                        headers=vh)  # fmt: skip
    assert r.status_code == 200
    # Tokens: anyone creates their own; a viewer sees only theirs, an admin every one with its owner.
    r = await http.post("/api/v1/api-tokens", json={"name": "nightly export"}, headers=vh)
    assert r.status_code == 201
    issued = r.json()
    mine = (await http.get("/api/v1/api-tokens", headers=vh)).json()["items"]
    assert {t["name"] for t in mine} == {"viewer token", "nightly export"}
    every = (await http.get("/api/v1/api-tokens", headers=h)).json()["items"]
    assert len(every) == 4 and {t["owner_email"] for t in every} == set(tenant.emails.values())
    assert all("token" not in t and "token_digest" not in t for t in every)
    used = next(t for t in every if t["name"] == "admin token")
    assert used["last_used_at"] is not None
    # The admin revokes the viewer's new token; it stops working; the viewer cannot revoke the admin's.
    r = await http.delete(f"/api/v1/api-tokens/{issued['info']['id']}", headers=h)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert (await http.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"})).status_code == 401
    assert (await http.delete(f"/api/v1/api-tokens/{used['id']}", headers=vh)).status_code == 404
    log = [e["action"] for e in (await http.get("/api/v1/audit-log", headers=h)).json()["items"]]
    assert log[:4] == ["api_token.revoked", "api_token.created", "user.password_changed", "user.password_reset"]


async def test_ui_users_and_tokens_pages(http, tenant):
    assert (await login(http, tenant.emails["admin"], tenant.password)).status_code == 303
    page = await http.get("/settings/users")
    assert page.status_code == 200 and "The only admin" in page.text
    token = csrf_of(page.text)
    # Invalid input: inline error beside the field, what was typed kept (the password too), 422.
    r = await http.post("/settings/users", data={"email": "not-an-email", "role": "technician",
                                                 "password": "long enough pass", "csrf_token": token})  # fmt: skip
    assert r.status_code == 422
    assert 'id="email-error"' in r.text and 'value="not-an-email"' in r.text and 'value="long enough pass"' in r.text
    assert re.search(r'<option value="technician"\s+selected', r.text)
    r = await http.post("/settings/users", data={"email": "new@a.example", "role": "technician",
                                                 "password": "long enough pass", "csrf_token": token})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/settings/users?ok=")
    page = await http.get("/settings/users")
    assert "new@a.example" in page.text and "user created" in page.text
    # The last admin: the rule is explained beside the row, never a 500.
    people = await _users(http, tenant)
    admin_id = people[tenant.emails["admin"]]["id"]
    r = await http.post(f"/settings/users/{admin_id}/active", data={"active": "false", "csrf_token": token})
    assert r.status_code == 409 and "at least one active admin" in r.text
    # Tokens: create (post/redirect/get), the value shown once, a reload does not show it again.
    r = await http.post("/settings/api-tokens", data={"name": "", "csrf_token": token})
    assert r.status_code == 422 and 'id="token-name-error"' in r.text
    r = await http.post("/settings/api-tokens", data={"name": "PSA export", "csrf_token": token})
    assert r.status_code == 303
    shown = await http.get(r.headers["location"])
    value = re.search(r"data-new-token>(rmb_[^<]+)<", shown.text)
    assert value, shown.text
    assert (await http.get("/api/v1/me", headers={"Authorization": f"Bearer {value.group(1)}"})).status_code == 200
    again = await http.get(r.headers["location"])
    assert "data-new-token" not in again.text and value.group(1) not in again.text
    assert "PSA export" in again.text and tenant.emails["viewer"] in again.text  # admins see every token
    # Non-admins: no Users page, their own tokens only.
    http.cookies.clear()
    assert (await login(http, tenant.emails["viewer"], tenant.password)).status_code == 303
    assert (await http.get("/settings/users")).status_code == 403
    mine = await http.get("/settings/api-tokens")
    assert "viewer token" in mine.text and "PSA export" not in mine.text
