"""Page decoding in worker processes (kit.offload): the same pages, records, skipped rows and
faults as decoding in a thread — over HTTP against the Tactical simulator — and a pool whose
worker died is replaced without losing the call."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from rmmbridge.kit import offload
from rmmbridge.providers.base import InvalidRecord, ProviderIncompleteError
from rmmbridge.simulators.faults import Fault
from rmmbridge.simulators.tacticalrmm import create_app, generate_fleet
from tests.providers.tacticalrmm import make_provider


@pytest.fixture
def pool_of(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Configure the pool for one test (every page big enough for it), then put back what the
    process had."""
    monkeypatch.setattr(offload, "MIN_BYTES", 0)
    saved = offload._size, offload._preload

    def use(processes: int) -> None:
        offload.configure(processes, saved[1])

    yield use
    offload.configure(*saved)


def _pid() -> int:
    return os.getpid()


async def test_work_runs_in_a_worker_process_or_in_a_thread(pool_of: Any) -> None:
    pool_of(1)
    worker = await offload.run(_pid)
    assert worker != os.getpid() and offload.worker_pids() == [worker]
    assert await offload.run(_pid) == worker  # the pool lives on between calls
    pool_of(0)
    assert await offload.run(_pid) == os.getpid() and offload.worker_pids() == []


async def test_work_asked_for_while_the_workers_start_runs_in_a_thread(pool_of: Any) -> None:
    """The first pages of a sync are not held back by a spawned interpreter's start-up."""
    offload.shutdown()
    pool_of(1)
    offload.warm()
    assert await offload.run(_pid) == os.getpid()  # the worker is still importing
    starting = offload._starting
    assert starting is not None
    starting.result(timeout=120)
    worker = await offload.run(_pid)
    assert worker != os.getpid() and offload.worker_pids() == [worker]


async def test_workers_that_cannot_start_leave_the_work_in_threads(pool_of: Any) -> None:
    """A worker that dies while starting would die again on every page, each paying a start-up:
    after one such pool the work stays in threads, and every call is still answered."""
    offload.shutdown()  # a running pool would keep its (healthy) workers
    offload.configure(1, ("tests.kit.exits_on_import",))
    assert await offload.run(_pid) == os.getpid()  # answered from a thread when the pool broke
    assert offload._size == 0 and offload._pool is None
    assert await offload.run(_pid) == os.getpid() and offload.worker_pids() == []


async def test_a_dead_worker_is_replaced_and_the_call_still_answers(pool_of: Any) -> None:
    pool_of(1)
    first = await offload.run(_pid)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the pool notices the death on its own thread
        try:
            os.kill(first, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    answered = await offload.run(_pid)  # a broken pool answers from a thread, or a new worker does
    assert answered != first
    replaced = await offload.run(_pid)
    assert replaced not in (first, os.getpid())  # from then on, a new worker


def _fleet_app() -> tuple[Any, Any]:
    fleet = generate_fleet(seed=11, clients=2, agents=45, sites_per_client=2, now=datetime.now(UTC))
    # A row normalization refuses (no hostname): it must come back as the same skipped record.
    next(iter(fleet.agents.values())).hostname = ""
    return fleet, create_app(fleet)


async def _pages(app: Any, kind: str, **config: Any) -> list[tuple[list[Any], list[tuple[str | None, str]], int]]:
    """Every scope's ``iter_<kind>_pages`` as (records, skipped rows with their causes, requests)."""
    made = make_provider(app, **config)
    try:
        pages = []
        for scope in await made.provider.list_scopes():
            async for page in getattr(made.provider, f"iter_{kind}_pages")(scope):
                records = page.snapshots if kind == "device" else page.records
                pages.append((records, [(e.external_id, e.cause) for e in page.invalid], getattr(page, "requests", 1)))
        return pages
    finally:
        await made.provider.aclose()


async def _walk(app: Any) -> list[tuple[list[Any], list[tuple[str | None, str]], int]]:
    return await _pages(app, "device", page_size=5)


async def _liveness(app: Any) -> list[tuple[list[Any], list[tuple[str | None, str]], int]]:
    return await _pages(app, "liveness")


async def test_a_walk_decoded_in_a_worker_process_equals_one_decoded_in_a_thread(pool_of: Any) -> None:
    fleet, app = _fleet_app()
    pool_of(0)
    in_thread = await _walk(app)
    pool_of(1)
    in_process = await _walk(app)
    assert offload.worker_pids(), "the walk used the worker process"
    assert in_process == in_thread
    # The content digest (no part of equality) is made in the worker and crosses intact.
    digests = [[s.content_digest for s in snaps] for snaps, _, _ in in_process]
    assert digests == [[s.content_digest for s in snaps] for snaps, _, _ in in_thread]
    assert all(len(d) == 32 for page in digests for d in page)
    assert sum(len(snaps) for snaps, _, _ in in_process) == len(fleet.agents) - 1
    assert [bad for _, invalid, _ in in_process for bad in invalid] == [
        (bad_id, cause) for _, invalid, _ in in_thread for bad_id, cause in invalid
    ] and len([1 for _, invalid, _ in in_process for _ in invalid]) == 1


async def test_a_liveness_pass_read_in_a_worker_process_equals_one_read_in_a_thread(pool_of: Any) -> None:
    fleet, app = _fleet_app()
    pool_of(0)
    in_thread = await _liveness(app)
    pool_of(1)
    in_process = await _liveness(app)
    assert in_process == in_thread
    assert sum(len(records) for records, _, _ in in_process) == len(fleet.agents)


async def test_small_pages_never_start_a_worker() -> None:
    """Below ``MIN_BYTES`` a page decodes in a thread: small tenants, tests and the CLI never pay
    for a worker's start-up."""
    saved = offload._size, offload._preload
    offload.shutdown()
    offload.configure(1)
    try:
        _fleet, app = _fleet_app()
        assert await _walk(app) and await _liveness(app)
        assert offload.worker_pids() == [] and offload._pool is None
    finally:
        offload.configure(*saved)


async def test_once_a_worker_is_up_pages_of_a_few_rows_go_to_it(pool_of: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up is the cost that kept small pages in threads; a worker that is up has paid it."""
    offload.shutdown()
    pool_of(1)
    monkeypatch.setattr(offload, "MIN_BYTES", 1 << 20)
    assert not offload.worth_it(offload.WARM_MIN_BYTES)  # no worker yet: a thread
    assert await offload.run(_pid) != os.getpid()  # a big page started one
    assert offload.worth_it(offload.WARM_MIN_BYTES) and not offload.worth_it(offload.WARM_MIN_BYTES - 1)
    busy = asyncio.ensure_future(offload.run(time.sleep, 1.0))  # the only worker takes a big page
    while offload._running == 0:
        await asyncio.sleep(0.01)
    assert not offload.worth_it(offload.WARM_MIN_BYTES)  # a small page is not queued behind it
    await busy
    assert offload.worth_it(offload.WARM_MIN_BYTES)
    offload.shutdown()
    assert not offload.worth_it(offload.WARM_MIN_BYTES)


async def test_a_burst_of_small_pages_starts_the_workers(pool_of: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hundred small clients are one big sync: their pages, in quick succession, start the
    workers as one big page would; the same pages spread out (a small tenant's periodic syncs) do not."""
    monkeypatch.setattr(offload, "MIN_BYTES", 1 << 20)
    pool_of(1)
    offload.shutdown()
    small = offload.MIN_BYTES // 2
    burst = offload.BURST_BYTES // small
    monkeypatch.setattr(offload, "BURST_GAP_S", -1.0)  # every page comes "long" after the last
    assert not any(offload.worth_it(small) for _ in range(2 * burst)) and offload._pool is None
    monkeypatch.setattr(offload, "BURST_GAP_S", 60.0)
    offload.shutdown()  # forgets the last page's burst too
    assert not any(offload.worth_it(small) for _ in range(burst - 1)) and offload._pool is None
    assert not offload.worth_it(small)  # the burst reached BURST_BYTES: this page still in a thread, ...
    starting = offload._starting
    assert starting is not None  # ... and the workers are starting for the next ones
    starting.result(timeout=120)
    assert offload.worth_it(offload.WARM_MIN_BYTES) and offload.worker_pids()


async def test_a_small_client_read_by_its_probe_is_decoded_in_a_worker(pool_of: Any) -> None:
    """A client that fits in the walk's probe (most of an MSP's clients) is decoded and normalized
    in the worker with the probe itself, with the same result as in a thread."""
    from rmmbridge.providers.tacticalrmm.pagination import PROBE_SIZE

    fleet, app = _fleet_app()
    assert len(fleet.agents) < PROBE_SIZE
    pool_of(0)
    in_thread = await _pages(app, "device")  # the default page size: a probe first
    offload.shutdown()
    pool_of(1)
    offload.warm()
    assert offload._starting is not None
    offload._starting.result(timeout=120)  # a probe never waits for a worker's start-up
    in_process = await _pages(app, "device")
    assert offload._served, "the probe went to the worker process"
    assert in_process == in_thread and len(in_process) == len(fleet.clients)
    assert sum(len(snaps) for snaps, _, _ in in_process) == len(fleet.agents) - 1


def test_a_skipped_record_survives_pickling() -> None:
    import pickle

    again = pickle.loads(pickle.dumps(InvalidRecord("agent-1", "site 3 is unknown")))
    assert (type(again), again.external_id, again.cause, str(again)) == (
        InvalidRecord,
        "agent-1",
        "site 3 is unknown",
        "agent-1: site 3 is unknown",
    )


@pytest.mark.parametrize("kind", ["truncate", "malformed"])
async def test_a_broken_page_fails_the_same_way_in_a_worker_process(pool_of: Any, kind: str) -> None:
    causes = []
    _fleet, app = _fleet_app()  # one fleet: the same bytes are cut at the same place both times
    for processes in (0, 1):
        pool_of(processes)
        made = make_provider(app, page_size=5)
        scope = (await made.provider.list_scopes())[0]
        app.faults.add(Fault(kind, path_contains="/beta/v1/agent/", query_contains="page=2", times=1))
        with pytest.raises(ProviderIncompleteError, match="page 2 failed") as info:
            async for _ in made.provider.iter_device_pages(scope):
                pass
        await made.provider.aclose()
        causes.append(info.value.cause)
    assert causes[0] == causes[1] and causes[0].startswith("JSONDecodeError: "), causes


_ORPHAN = """
import asyncio, os
from rmmbridge.kit import offload
offload.configure(1)
print(asyncio.run(offload.run(os.getpid)), flush=True)
os.kill(os.getpid(), 9)
"""


def test_a_worker_whose_parent_was_killed_leaves() -> None:
    """``serve`` killed with SIGKILL (or by the OOM killer) must not leave its worker behind."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _ORPHAN], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    worker = int(done.stdout.strip())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"worker {worker} outlived its killed parent")
