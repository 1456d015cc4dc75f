"""What ``create_app`` builds once and every request shares (no tenant data in here)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from rmmbridge.config import Settings
from rmmbridge.kit.http import HttpClientFactory
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.registry import ProviderRegistry
from rmmbridge.secrets.store import SecretStore


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    secrets: SecretStore
    registry: ProviderRegistry
    http: HttpClientFactory
    # Filled by later layers (provider registry, sync runner, ...); typed where they are defined.
    extras: dict[str, Any] = field(default_factory=dict)
    # The one clock of scheduling, sync runs and status reads; tests swap in a test clock to drive
    # simulated time (run bookkeeping — leases, heartbeats — stays on the wall clock).
    clock: Callable[[], datetime] = utcnow
    # How providers wait between retries; tests pair a test clock with a sleep that does not block.
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
