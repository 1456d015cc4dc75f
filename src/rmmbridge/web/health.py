"""``/healthz`` (checks the database) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from rmmbridge.storage.db import READ_ONLY_OPTION

from .deps import app_state

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz(request: Request) -> Response:
    state = app_state(request)
    started = time.perf_counter()
    try:
        async with state.engine.connect() as conn:
            # Read-only: on SQLite a plain BEGIN, which never waits for a writer's lock.
            await conn.execution_options(**{READ_ONLY_OPTION: True})
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # the point of a health check is to report any failure, not raise it
        return JSONResponse({"status": "error", "database": f"unreachable: {type(exc).__name__}"}, 503)
    return JSONResponse(
        {
            "status": "ok",
            "database": state.engine.dialect.name,
            "db_latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
    )


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
