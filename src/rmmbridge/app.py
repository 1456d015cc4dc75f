"""``create_app(settings)``: builds the engine, session factory, secret store and routers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rmmbridge import __version__
from rmmbridge.config import Settings
from rmmbridge.kit import offload
from rmmbridge.kit.crypto import Sealer, decode_key, load_or_create_key_file
from rmmbridge.kit.http import HttpClientFactory
from rmmbridge.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS
from rmmbridge.providers.registry import ProviderRegistry, builtin_registry
from rmmbridge.secrets.store import DbSecretStore
from rmmbridge.state import AppState
from rmmbridge.storage.db import create_engine, create_sessionmaker
from rmmbridge.web import problems
from rmmbridge.web.api.docs import install_openapi

log = structlog.get_logger(__name__)

StartupHook = Callable[[FastAPI, AppState], Awaitable[None]]


def load_master_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return decode_key(settings.secret_key.get_secret_value())
    return load_or_create_key_file(settings.secret_key_file)


def build_state(
    settings: Settings,
    *,
    registry: ProviderRegistry | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> AppState:
    engine = create_engine(settings.database_url)
    registry = (registry or builtin_registry()).freeze()
    offload.configure(settings.decode_processes, preload=sorted({provider.__module__ for provider in registry}))
    return AppState(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        secrets=DbSecretStore(Sealer(load_master_key(settings))),
        registry=registry,
        http=HttpClientFactory(http_transport, allow_private=settings.allow_private_provider_hosts),
    )


def create_app(
    settings: Settings,
    *,
    start_background: bool = True,
    registry: ProviderRegistry | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The web application.

    ``start_background=False`` skips the job runner's recovery and the scheduler (tests drive
    them explicitly); ``registry`` and ``http_transport`` let tests and the demo add providers and
    route simulator hosts in-process.
    """
    state = build_state(settings, registry=registry, http_transport=http_transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from rmmbridge.deployment.public_url import publish_from_settings
        from rmmbridge.sync.lifecycle import start_background_services, stop_background_services

        # Every reader (UI, API, the CLI in an admin's shell) shows the URL this service publishes.
        await publish_from_settings(state)
        if start_background:
            await start_background_services(app, state)
        try:
            yield
        finally:
            if start_background:
                await stop_background_services(app, state)
            await state.engine.dispose()

    app = _App(
        title="rmmbridge",
        version=__version__,
        summary="RMM fleets as PSA assets: integrations, assets, alerts and sync runs.",
        openapi_url=None,  # both served by web/api_docs.py (local assets, optional login)
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.rmm = state
    problems.install(app)
    install_openapi(app)
    from rmmbridge.integrations.credentials_schema import install_document  # the per-provider credentials body

    install_document(app)
    _install_request_metrics(app, settings)
    from rmmbridge.web.api_docs import install_api_docs

    install_api_docs(app)
    _include_routers(app)
    from rmmbridge.web.ui.render import STATIC_DIR

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    return app


class _App(FastAPI):
    """FastAPI whose outermost layer keeps a server error from closing the connection."""

    def build_middleware_stack(self) -> Any:
        return ContainServerErrors(super().build_middleware_stack())


class ContainServerErrors:
    """Starlette's ``ServerErrorMiddleware`` sends the 500 (our problem handler, which logs the
    exception) and then re-raises, so the server sees an exception after the response started,
    and uvicorn closes the connection: the client's next keep-alive request is reset. Once the
    500 is complete the exception has been answered and logged: it stops here. An exception in
    the middle of a response still propagates (the response is truncated; closing is right)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        complete = False

        async def send_tracking(message: Any) -> None:
            nonlocal complete
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            if not complete:
                raise


def _include_routers(app: FastAPI) -> None:
    from rmmbridge.web.health import router as health_router
    from rmmbridge.web.routes import api_router, ui_router, webhook_router

    # Webhooks first: the hottest route is matched without walking the others.
    app.include_router(webhook_router)
    app.include_router(health_router)
    app.include_router(api_router)
    app.include_router(ui_router)


# Metric labels come from a fixed set: a method or path a client makes up must not become a series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),  # pages and API answers carry tenant data
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # Scripts and styles only from files this service serves: no inline script, style element or
    # style attribute anywhere (templates use classes; app.js and api-docs.js are files).
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        b"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
]
# Sent only when the service is reached over https (BASE_URL): over http it would be ignored, and
# on a plain-http deployment it would promise something untrue.
_HSTS = (b"strict-transport-security", b"max-age=31536000")


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    return [*_SECURITY_HEADERS, _HSTS] if settings.base_url.startswith("https://") else list(_SECURITY_HEADERS)


class RequestMetrics:
    """Pure ASGI middleware: request counters/latency and security headers.

    Not ``BaseHTTPMiddleware``: that wraps every request in extra tasks and streams, which cost
    more than the webhook receiver's own work.
    """

    def __init__(self, app: Any, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        static = scope["path"].startswith("/static")

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present and not (static and k == b"cache-control")]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")  # the template, never the raw path
            method = scope["method"] if scope["method"] in _METHODS else "other"
            HTTP_REQUESTS.labels(method, route, str(status["code"])).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def _install_request_metrics(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(RequestMetrics, headers=security_headers(settings))
