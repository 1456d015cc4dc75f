"""Issue #14 item 15: a Content-Security-Policy the UI's templates satisfy, HSTS over https, API
docs served from the package, and an operator switch requiring a login for them."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from rmmbridge.app import create_app
from rmmbridge.web.ui.render import STATIC_DIR

TEMPLATES = Path(STATIC_DIR).parent / "templates"


async def test_every_response_has_the_csp_and_no_hsts_over_http(http, tenant):
    for path in ("/login", "/healthz", "/api/docs", "/static/app.css", "/api/v1/clients"):
        r = await http.get(path, headers=tenant.headers() if path.startswith("/api/v1") else None)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert "strict-transport-security" not in r.headers


def test_templates_carry_no_inline_script_style_or_handler():
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), template.name
        assert "<style" not in source and not re.search(r"\sstyle=", source), template.name
        assert not re.search(r"\son[a-z]+=", source), template.name
        assert "javascript:" not in source, template.name


async def test_hsts_when_the_base_url_is_https(settings_factory):
    app = create_app(settings_factory(base_url="https://rmm.example.com"), start_background=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://rmm.example.com") as c:
            r = await c.get("/login")
        assert r.headers["strict-transport-security"].startswith("max-age=")
    finally:
        await app.state.rmm.engine.dispose()


async def test_api_docs_assets_come_from_this_service(http):
    page = await http.get("/api/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for source in sources:
        r = await http.get(source)
        assert r.status_code == 200 and len(r.content) > 100, source
    assert "<script>" not in page.text  # no inline script: only files
    assert (await http.get("/api/v1/openapi.json")).json()["info"]["title"] == "rmmbridge"


@pytest.fixture
async def docs_behind_login(settings_factory):  # type: ignore[no-untyped-def]
    app = create_app(settings_factory(api_docs_require_login=True), start_background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client
    await app.state.rmm.engine.dispose()


async def test_api_docs_can_require_a_login(docs_behind_login, tenant):
    client = docs_behind_login
    r = await client.get("/api/docs")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/api/v1/openapi.json", headers=tenant.headers("viewer"))
    assert r.status_code == 200 and r.json()["openapi"].startswith("3.")
    from tests.web.test_ui_auth import login

    assert (await login(client, tenant.emails["viewer"], tenant.password)).status_code == 303
    assert (await client.get("/api/docs")).status_code == 200
    assert (await client.get("/api/v1/openapi.json")).status_code == 200
