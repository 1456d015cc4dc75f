"""CSRF protection for every form.

Signed-in forms carry the session's CSRF token. Forms shown before sign-in (login, first-run
setup) use a double-submit cookie: a random value in an HttpOnly cookie that the form must echo.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

from rmmbridge.errors import Forbidden
from rmmbridge.tenancy.auth import SessionAuth

ANON_COOKIE = "rmmbridge_csrf"
FIELD = "csrf_token"


def prepare_anonymous(request: Request) -> None:
    """Make sure an anonymous form can be rendered with a token (reusing the cookie's)."""
    existing = request.cookies.get(ANON_COOKIE)
    if existing:
        request.state.anon_csrf = existing
    else:
        token = secrets.token_urlsafe(24)
        request.state.anon_csrf = token
        request.state.set_anon_csrf = token


def set_anon_cookie(response: Response, request: Request, token: str) -> None:
    secure = request.app.state.rmm.settings.cookies_secure
    response.set_cookie(ANON_COOKIE, token, httponly=True, samesite="lax", secure=secure, max_age=3600)


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def check_anonymous(request: Request, submitted: str | None) -> None:
    if not _same(request.cookies.get(ANON_COOKIE), submitted):
        raise Forbidden("the form expired or did not come from this site; reload the page and try again")


def check(auth: SessionAuth, submitted: str | None) -> None:
    if not _same(auth.csrf_token, submitted):
        raise Forbidden("the form expired or did not come from this site; reload the page and try again")
