"""The service's guessing throttles (one set per process, kept in ``AppState.extras``).

Numbers (decisions.md, "Guessing throttles"): an account gets ``AUTH_FAILURES_PER_ACCOUNT`` (5)
wrong passwords free, then waits 1 s, 2 s, 4 s … up to 15 min; a source address gets
``AUTH_FAILURES_PER_ADDRESS`` (20) free failures of each kind (passwords, API tokens, webhook
secrets), then the same doubling up to 5 min. Keys are forgotten after an hour without failures.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from rmmbridge.kit.throttle import FailureThrottle
from rmmbridge.state import AppState


@dataclass
class Throttles:
    login_account: FailureThrottle
    login_address: FailureThrottle
    token_address: FailureThrottle
    webhook_address: FailureThrottle


def _by_address(state: AppState) -> FailureThrottle:
    return FailureThrottle(free=state.settings.auth_failures_per_address, base_s=1.0, max_s=300.0, forget_s=3600.0)


def throttles_of(state: AppState) -> Throttles:
    throttles = state.extras.get("throttles")
    if throttles is None:
        throttles = state.extras["throttles"] = Throttles(
            login_account=FailureThrottle(
                free=state.settings.auth_failures_per_account, base_s=1.0, max_s=900.0, forget_s=3600.0
            ),
            login_address=_by_address(state),
            token_address=_by_address(state),
            webhook_address=_by_address(state),
        )
    return throttles  # type: ignore[no-any-return]


def source_address(request: Request) -> str:
    """The peer address (uvicorn has already applied X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def retry_after(wait: float) -> str:
    return str(max(1, round(wait + 0.499)))
