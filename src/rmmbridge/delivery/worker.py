"""The delivery loop of a process: fan out new events, send due deliveries, publish to NATS.

Every ``serve`` process runs one in ``direct`` mode and every ``worker`` process runs it as a
Temporal activity in ``temporal`` mode. Several may run at once: fan-out and the NATS cursor move
by compare-and-set, sends are claimed per attempt (sender.py), so no attempt goes out twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog

from rmmbridge.kit.http import USER_AGENT
from rmmbridge.state import AppState
from rmmbridge.sync.runner import process_identity

from . import dispatcher, sender
from .nats_publisher import NatsPublisher
from .poster import Poster

log = structlog.get_logger(__name__)

IDLE_S = 0.2  # how long an idle loop waits before looking again: bounds the lag of a quiet system
# Send loops per process, each with its own claimed batch: one sends while the other claims or
# records. Claims are per attempt, so they never share a delivery.
PIPELINES = 2


class DeliveryWorker:
    def __init__(self, state: AppState, *, idle_s: float = IDLE_S, nats_url: str | None = None) -> None:
        self.state = state
        self.idle_s = idle_s
        self.owner = f"{process_identity()}:{uuid.uuid4().hex[:8]}"
        # Redirects are not followed: a receiver that moved says so with its answer, and following
        # one would let a receiver point rmmbridge at an address the policy never checked at save.
        # The poster applies the address policy at every connect (poster.py).
        self.poster = Poster(
            allow_private=state.settings.allow_private_provider_hosts,
            user_agent=USER_AGENT,
            connect_timeout=sender.CONNECT_TIMEOUT_S,
            timeout=sender.TIMEOUT_S,
        )
        url = nats_url if nats_url is not None else state.settings.nats_url
        self.nats = NatsPublisher(state, url) if url else None
        self._task: asyncio.Task[int] | None = None

    async def step(self) -> int:
        """One pass; returns how much work it did (0: nothing to do)."""
        done = 0
        while (n := await dispatcher.dispatch_once(self.state)) == dispatcher.BATCH:
            done += n
        done += n
        done += await sender.deliver_due(self.state, self.poster, self.owner)
        if self.nats is not None:
            try:
                done += await self.nats.publish_once()
            except Exception as exc:  # NATS down: webhooks go on; the cursor waits for the server
                log.warning("nats_publish_failed", error=f"{type(exc).__name__}: {exc}")
                await self.nats.close()
        return done

    async def run_for(self, seconds: float, on_progress: Callable[[int], None] | None = None) -> int:
        """Run the loops for ``seconds`` (a Temporal activity's slice); returns the work done.
        ``on_progress`` is told the running total after every pass of a loop (heartbeats)."""
        deadline = time.monotonic() + seconds
        return await self._run(lambda: time.monotonic() >= deadline, on_progress)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(lambda: False), name="rmmbridge-delivery")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.aclose()

    async def aclose(self) -> None:
        await self.poster.aclose()
        if self.nats is not None:
            await self.nats.close()

    async def _run(self, done: Callable[[], bool], on_progress: Callable[[int], None] | None = None) -> int:
        """Fan-out, ``PIPELINES`` senders and the NATS publisher as concurrent loops: while one
        waits for the database or for answers, the others use the CPU. Fan-out wakes the senders
        when it queued deliveries, so a new event does not wait for their idle poll."""
        work = asyncio.Event()
        total = 0

        def did(n: int) -> None:
            nonlocal total
            total += n
            if on_progress is not None:
                on_progress(total)

        async def loop(name: str, once: Callable[[], Awaitable[int]], wake: asyncio.Event | None) -> None:
            while not done():
                if wake is not None:
                    wake.clear()  # set again by a fan-out during this pass: the next pass starts at once
                try:
                    n = await once()
                except Exception as exc:  # a database blip must not end delivery; the next pass retries
                    log.warning("delivery_loop_failed", loop=name, error=f"{type(exc).__name__}: {exc}")
                    n = 0
                did(n)  # every pass, idle ones too: a Temporal slice heartbeats while there is nothing to do
                if n:
                    if name == "fan-out":
                        work.set()
                    continue
                if wake is None:
                    await asyncio.sleep(self.idle_s)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), self.idle_s)

        loops = [loop("fan-out", lambda: dispatcher.dispatch_once(self.state), None)]
        loops += [loop(f"send-{i}", self._send_once, work) for i in range(PIPELINES)]
        if self.nats is not None:
            loops.append(loop("nats", self._publish_once, None))
        await asyncio.gather(*loops)
        return total

    async def _send_once(self) -> int:
        return await sender.deliver_due(self.state, self.poster, self.owner)

    async def _publish_once(self) -> int:
        assert self.nats is not None
        try:
            return await self.nats.publish_once()
        except Exception:
            await self.nats.close()  # reconnects on the next pass; the cursor waited for the server
            raise
