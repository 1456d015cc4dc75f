"""Start and stop the background services of a web process (job runner, scheduler)."""

from __future__ import annotations

from fastapi import FastAPI

from rmmbridge.web.state import AppState


async def start_background_services(app: FastAPI, state: AppState) -> None:
    """Filled in by the sync layer: the in-process runner and the scheduler."""


async def stop_background_services(app: FastAPI, state: AppState) -> None:
    """Stop what :func:`start_background_services` started."""
