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
from sqlalchemy import Text, cast, select

from rmmbridge.kit.metrics import NATS_PUBLISH_LAG, NATS_PUBLISHED
from rmmbridge.kit.time import utcnow
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import EventOutbox
from rmmbridge.storage.models.base import table_of

from .dispatcher import CursorMoved, advance, after, cursor_row
from .envelope import envelope_json

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
        self._inbox = ""
        self._batch: _Batch | None = None
        self._batch_no = 0

    async def connect(self) -> None:
        import nats
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(self.url, max_reconnect_attempts=-1, connect_timeout=5)
        self._js = self._nc.jetstream()
        # Acks come back on one wildcard inbox, ``<inbox>.<batch>.<index>``, handled without a
        # future or a PubAck object per message (nats-py's publish_async spent more on those than on publishing).
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(f"{self._inbox}.>", cb=self._on_ack)
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
        """Publish the next batch; returns how many events were acknowledged (0: caught up).

        Every message of the batch is in flight at once (one write, acks pipelined back); the
        cursor moves to the batch's last event only when each of them was acknowledged."""
        if self._nc is None:
            await self.connect()
        async with unit_of_work(self.state.sessionmaker, read_only=True) as session:
            cursor = await cursor_row(session, self.cursor)
            o = table_of(EventOutbox)
            columns = (o.c.tx_id, o.c.id, o.c.tenant_id, o.c.event_type, o.c.entity_type, o.c.entity_id, o.c.created_at)
            query = select(*columns, cast(o.c.payload, Text).label("data"))
            events = (await session.execute(after(query, session, cursor.tx_id, cursor.event_id, limit))).all()
        if not events:
            NATS_PUBLISH_LAG.set(0)
            return 0
        NATS_PUBLISH_LAG.set(max(0.0, (utcnow() - events[0].created_at).total_seconds()))
        await self._publish_all(events)
        try:
            async with unit_of_work(self.state.sessionmaker) as session:
                await advance(session, cursor, events[-1])  # type: ignore[arg-type]
        except CursorMoved:
            return 0
        NATS_PUBLISHED.inc(len(events))
        return len(events)

    async def _publish_all(self, events: list[Any]) -> None:
        """Publish ``events`` and wait for the server's ack of each (or raise: the cursor stays)."""
        batch = _Batch(len(events))
        self._batch = batch
        self._batch_no += 1
        reply = f"{self._inbox}.{self._batch_no}."
        publish = self._nc.publish
        expected = self.stream
        for i, e in enumerate(events):
            body = envelope_json(e.id, e.event_type, e.created_at, e.tenant_id, e.entity_type, e.entity_id, e.data)
            await publish(
                f"{self.prefix}.{e.tenant_id}.{e.event_type}",
                body,
                reply=f"{reply}{i}",
                headers={"Nats-Msg-Id": str(e.id), "Nats-Expected-Stream": expected},
            )
        try:
            await asyncio.wait_for(batch.done.wait(), ACK_TIMEOUT_S)
        except TimeoutError as exc:
            missing = f"{batch.pending} of {len(events)} JetStream acks missing after {ACK_TIMEOUT_S:g} s"
            raise TimeoutError(missing) from exc
        finally:
            self._batch = None
        if batch.error is not None:
            raise batch.error

    async def _on_ack(self, msg: Any) -> None:
        batch_no, _, index = msg.subject[len(self._inbox) + 1 :].partition(".")
        batch = self._batch
        if batch is None or batch_no != str(self._batch_no):
            return  # a late ack of an earlier batch (which was given up and will be published again)
        batch.ack(int(index), _ack_error(msg))


class _Batch:
    """The acks one batch is waiting for."""

    def __init__(self, size: int) -> None:
        self.waiting = set(range(size))
        self.error: Exception | None = None
        self.done = asyncio.Event()

    @property
    def pending(self) -> int:
        return len(self.waiting)

    def ack(self, index: int, error: Exception | None) -> None:
        if error is not None and self.error is None:
            self.error = error
        self.waiting.discard(index)
        if not self.waiting:
            self.done.set()


def _ack_error(msg: Any) -> Exception | None:
    """Why JetStream refused the message (``None``: stored, or a duplicate the stream already holds)."""
    headers = msg.headers or {}
    if headers.get("Status") == "503":
        return RuntimeError("no JetStream stream answered the publish (503 no responders)")
    data = msg.data
    if not data:
        return RuntimeError(f"empty JetStream ack (status {headers.get('Status')})")
    if b'"error"' in data:
        try:
            error = json.loads(data).get("error") or {}
        except ValueError:
            error = {}
        return RuntimeError(f"JetStream refused the message: {error.get('description') or data[:200]!r}")
    return None
