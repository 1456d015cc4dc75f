"""``rmmbridge worker`` as a real process: it refuses the direct orchestrator, says so when Temporal
is unreachable, and against the dev server it creates the schedule, serves, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

from temporalio.client import Client
from temporalio.service import RPCError

from rmmbridge.sync.temporal.payloads import SCHEDULE_ID
from tests.conftest import TEST_SECRET_KEY


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "RMMBRIDGE_DATABASE_URL": database_url,
        "RMMBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
        "RMMBRIDGE_LOG_LEVEL": "WARNING",
        "NO_COLOR": "1",
        "COLUMNS": "200",
        **extra,
    }


def _worker(env: dict[str, str], cwd: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rmmbridge", "worker"],
        env=env,
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_worker_refuses_the_direct_orchestrator(database_url, tmp_path):
    proc = _worker(_env(database_url, RMMBRIDGE_ORCHESTRATOR="direct"), str(tmp_path))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "RMMBRIDGE_ORCHESTRATOR=temporal" in err


def test_worker_says_when_temporal_is_unreachable(database_url, tmp_path):
    env = _env(database_url, RMMBRIDGE_ORCHESTRATOR="temporal", RMMBRIDGE_TEMPORAL_ADDRESS="127.0.0.1:9")
    proc = _worker(env, str(tmp_path))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "cannot reach Temporal at 127.0.0.1:9" in err, err
    assert "Traceback" not in err


async def test_worker_creates_the_schedule_and_stops_on_sigterm(database_url, temporal_address, tmp_path):
    client = await Client.connect(temporal_address)
    try:  # another test may have left it
        await client.get_schedule_handle(SCHEDULE_ID).delete()
    except RPCError:
        pass
    env = _env(
        database_url,
        RMMBRIDGE_ORCHESTRATOR="temporal",
        RMMBRIDGE_TEMPORAL_ADDRESS=temporal_address,
        RMMBRIDGE_TEMPORAL_TASK_QUEUE=f"cli-{uuid.uuid4().hex[:8]}",
    )
    proc = _worker(env, str(tmp_path))
    try:
        for _ in range(150):
            try:
                described = await client.get_schedule_handle(SCHEDULE_ID).describe()
                break
            except RPCError:
                assert proc.poll() is None, proc.communicate()[1]
                await asyncio.sleep(0.2)
        else:
            raise AssertionError("the worker did not create the schedule")
        assert described.schedule.action.task_queue == env["RMMBRIDGE_TEMPORAL_TASK_QUEUE"]  # type: ignore[union-attr]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "rmmbridge worker on" in out
    finally:
        if proc.poll() is None:
            proc.kill()
        await client.get_schedule_handle(SCHEDULE_ID).delete()
