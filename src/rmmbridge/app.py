"""``create_app(settings)``: builds the engine, session factory, secret store and routers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from rmmbridge import __version__
from rmmbridge.config import Settings
from rmmbridge.kit.crypto import Sealer, decode_key, load_or_create_key_file
from rmmbridge.kit.http import HttpClientFactory
from rmmbridge.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS
from rmmbridge.providers.registry import ProviderRegistry, builtin_registry
from rmmbridge.secrets.store import DbSecretStore
from rmmbridge.storage.db import create_engine, create_sessionmaker
from rmmbridge.web import problems
from rmmbridge.web.api.docs import install_openapi
from rmmbridge.web.state import AppState

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
    return AppState(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        secrets=DbSecretStore(Sealer(load_master_key(settings))),
        registry=(registry or builtin_registry()).freeze(),
        http=HttpClientFactory(http_transport),
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
        from rmmbridge.sync.lifecycle import start_background_services, stop_background_services

        if start_background:
            await start_background_services(app, state)
        try:
            yield
        finally:
            if start_background:
                await stop_background_services(app, state)
            await state.engine.dispose()

    app = FastAPI(
        title="rmmbridge",
        version=__version__,
        summary="RMM fleets as PSA assets: integrations, assets, alerts and sync runs.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.rmm = state
    problems.install(app)
    install_openapi(app)
    _install_request_metrics(app)
    _include_routers(app)
    from rmmbridge.web.ui.render import STATIC_DIR

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    return app


def _include_routers(app: FastAPI) -> None:
    from rmmbridge.web.health import router as health_router
    from rmmbridge.web.routes import api_router, ui_router, webhook_router

    app.include_router(health_router)
    app.include_router(api_router)
    app.include_router(webhook_router)
    app.include_router(ui_router)


def _install_request_metrics(app: FastAPI) -> None:
    @app.middleware("http")
    async def _metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route: Any = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        HTTP_REQUESTS.labels(request.method, name, str(response.status_code)).inc()
        HTTP_LATENCY.labels(request.method, name).observe(time.perf_counter() - started)
        # Pages and API answers carry tenant data: never cache them in shared caches.
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
