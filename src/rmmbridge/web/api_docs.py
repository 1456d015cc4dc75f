"""``/api/docs`` (Swagger UI) and ``/api/v1/openapi.json``, served without the Internet.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package (mounted under
``/api/docs/assets``), its start-up from ``/static/api-docs.js``: no CDN, and no inline script,
so the page works under the Content-Security-Policy. With ``RMMBRIDGE_API_DOCS_REQUIRE_LOGIN`` both
need a signed-in user (UI session) or an API token.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from rmmbridge.web.deps import DB, State, _api_context, session_auth

DOCS_PATH = "/api/docs"
OPENAPI_PATH = "/api/v1/openapi.json"
ASSETS_PATH = "/api/docs/assets"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>rmmbridge API</title>
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{OPENAPI_PATH}"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH)
async def docs_page(request: Request, state: State, db: DB) -> Response:
    if state.settings.api_docs_require_login and await session_auth(request, db) is None:
        return RedirectResponse(f"/login?next={DOCS_PATH}", status_code=303)
    return HTMLResponse(_PAGE)


@router.get(OPENAPI_PATH)
async def openapi_document(request: Request, state: State, db: DB) -> Response:
    if state.settings.api_docs_require_login:
        await _api_context(request, db)  # a token or a UI session; raises Unauthorized otherwise
    return JSONResponse(request.app.openapi())


def install_api_docs(app: FastAPI) -> None:
    """Call with ``FastAPI(docs_url=None, openapi_url=None)``: these routes replace FastAPI's own."""
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="api-docs-assets")
