"""Response bodies and the error shapes of a production Tactical (Django ``DEBUG = False``, DRF, nginx)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"

# django.views.defaults.ERROR_PAGE_TEMPLATE
_DJANGO_ERROR_PAGE = """
<!doctype html>
<html lang="en">
<head>
  <title>%(title)s</title>
</head>
<body>
  <h1>%(title)s</h1><p>%(details)s</p>
</body>
</html>
"""
NOT_FOUND_HTML = (
    _DJANGO_ERROR_PAGE % {"title": "Not Found", "details": "The requested resource was not found on this server."}
).encode()
SERVER_ERROR_HTML = (_DJANGO_ERROR_PAGE % {"title": "Server Error (500)", "details": ""}).encode()
BAD_REQUEST_HTML = (_DJANGO_ERROR_PAGE % {"title": "Bad Request (400)", "details": ""}).encode()
NGINX_405_HTML = (
    b"<html>\r\n<head><title>405 Not Allowed</title></head>\r\n<body>\r\n"
    b"<center><h1>405 Not Allowed</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
SPA_HTML = (
    b'<!DOCTYPE html><html><head><title>Tactical RMM</title><meta charset=utf-8>'
    b'<meta name=description content="Tactical RMM"><meta name=format-detection content="telephone=no">'
    b'<meta name=msapplication-tap-highlight content=no><meta name=viewport '
    b'content="user-scalable=no,initial-scale=1,maximum-scale=1,minimum-scale=1,width=device-width">'
    b'<link rel=icon type=image/png sizes=128x128 href=/icons/favicon-128x128.png>'
    b'<script type=module crossorigin src=/assets/index.5f2c1a9e.js></script>'
    b'<link rel=stylesheet href=/assets/index.8c6b0e3d.css></head><body><div id=q-app></div></body></html>'
)

DETAIL_NOT_AUTHENTICATED = "Authentication credentials were not provided."
DETAIL_INVALID_TOKEN = "Invalid token."  # noqa: S105 - an error message, not a secret
DETAIL_PERMISSION = "You do not have permission to perform this action."


def json_bytes(data: Any) -> bytes:
    """DRF's compact JSONRenderer output (``UNICODE_JSON``: no ASCII escaping)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


class ApiError(Exception):
    """A JSON error response, as DRF renders its exceptions."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class HtmlError(Exception):
    """An HTML error page (Django's own 400/404/500, or nginx)."""

    def __init__(self, status: int, html: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.html = html


def auth_failed(detail: str) -> ApiError:
    return ApiError(401, {"detail": detail}, {"WWW-Authenticate": "Token"})


def not_authenticated() -> ApiError:
    return auth_failed(DETAIL_NOT_AUTHENTICATED)


def permission_denied() -> ApiError:
    return ApiError(403, {"detail": DETAIL_PERMISSION})


def not_found(model: str) -> ApiError:
    return ApiError(404, {"detail": f"No {model} matches the given query."})


def method_not_allowed(method: str, allowed: tuple[str, ...]) -> ApiError:
    return ApiError(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": ", ".join(allowed)})


def throttled(wait_s: int) -> ApiError:
    unit = "second" if wait_s == 1 else "seconds"
    return ApiError(
        429, {"detail": f"Request was throttled. Expected available in {wait_s} {unit}."}, {"Retry-After": str(wait_s)}
    )


def bad_request(body: Any) -> ApiError:
    return ApiError(400, body)


def server_error() -> HtmlError:
    return HtmlError(500, SERVER_ERROR_HTML)


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return raw_json_response(json_bytes(data), status, headers)


def raw_json_response(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    merged = {"Vary": "Accept, Cookie"}
    merged.update(headers or {})
    return Response(body, status_code=status, headers=merged, media_type=JSON_TYPE)


def html_response(body: bytes, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status_code=status, headers=dict(headers or {}), media_type=HTML_TYPE)


def error_response(exc: ApiError | HtmlError) -> Response:
    if isinstance(exc, HtmlError):
        return html_response(exc.html, exc.status)
    return json_response(exc.body, exc.status, exc.headers)
