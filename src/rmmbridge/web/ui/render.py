"""Template rendering with what every page needs (user, CSRF token, navigation)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

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


def _now(context: Any) -> datetime:
    """The page's clock (``render`` puts the app's clock reading in every page), so relative
    times agree with the statuses computed for the same page, test clock included."""
    now = context.get("now") if context is not None else None
    return now if isinstance(now, datetime) else utcnow()


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@pass_context
def _ago(context: Any, value: Any) -> str:
    if value is None:
        return "never"
    seconds = int((_now(context) - value).total_seconds())
    if seconds < 0:
        return "just now"
    return f"{_span(seconds)} ago"


@pass_context
def _for(context: Any, value: Any) -> str:
    """How long since ``value``, without "ago": "not checked for 12 min"."""
    if value is None:
        return "—"
    return _span(max(0, int((_now(context) - value).total_seconds())))


@pass_context
def _clock_time(context: Any, value: Any) -> str:
    """``14:05`` today, ``2026-12-05 14:05`` on another day (UTC, as every time in the UI)."""
    if value is None:
        return "—"
    same_day = value.date() == _now(context).date()
    return value.strftime("%H:%M") if same_day else value.strftime("%Y-%m-%d %H:%M")


@pass_context
def _until(context: Any, value: Any) -> str:
    """``in 45 s``, ``in 3 min``; ``now`` when the instant has come (a schedule's next run)."""
    if value is None:
        return "—"
    seconds = int((value - _now(context)).total_seconds())
    return "now" if seconds <= 0 else f"in {_span(seconds)}"


def _dt(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


templates.env.filters["ago"] = _ago
templates.env.filters["dt"] = _dt
templates.env.filters["until"] = _until
templates.env.filters["for"] = _for
templates.env.filters["clock_time"] = _clock_time


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    auth = getattr(request.state, "session_auth", None)
    base = {
        "request": request,
        "auth": auth,
        "user_email": auth.ctx.email if auth else None,
        "role": auth.ctx.role.value if auth else None,
        "csrf_token": auth.csrf_token if auth else getattr(request.state, "anon_csrf", ""),
        "path": request.url.path,
        "now": _clock(request),
    }
    base.update(context)
    response = templates.TemplateResponse(request, template, base, status_code=status_code)
    anon = getattr(request.state, "set_anon_csrf", None)
    if anon:
        from .csrf import set_anon_cookie

        set_anon_cookie(response, request, anon)
    return response


def _clock(request: Request) -> datetime:
    state = getattr(request.app.state, "rmm", None)
    return state.clock() if state is not None else utcnow()


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, title=title, detail=detail, status=status)


def redirect(path: str, **params: object) -> Response:
    """303 to ``path`` with query parameters (flash messages travel this way, URL-encoded)."""
    from urllib.parse import urlencode

    from fastapi.responses import RedirectResponse

    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)
