"""Mutable server state shared by every view, and the per-request context handed to views."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl

import httpx
from starlette.datastructures import Headers, QueryParams

from ..faults import FaultPlan
from .alert_actions import ActionStore
from .auth import AuthStore, Principal, Throttle
from .fleet import TacticalFleet
from .responses import ApiError
from .serving_cost import ServingCostGate

Mode = Literal["api", "dashboard"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SimState:
    """Everything one simulated Tactical server knows; views read and mutate it."""

    fleet: TacticalFleet
    auth: AuthStore
    faults: FaultPlan
    clock: Callable[[], datetime] = _utcnow
    beta_api_enabled: bool = True
    # Off: a server older than the URL action test run (``POST /core/urlaction/run/test/``): the
    # route is absent, so Django answers its HTML 404 like for any unknown path.
    url_action_test_run: bool = True
    mode: Mode = "api"
    allowed_hosts: list[str] | None = None
    live_agents: bool = False
    # With live agents: the share of them out (not checking in) at any moment, and how long an
    # outage lasts (TacticalFleet.heartbeat).
    stop_share: float = 0.0
    outage: timedelta = timedelta(minutes=40)
    clock_offset: timedelta = timedelta(0)
    login_throttles: dict[str, list[Throttle]] = field(default_factory=dict)
    requests_served: int = 0
    serving: ServingCostGate | None = None  # the real server's serving-cost model, when on
    # Key store, URL actions, alert templates and core alert settings (alert_actions.py).
    actions: ActionStore = field(default_factory=ActionStore)
    # How REST alert actions reach their URL (tests route rmmbridge's host in-process); None: the network.
    outbound: httpx.AsyncBaseTransport | None = None
    _last_heartbeat: datetime | None = None

    def now(self) -> datetime:
        current = self.clock()
        if current.tzinfo is None:
            current = current.replace(tzinfo=UTC)
        return current + self.clock_offset

    def host_allowed(self, host: str) -> bool:
        """Django's ``ALLOWED_HOSTS`` matching (``*``, ``.example.com`` for subdomains, exact names)."""
        if self.allowed_hosts is None:
            return True
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        name = name.lower().rstrip(".")
        for pattern in self.allowed_hosts:
            pattern = pattern.lower()
            if pattern == "*" or name == pattern:
                return True
            if pattern.startswith(".") and (name.endswith(pattern) or name == pattern[1:]):
                return True
        return False

    def tick(self) -> None:
        """With ``live_agents``, let online agents check in every 30 s of simulated time."""
        if not self.live_agents:
            return
        now = self.now()
        if self._last_heartbeat is None or now - self._last_heartbeat >= timedelta(seconds=30):
            self.fleet.heartbeat(now, stop_share=self.stop_share, outage=self.outage)
            self._last_heartbeat = now


class ApiRequest:
    """What a view sees of one HTTP request (a small stand-in for DRF's ``Request``)."""

    def __init__(
        self,
        state: SimState,
        method: str,
        path: str,
        raw_query: str,
        headers: Headers,
        body: bytes,
        scheme: str,
        client_host: str,
    ) -> None:
        self.state = state
        self.method = method
        self.path = path
        self.raw_query = raw_query
        self.query = QueryParams(raw_query)
        self.headers = headers
        self.body = body
        self.scheme = scheme
        self.client_host = client_host
        self.principal: Principal | None = None
        self.now = state.now()
        self.truncate_stream = False

    @property
    def fleet(self) -> TacticalFleet:
        return self.state.fleet

    @property
    def host(self) -> str:
        return self.headers.get("host", "testserver")

    def absolute_url(self) -> str:
        """``request.build_absolute_uri()``: scheme and Host header of this request."""
        url = f"{self.scheme}://{self.host}{self.path}"
        return f"{url}?{self.raw_query}" if self.raw_query else url

    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def data(self) -> Any:
        """DRF ``request.data``: JSON or form bodies (form values: the last one, as QueryDict)."""
        if not self.body:
            return {}
        content_type = self.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            try:
                return json.loads(self.body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(400, {"detail": f"JSON parse error - {exc}"}) from None
        if media == "application/x-www-form-urlencoded":
            return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        raise ApiError(415, {"detail": f'Unsupported media type "{content_type}" in request.'})
