"""Publishing the outbox to NATS JetStream (``RMMBRIDGE_NATS_URL``).

Every event goes to ``rmmbridge.<tenant id>.<event type>`` on the stream ``RMMBRIDGE`` (created if
absent, subjects ``rmmbridge.>``) with ``Nats-Msg-Id`` = the event id. The cursor (``nats`` in
``delivery_cursors``) moves batch by batch, in feed order, only after the server acknowledged
every message of the batch, so a crash re-publishes at most the ``DEPTH`` batches in flight, which
the server drops as duplicates within the stream's duplicate window (set well above the time a
restart takes). Two processes publishing at once
both publish the batch; the server keeps one copy and the cursor's compare-and-set lets one win.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
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
DEPTH = 4  # batches in flight at once
MAX_BATCHES = 8  # per publish_once call, so a loop around it regains control now and then
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
        self._batches: dict[str, _Batch] = {}
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

    async def publish_once(self, limit: int = BATCH, *, depth: int = DEPTH, max_batches: int = MAX_BATCHES) -> int:
        """Publish what is new, up to ``max_batches`` batches; returns how many events were
        acknowledged and passed by the cursor (0: caught up).

        Every message of a batch is in flight at once (acks pipelined back), and up to ``depth``
        batches: the next one is read and published while the server still acks the previous.
        The cursor moves batch by batch, in feed order, each time to a batch's last event once
        every message of that batch and of the ones before it was acknowledged."""
        if self._nc is None:
            await self.connect()
        async with unit_of_work(self.state.sessionmaker, read_only=True) as session:
            row = await cursor_row(session, self.cursor)
            cursor = _Cursor(row.name, row.tx_id, row.event_id)
        tail: tuple[int, Any] | None = (cursor.tx_id, cursor.event_id)
        in_flight: deque[tuple[_Batch, Any, int]] = deque()
        published = read = 0
        try:
            while True:
                while tail is not None and len(in_flight) < depth and read < max_batches:
                    events = await self._read(tail, limit)
                    if not read:
                        lag = (utcnow() - events[0].created_at).total_seconds() if events else 0.0
                        NATS_PUBLISH_LAG.set(max(0.0, lag))
                    if not events:
                        tail = None
                        break
                    read += 1
                    in_flight.append((await self._publish_all(events), events[-1], len(events)))
                    tail = (events[-1].tx_id, events[-1].id) if len(events) == limit else None
                if not in_flight:
                    return published
                batch, last, n = in_flight.popleft()
                await batch.wait(ACK_TIMEOUT_S)
                async with unit_of_work(self.state.sessionmaker) as session:
                    await advance(session, cursor, last)  # type: ignore[arg-type]
                cursor.tx_id, cursor.event_id = last.tx_id, last.id
                published += n
                NATS_PUBLISHED.inc(n)
        except CursorMoved:
            return published  # another process is ahead; what it published the server deduplicates
        finally:
            for batch, _, _ in in_flight:
                self._batches.pop(batch.no, None)

    async def _read(self, tail: tuple[int, Any], limit: int) -> list[Any]:
        o = table_of(EventOutbox)
        columns = (o.c.tx_id, o.c.id, o.c.tenant_id, o.c.event_type, o.c.entity_type, o.c.entity_id, o.c.created_at)
        query = select(*columns, cast(o.c.payload, Text).label("data"))
        async with unit_of_work(self.state.sessionmaker, read_only=True) as session:
            return list((await session.execute(after(query, session, tail[0], tail[1], limit))).all())

    async def _publish_all(self, events: list[Any]) -> _Batch:
        """Publish ``events``; the returned batch tells when the server acked each of them."""
        self._batch_no += 1
        batch = _Batch(str(self._batch_no), len(events))
        self._batches[batch.no] = batch
        reply = f"{self._inbox}.{batch.no}."
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
        return batch

    async def _on_ack(self, msg: Any) -> None:
        batch_no, _, index = msg.subject[len(self._inbox) + 1 :].partition(".")
        batch = self._batches.get(batch_no)
        if batch is None:
            return  # a late ack of a batch given up on (it will be published again)
        if batch.ack(int(index), _ack_error(msg)):
            del self._batches[batch_no]


@dataclass
class _Cursor:
    name: str
    tx_id: int
    event_id: Any


class _Batch:
    """The acks one published batch is waiting for."""

    def __init__(self, no: str, size: int) -> None:
        self.no = no
        self.size = size
        self.waiting = set(range(size))
        self.error: Exception | None = None
        self.done = asyncio.Event()

    def ack(self, index: int, error: Exception | None) -> bool:
        """Note one ack; True when the batch has them all."""
        if error is not None and self.error is None:
            self.error = error
        self.waiting.discard(index)
        if self.waiting:
            return False
        self.done.set()
        return True

    async def wait(self, timeout: float) -> None:
        """Until every message was acked; raises when one was refused or acks are missing."""
        try:
            await asyncio.wait_for(self.done.wait(), timeout)
        except TimeoutError as exc:
            missing = f"{len(self.waiting)} of {self.size} JetStream acks missing after {timeout:g} s"
            raise TimeoutError(missing) from exc
        if self.error is not None:
            raise self.error


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
