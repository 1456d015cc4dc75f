"""``/healthz`` (checks the database) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from rmmbridge.kit.metrics import ORCHESTRATOR_UP
from rmmbridge.state import AppState
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
    orchestrator = await orchestrator_state(state)
    return JSONResponse(
        {
            # An unreachable orchestrator degrades the service (runs wait, queued) but does not stop
            # this process from serving the UI, the API and webhooks: 200, and it says so.
            "status": "ok" if orchestrator["state"] == "up" else "degraded",
            "database": state.engine.dialect.name,
            "db_latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "orchestrator": orchestrator,
        }
    )


async def orchestrator_state(state: AppState) -> dict[str, Any]:
    """Where sync runs execute and whether it can be reached (the Temporal runner probes it)."""
    from rmmbridge.sync.runner import runner_of

    runner = runner_of(state)
    probe = getattr(runner, "probe", None)
    if probe is None:
        ORCHESTRATOR_UP.labels("direct").set(1)
        return {"name": "direct", "state": "up"}
    return await probe()  # type: ignore[no-any-return]


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    await orchestrator_state(app_state(request))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
