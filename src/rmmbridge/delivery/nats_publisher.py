"""Publishing the outbox to NATS JetStream (``RMMBRIDGE_NATS_URL``).

Every event goes to ``rmmbridge.<tenant id>.<event type>`` on the stream ``RMMBRIDGE`` (created if
absent, subjects ``rmmbridge.>``) with ``Nats-Msg-Id`` = the event id. The cursor (``nats`` in
``delivery_cursors``) moves only after the server acknowledged every message of the batch, so a
crash re-publishes at most one batch, which the server drops as duplicates within the stream's
duplicate window (set well above the time a restart takes). Two processes publishing at once
both publish the batch; the server keeps one copy and the cursor's compare-and-set lets one win.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import structlog

from rmmbridge.kit.metrics import NATS_PUBLISH_LAG, NATS_PUBLISHED
from rmmbridge.kit.time import utcnow
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work

from .dispatcher import CursorMoved, advance, cursor_row, read_after
from .envelope import envelope

log = structlog.get_logger(__name__)

NATS_CURSOR = "nats"
STREAM = "RMMBRIDGE"
DUPLICATE_WINDOW = timedelta(minutes=30)
BATCH = 2000
ACK_TIMEOUT_S = 10.0


def subject_of(tenant_id: Any, event_type: str, prefix: str = "rmmbridge") -> str:
    return f"{prefix}.{tenant_id}.{event_type}"


class NatsPublisher:
    def __init__(
        self, state: AppState, url: str, *, stream: str = STREAM, prefix: str = "rmmbridge", cursor: str = NATS_CURSOR
    ) -> None:
        self.state = state
        self.url = url
        self.stream = stream
        self.prefix = prefix
        self.subjects = f"{prefix}.>"
        self.cursor = cursor
        self._nc: Any = None
        self._js: Any = None

    async def connect(self) -> None:
        import nats
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(self.url, max_reconnect_attempts=-1, connect_timeout=5)
        self._js = self._nc.jetstream(publish_async_max_pending=BATCH * 2)
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(
                name=self.stream, subjects=[self.subjects], duplicate_window=DUPLICATE_WINDOW.total_seconds()
            )
            log.info("nats_stream_created", stream=self.stream)

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()
            self._nc = self._js = None

    async def publish_once(self, limit: int = BATCH) -> int:
        """Publish the next batch; returns how many events were acknowledged (0: caught up)."""
        if self._js is None:
            await self.connect()
        async with unit_of_work(self.state.sessionmaker, read_only=True) as session:
            cursor = await cursor_row(session, self.cursor)
            events = await read_after(session, cursor.tx_id, cursor.event_id, limit)
        if not events:
            NATS_PUBLISH_LAG.set(0)
            return 0
        NATS_PUBLISH_LAG.set(max(0.0, (utcnow() - events[0].created_at).total_seconds()))
        futures = []
        for event in events:
            body = json.dumps(envelope(event), separators=(",", ":")).encode()
            futures.append(
                await self._js.publish_async(
                    subject_of(event.tenant_id, event.event_type, self.prefix),
                    body,
                    headers={"Nats-Msg-Id": str(event.id)},
                    stream=self.stream,
                )
            )
        # Every ack, or an exception: then the cursor stays and the batch is published again.
        await asyncio.wait_for(asyncio.gather(*futures), ACK_TIMEOUT_S)
        try:
            async with unit_of_work(self.state.sessionmaker) as session:
                await advance(session, cursor, events[-1])
        except CursorMoved:
            return 0
        NATS_PUBLISHED.inc(len(events))
        return len(events)
