"""A test clock for the guessing throttles (``web/throttles.py``), and clients from chosen addresses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rmmbridge.config import Settings
from rmmbridge.web.throttles import throttles_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(state: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The throttles on a test clock, with the default failure allowances back (the suite's
    settings raise the per-address one so that 127.0.0.1's deliberate failures do not add up)."""
    fake = Clock()
    for name, throttle in vars(throttles_of(state)).items():
        monkeypatch.setattr(throttle, "clock", fake)
        monkeypatch.setattr(throttle, "_keys", {})  # times from the real clock mean nothing on this one
        field = "auth_failures_per_account" if name == "login_account" else "auth_failures_per_address"
        monkeypatch.setattr(throttle, "free", Settings.model_fields[field].default)
    return fake


def client_from(app: Any, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 4711)), base_url="http://testserver"
    )
