"""UI sign-in, CSRF on every form, sessions, and first-run setup."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest_asyncio

from rmmbridge.app import create_app
from rmmbridge.storage import migrate
from rmmbridge.storage.db import create_engine

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await http.get("/login")
    return await http.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text), "next": "/clients"}
    )


async def test_wrong_password_gives_401_and_no_session(http, tenant):
    r = await login(http, tenant.emails["admin"], "wrong password!")
    assert r.status_code == 401
    assert "wrong email or password" in r.text
    assert "rmmbridge_session" not in r.cookies
    assert (await http.get("/clients")).status_code == 303  # still signed out


async def test_login_then_pages_then_logout(http, tenant):
    r = await login(http, tenant.emails["admin"], tenant.password)
    assert r.status_code == 303 and r.headers["location"] == "/clients"
    cookie = r.cookies["rmmbridge_session"]
    assert "httponly" in r.headers["set-cookie"].lower()
    page = await http.get("/clients")
    assert page.status_code == 200 and "Clients" in page.text
    r = await http.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    http.cookies.set("rmmbridge_session", cookie)  # replaying the old cookie must not work
    assert (await http.get("/clients")).status_code == 303


async def test_form_post_without_csrf_is_403_and_writes_nothing(http, tenant):
    await login(http, tenant.emails["admin"], tenant.password)
    r = await http.post("/clients", data={"name": "No CSRF Inc"})
    assert r.status_code == 403
    r = await http.post("/clients", data={"name": "No CSRF Inc", "csrf_token": "forged"})
    assert r.status_code == 403
    listed = (await http.get("/api/v1/clients?q=No%20CSRF", headers=tenant.headers())).json()
    assert listed["total"] == 0
    # With the token the same form works.
    page = await http.get("/clients")
    r = await http.post("/clients", data={"name": "With CSRF Inc", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    listed = (await http.get("/api/v1/clients?q=With%20CSRF", headers=tenant.headers())).json()
    assert listed["total"] == 1


async def test_login_form_itself_needs_csrf(http, tenant):
    r = await http.post("/login", data={"email": tenant.emails["admin"], "password": tenant.password})
    assert r.status_code == 403
    assert "rmmbridge_session" not in r.cookies


async def test_open_redirect_is_refused(http, tenant):
    page = await http.get("/login")
    r = await http.post(
        "/login",
        data={
            "email": tenant.emails["admin"],
            "password": tenant.password,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/x",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_session_cookie_api_calls_need_csrf_header(http, tenant):
    await login(http, tenant.emails["admin"], tenant.password)
    assert (await http.get("/api/v1/clients")).status_code == 200
    assert (await http.post("/api/v1/clients", json={"name": "JS Co"})).status_code == 403
    page = await http.get("/clients")
    r = await http.post("/api/v1/clients", json={"name": "JS Co"}, headers={"X-CSRF-Token": csrf_of(page.text)})
    assert r.status_code == 201


@pytest_asyncio.fixture
async def fresh_app(settings_factory, backend):
    """An app on a brand-new empty database (setup is only offered when no user exists)."""
    from tests.conftest import _pg_create_database, _pg_drop_database

    if backend == "postgres":
        url = await _pg_create_database()
    else:
        import tempfile

        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/{uuid.uuid4().hex}.db"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    application = create_app(settings_factory(database_url=url), start_background=False)
    yield application
    await application.state.rmm.engine.dispose()
    if backend == "postgres":
        await _pg_drop_database(url)


async def test_first_run_setup_then_refused(fresh_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fresh_app), base_url="http://testserver") as c:
        r = await c.get("/login")
        assert r.status_code == 303 and r.headers["location"] == "/setup"
        page = await c.get("/setup")
        assert page.status_code == 200
        token = csrf_of(page.text)
        bad = await c.post(
            "/setup",
            data={
                "tenant": "MSP",
                "email": "x@msp.example",
                "password": "short",
                "password2": "short",
                "csrf_token": token,
            },
        )
        assert bad.status_code == 422 and "at least 10" in bad.text
        ok = await c.post(
            "/setup",
            data={
                "tenant": "MSP One",
                "email": "admin@msp.example",
                "password": "long enough pw",
                "password2": "long enough pw",
                "csrf_token": csrf_of(bad.text),
            },
        )
        assert ok.status_code == 303
        assert (await c.get("/clients")).status_code == 200  # signed in as the new admin
        assert (await c.get("/setup")).status_code == 404
        again = await c.post(
            "/setup",
            data={
                "tenant": "Evil",
                "email": "e@evil.example",
                "password": "long enough pw",
                "password2": "long enough pw",
                "csrf_token": token,
            },
        )
        assert again.status_code == 404
