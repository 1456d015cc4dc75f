"""Simulator state: regional instances, client apps, tokens, modes, the webhook configuration."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rmmbridge.simulators.faults import FaultPlan

from .fleet import NinjaFleet

INSTANCES = ("app", "us2", "eu", "ca", "oc", "fed")
Clock = Callable[[], datetime]


def instance_of_host(host: str) -> str | None:
    """``eu.ninjarmm.com`` → ``eu``; ``sim-3f2a-eu.ninjarmm.com`` → ``eu`` (tests give each simulator a
    host of its own); any other host → ``None`` (the default instance)."""
    label = host.split(":")[0].split(".")[0].lower()
    for candidate in (label, label.rsplit("-", 1)[-1]):
        if candidate in INSTANCES:
            return candidate
    return None


@dataclass
class ClientApp:
    client_id: str
    client_secret: str
    instance: str
    grants: frozenset[str]
    scopes: frozenset[str]
    redirect_uris: list[str] = field(default_factory=list)
    refresh_enabled: bool = True
    admin: bool = True  # the consenting user is a system administrator (webhook configuration)


@dataclass
class Token:
    app: ClientApp
    scopes: frozenset[str]
    expires_at: float
    user_context: bool


@dataclass
class AuthCode:
    app: ClientApp
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str | None
    expires_at: float


@dataclass
class Modes:
    token_expires_in: int = 3600
    rotate_refresh: bool = True  # off: a refresh answers without a new refresh_token
    revoked: bool = False  # every refresh token refused (an admin revoked the app's consent)
    deny_consent: bool = False
    user_context_required: bool = False  # client-credentials tokens refused on PUT /v2/webhook
    max_page_size: int | None = None  # silently return fewer rows than asked
    empty_first_page: int = 0  # the next N first pages of device listings come back as []
    html_throttle: int = 0  # the next N API requests get an HTML page with 200
    retry_after_form: str = "seconds"  # or "date" (an HTTP date)
    cursor_ttl_s: float = 300.0
    omit_inventory: bool = False  # devices-detailed without system/os
    delivery: str = "normal"  # normal | duplicate | out_of_order
    delivery_retries: int = 2
    row_cost_s: float = 0.0  # server time per device row


@dataclass
class Cursor:
    name: str
    rows_key: tuple[str, str]
    offset: int
    expires: float


@dataclass
class NinjaSimulator:
    fleet: NinjaFleet
    clock: Clock
    faults: FaultPlan = field(default_factory=FaultPlan)
    modes: Modes = field(default_factory=Modes)
    apps: dict[str, ClientApp] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[ClientApp, frozenset[str]]] = field(default_factory=dict)
    used_refresh_tokens: set[str] = field(default_factory=set)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    cursors: dict[str, Cursor] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # client id → configuration
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(
        default_factory=list
    )  # every activity emitted, oldest first  # what was sent, and the answers
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path + query) of API calls
    next_activity_id: int = 177_000
    incident: int = 0

    def now(self) -> float:
        return self.clock().timestamp()

    def add_app(self, app: ClientApp) -> ClientApp:
        self.apps[app.client_id] = app
        return app

    def issue(self, app: ClientApp, scopes: frozenset[str], user_context: bool) -> dict[str, Any]:
        access = "eyJ" + secrets.token_urlsafe(24)
        self.tokens[access] = Token(app, scopes, self.now() + self.modes.token_expires_in, user_context)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.modes.token_expires_in,
            "scope": " ".join(sorted(scopes)),
        }
        return body

    def issue_refresh(self, app: ClientApp, scopes: frozenset[str]) -> str:
        token = "rt-" + secrets.token_urlsafe(24)
        self.refresh_tokens[token] = (app, scopes)
        return token

    def incident_id(self) -> str:
        self.incident += 1
        return f"WEB_MGMT_SERVICE-{int(time.time())}-{self.incident}"

    def activity_id(self) -> int:
        self.next_activity_id += 1 + self.next_activity_id % 3
        return self.next_activity_id
