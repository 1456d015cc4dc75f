"""Error responses: RFC 9457 problem+json for the API, friendly HTML pages for the UI."""

from __future__ import annotations

import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from rmmbridge.errors import AppError, RateLimited, Unauthorized

log = structlog.get_logger(__name__)
PROBLEM_BASE = "https://rmmbridge.dev/problems/"
_UNPARSABLE_BODY = "There was an error parsing the body"


def problem(
    status: int,
    type_: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_BASE + type_, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers or None)


def _allowed_methods(request: Request) -> str | None:
    """Every method the API serves at this path, from the OpenAPI document (RFC 9110 §15.5.6).
    Starlette's own ``Allow`` lists only the first route that matched the path, and the API has
    one route per method. ``None`` outside the documented API (the UI keeps Starlette's)."""
    table = getattr(request.app.state, "allow_table", None)
    if table is None:
        table = []
        for path, item in request.app.openapi().get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
            methods = {m.upper() for m in item if m in _HTTP_METHODS}
            table.append((pattern, methods, path.count("{")))
        request.app.state.allow_table = table
    # OpenAPI matches concrete paths before templated ones: /alerts/bulk is that path, not
    # /alerts/{alert_id} with alert_id "bulk" — only the most specific matches count.
    matches = [(params, methods) for pattern, methods, params in table if pattern.match(request.url.path)]
    fewest = min((params for params, _ in matches), default=0)
    found = set().union(*(methods for params, methods in matches if params == fewest))
    return ", ".join(sorted(found)) if found else None


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _message(error: Any) -> str:
    """Pydantic's message, except for the NUL-free pattern, whose regex says nothing to a caller."""
    from rmmbridge.kit.text import NO_NUL, NOT_BLANK

    if error.get("type") == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == NO_NUL:
        return "NUL characters (U+0000) are not allowed"
    if error.get("type") == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == NOT_BLANK:
        return "must not be blank (nor contain NUL characters)"
    return str(error["msg"])


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/healthz", "/metrics"))


def install(app: FastAPI) -> None:
    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        if wants_html(request):
            from .ui.render import error_page

            if isinstance(exc, Unauthorized):
                from fastapi.responses import RedirectResponse

                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            return error_page(request, exc.status_code, exc.title, exc.detail)
        response = problem(exc.status_code, exc.type, exc.title, exc.detail, exc.errors)
        if isinstance(exc, RateLimited):
            from .throttles import retry_after

            response.headers["Retry-After"] = retry_after(exc.retry_after_s)
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": _message(e), "type": e["type"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
        if wants_html(request):
            from .ui.render import error_page

            return error_page(request, 422, "Invalid input", detail)
        return problem(422, "validation-failed", "Validation failed", detail, errors)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        if exc.status_code == 400 and str(exc.detail) == _UNPARSABLE_BODY:
            # FastAPI answers a body it cannot decode (not UTF-8) with an undocumented 400, and a
            # body that is not JSON with a 422: one status for both, the documented one.
            detail = "body: not valid JSON (UTF-8 text expected)"
            if wants_html(request):
                from .ui.render import error_page

                return error_page(request, 422, "Invalid input", detail)
            errors = [{"field": "body", "type": "json_invalid"}]
            return problem(422, "validation-failed", "Validation failed", detail, errors)
        if wants_html(request):
            from .ui.render import error_page

            response = error_page(request, exc.status_code, "Error", str(exc.detail))
            response.headers.update(headers)
            return response
        type_ = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status_code, "http-error"
        )
        return problem(exc.status_code, type_, str(exc.detail), str(exc.detail), headers=headers)

    async def unhandled(request: Request, exc: Exception) -> Response:
        log.exception("unhandled_error", path=request.url.path)
        if wants_html(request):
            from .ui.render import error_page

            return error_page(request, 500, "Something went wrong", "The error was logged.")
        return problem(500, "internal-error", "Internal error", "The error was logged.")

    async def client_gone(request: Request, exc: Exception) -> Response:
        # The client left (or the server's read deadline closed the connection) mid-body: nobody
        # receives an answer, and it is not a server error.
        log.info("client_disconnected", path=request.url.path)
        return Response(status_code=400)

    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unhandled)
