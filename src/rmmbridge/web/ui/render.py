"""Template rendering with what every page needs (user, CSRF token, navigation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from rmmbridge.kit.masking import mask
from rmmbridge.kit.time import utcnow

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["mask"] = mask


def _pct(value: object) -> int:
    """A whole percentage in 0–100, naming one of app.css's ``pct-N`` width classes."""
    try:
        return max(0, min(100, round(float(value))))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


templates.env.filters["pct"] = _pct


def _ago(value: Any) -> str:
    if value is None:
        return "never"
    seconds = int((utcnow() - value).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _dt(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


templates.env.filters["ago"] = _ago
templates.env.filters["dt"] = _dt


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    auth = getattr(request.state, "session_auth", None)
    base = {
        "request": request,
        "auth": auth,
        "user_email": auth.ctx.email if auth else None,
        "role": auth.ctx.role.value if auth else None,
        "csrf_token": auth.csrf_token if auth else getattr(request.state, "anon_csrf", ""),
        "path": request.url.path,
    }
    base.update(context)
    response = templates.TemplateResponse(request, template, base, status_code=status_code)
    anon = getattr(request.state, "set_anon_csrf", None)
    if anon:
        from .csrf import set_anon_cookie

        set_anon_cookie(response, request, anon)
    return response


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, title=title, detail=detail, status=status)


def redirect(path: str, **params: object) -> Response:
    """303 to ``path`` with query parameters (flash messages travel this way, URL-encoded)."""
    from urllib.parse import urlencode

    from fastapi.responses import RedirectResponse

    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)
