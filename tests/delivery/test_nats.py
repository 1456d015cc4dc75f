"""NATS JetStream publishing against the machine's real server (127.0.0.1:4222).

Each test uses its own stream, subject prefix and cursor, so it neither sees nor disturbs a
deployment's ``RMMBRIDGE`` stream. With ``CI=true`` a missing server fails the test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
import uuid

import pytest

from rmmbridge.delivery.nats_publisher import NatsPublisher
from tests.conftest import IN_CI

from .support import emit_events
from .test_concurrency import spawn

NATS_URL = os.environ.get("RMMBRIDGE_TEST_NATS", "nats://127.0.0.1:4222")


@pytest.fixture
def nats_url() -> str:
    host, port = NATS_URL.rsplit("//", 1)[1].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"NATS is required in CI but unreachable at {NATS_URL}: {exc}")
        pytest.skip(f"NATS unreachable at {NATS_URL}: {exc}")
    return NATS_URL


async def stream_contents(url: str, stream: str, subject: str) -> list[str]:
    """Every message's Nats-Msg-Id on ``subject`` (read with an ephemeral ordered consumer)."""
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream, subjects_filter=subject)
        total = sum((info.state.subjects or {}).values())
        ids: list[str] = []
        sub = await js.subscribe(subject, stream=stream, ordered_consumer=True)
        deadline = time.monotonic() + 60
        while len(ids) < total and time.monotonic() < deadline:
            msg = await sub.next_msg(timeout=5)
            ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
        await sub.unsubscribe()
        return ids
    finally:
        await nc.close()


async def delete_stream(url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


async def test_every_event_arrives_once_even_across_a_kill(state, tenant, database_url, nats_url):
    tag = uuid.uuid4().hex[:10]
    stream, prefix, cursor = f"T{tag}", f"rmbt{tag}", f"nats-{tag}"
    ids = await emit_events(state, tenant.tenant_id, 10_000)
    proc = spawn("nats", database_url, "120", nats_url, stream, prefix, cursor)
    try:
        subject = f"{prefix}.{tenant.tenant_id}.>"
        # Kill -9 in the middle of the run: some batches acknowledged, the cursor not yet past them all.
        await asyncio.sleep(0.5)
        deadline = time.monotonic() + 60
        publisher = NatsPublisher(state, nats_url, stream=stream, prefix=prefix, cursor=cursor)
        while time.monotonic() < deadline:
            try:
                await publisher.connect()
                break
            except Exception:
                await asyncio.sleep(0.2)
        at_kill = 0
        while time.monotonic() < deadline and at_kill < 2_000:
            info = await publisher._js.stream_info(stream, subjects_filter=subject)
            at_kill = sum((info.state.subjects or {}).values())
            await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert 2_000 <= at_kill < 10_000  # killed in the middle of the run
        # A restarted rmmbridge picks up at the cursor; what it publishes again is deduplicated.
        while await publisher.publish_once():
            pass
        await publisher.close()
        got = await stream_contents(nats_url, stream, subject)
        assert len(got) == 10_000 and set(got) == set(ids)
    finally:
        if proc.poll() is None:
            proc.kill()
        await delete_stream(nats_url, stream)


async def test_subject_stream_envelope_and_lag_metric(http, state, tenant, nats_url):
    import json

    import nats

    tag = uuid.uuid4().hex[:10]
    stream, prefix = f"T{tag}", f"rmbt{tag}"
    publisher = NatsPublisher(state, nats_url, stream=stream, prefix=prefix, cursor=f"nats-{tag}")
    [event_id] = await emit_events(state, tenant.tenant_id, 1, event_type="asset.retired")
    while await publisher.publish_once():
        pass
    await publisher.close()
    metrics = (await http.get("/metrics")).text
    assert "rmmbridge_nats_publish_lag_seconds 0.0" in metrics  # caught up
    assert "rmmbridge_nats_published_total" in metrics
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(f"{prefix}.{tenant.tenant_id}.asset.retired", stream=stream, ordered_consumer=True)
        msg = await sub.next_msg(timeout=5)
        assert msg.headers["Nats-Msg-Id"] == event_id
        body = json.loads(msg.data)
        assert body["id"] == event_id and body["type"] == "asset.retired"
        assert body["tenant_id"] == str(tenant.tenant_id)
        await js.delete_stream(stream)
    finally:
        await nc.close()
