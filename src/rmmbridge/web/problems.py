"""Error responses: RFC 9457 problem+json for the API, friendly HTML pages for the UI."""

from __future__ import annotations

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


def problem(status: int, type_: str, title: str, detail: str, errors: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_BASE + type_, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


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
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
        if wants_html(request):
            from .ui.render import error_page

            return error_page(request, 422, "Invalid input", detail)
        return problem(422, "validation-failed", "Validation failed", detail, errors)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if wants_html(request):
            from .ui.render import error_page

            return error_page(request, exc.status_code, "Error", str(exc.detail))
        type_ = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status_code, "http-error"
        )
        return problem(exc.status_code, type_, str(exc.detail), str(exc.detail))

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
