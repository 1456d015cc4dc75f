"""The delivery loop of a process: fan out new events, send due deliveries, publish to NATS.

Every ``serve`` process runs one in ``direct`` mode and every ``worker`` process runs it as a
Temporal activity in ``temporal`` mode. Several may run at once: fan-out and the NATS cursor move
by compare-and-set, sends are claimed per attempt (sender.py), so no attempt goes out twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import structlog

from rmmbridge.kit.http import USER_AGENT
from rmmbridge.kit.http_transport import OutboundTransport
from rmmbridge.state import AppState
from rmmbridge.sync.runner import process_identity

from . import dispatcher, sender
from .nats_publisher import NatsPublisher

log = structlog.get_logger(__name__)

IDLE_S = 0.2  # how long an idle loop waits before looking again: bounds the lag of a quiet system


class DeliveryWorker:
    def __init__(self, state: AppState, *, idle_s: float = IDLE_S, nats_url: str | None = None) -> None:
        self.state = state
        self.idle_s = idle_s
        self.owner = f"{process_identity()}:{uuid.uuid4().hex[:8]}"
        # Redirects are not followed: a receiver that moved says so with its answer, and following
        # one would let a receiver point rmmbridge at an address the policy never checked at save.
        self.clients = [
            httpx.AsyncClient(
                transport=state.http.transport
                or OutboundTransport(
                    allow_private=state.settings.allow_private_provider_hosts,
                    limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
                ),
                timeout=sender.TIMEOUT,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
            )
            for _ in range(sender.LANES)
        ]
        url = nats_url if nats_url is not None else state.settings.nats_url
        self.nats = NatsPublisher(state, url) if url else None
        self._task: asyncio.Task[None] | None = None

    async def step(self) -> int:
        """One pass; returns how much work it did (0: nothing to do)."""
        done = 0
        while (n := await dispatcher.dispatch_once(self.state)) == dispatcher.BATCH:
            done += n
        done += n
        done += await sender.deliver_due(self.state, self.clients, self.owner)
        if self.nats is not None:
            try:
                done += await self.nats.publish_once()
            except Exception as exc:  # NATS down: webhooks go on; the cursor waits for the server
                log.warning("nats_publish_failed", error=f"{type(exc).__name__}: {exc}")
                await self.nats.close()
        return done

    async def run_for(self, seconds: float) -> int:
        """Loop for ``seconds`` (a Temporal activity's slice); returns the work done."""
        total, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            done = await self.step()
            total += done
            if not done:
                await asyncio.sleep(self.idle_s)
        return total

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="rmmbridge-delivery")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.aclose()

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
        if self.nats is not None:
            await self.nats.close()

    async def _loop(self) -> None:
        while True:
            try:
                done = await self.step()
            except Exception:  # a database blip must not end delivery; the next pass retries
                log.exception("delivery_step_failed")
                done = 0
            if not done:
                await asyncio.sleep(self.idle_s)
