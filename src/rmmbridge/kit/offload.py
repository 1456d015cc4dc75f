"""Pure, CPU-heavy work (decoding and normalizing a provider's pages) in worker processes.

A worker *thread* shares the interpreter lock with the event loop and the device writer: in the
Tactical device sync, decoding and normalizing 7 MB agent pages is about 40 % of the client's CPU,
and in a thread all of it competed with the writer for one core while PostgreSQL had the other.
A worker process decodes on its own core; the loop only receives the page's records, pickled —
unpickling 1,000 snapshots costs a tenth of making them (30–60 ms against 270–330 ms measured on
one page of the Tactical simulator).

``Settings.decode_processes`` sizes the pool (``configure``, at start-up): 0 keeps the work in a
thread. The pool is per process and outlives event loops (tests run many); a pool whose worker died
(killed, out of memory) is replaced, and the call that found it broken runs in a thread instead.
Functions and arguments sent here must be picklable and must not need the caller's state: module
functions, ``functools.partial`` of them, plain records.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from .heap import settle_heap

T = TypeVar("T")
logger = logging.getLogger(__name__)

_size = 0
_preload: tuple[str, ...] = ()
_pool: ProcessPoolExecutor | None = None
_starting: Future[int] | None = None  # warm()'s first task: done once a worker is up
_served = False  # the current pool has answered a call (a pool that breaks before that cannot start)


def default_processes() -> int:
    """One worker per core beyond the first (the loop and the writer keep one), at most two."""
    return max(0, min(2, (os.cpu_count() or 1) - 1))


def configure(processes: int | None, preload: Sequence[str] = ()) -> None:
    """Use ``processes`` workers from now on (``None``: :func:`default_processes`; 0: threads).
    A worker imports the ``preload`` modules (those whose functions it will run) as it starts;
    a pool already running keeps its workers (what they lack, they import when first asked)."""
    global _size, _preload
    wanted = default_processes() if processes is None else processes
    _preload = tuple(preload)
    if wanted != _size:
        shutdown()
        _size = wanted


# Below this much input a worker process costs more than it saves: pickling the result and, the
# first time, a spawned interpreter's start-up. Small tenants, tests and single-device reads never
# start one; a page of hundreds of production agents (7 KB each) is well above it.
MIN_BYTES = 1 << 20
# Once a worker is up, its start-up is paid: a page costs it one round trip and the unpickling of
# its records (a tenth of decoding them), so a page above a few rows goes there when a worker is
# idle. An MSP with 200 clients is mostly small clients: a 20,000-agent sync had a third of its
# agents in pages under MIN_BYTES, decoded in threads that compete with the writer for the
# interpreter. A busy worker is left to the big pages: queued behind them, small pages would make
# the worker the sync's bottleneck (a re-sync, whose writer has little to do, measured slower).
WARM_MIN_BYTES = 64 << 10
# Small pages in quick succession (no gap longer than BURST_GAP_S) adding up to BURST_BYTES are a
# big sync made of small listings: they start the workers as one big page would.
BURST_BYTES = 4 * MIN_BYTES
BURST_GAP_S = 60.0
_burst = 0
_burst_at = 0.0
_running = 0  # calls sent to the pool and not answered yet


def worth_it(size: int) -> bool:
    """Whether ``size`` bytes of input should go to a worker process (when there is a pool).
    A page that stays in a thread counts towards a burst that starts the pool (:func:`warm`)."""
    if size >= MIN_BYTES or (size >= WARM_MIN_BYTES and ready() and _running < _size):
        return True
    _note_small(size)
    return False


def ready() -> bool:
    """A pool whose worker has started (or answered): sending it a page costs no start-up."""
    return _pool is not None and (_served or (_starting is not None and _starting.done()))


def _note_small(size: int) -> None:
    global _burst, _burst_at
    if _size <= 0:
        return
    now = time.monotonic()
    _burst = (_burst if now - _burst_at <= BURST_GAP_S else 0) + size
    _burst_at = now
    if _burst >= BURST_BYTES:
        _burst = 0
        warm()


def warm() -> None:
    """Start the workers now (a spawned interpreter takes a second or two to import) rather than
    on the first page that needs them. Until one is up, :func:`run` works in a thread: the first
    pages of a sync are not held back by the start-up (measured: the writer began 1.3 s late)."""
    global _starting
    pool = _executor()
    if pool is not None and _starting is None and not _served:  # a pool that answered is up
        _starting = pool.submit(int)


async def run(fn: Callable[..., T], /, *args: object) -> T:
    """``fn(*args)`` in a worker process, or in a thread when none is configured or while the
    workers :func:`warm` started are still starting."""
    global _served, _running
    pool = _executor()
    if pool is None or (_starting is not None and not _starting.done()):
        return await asyncio.to_thread(fn, *args)
    _running += 1
    try:
        result = await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
    except BrokenProcessPool:
        _discard(pool)
        return await asyncio.to_thread(fn, *args)
    finally:
        _running -= 1
    _served = True
    return result


def worker_pids() -> list[int]:
    """The live workers' process ids (benchmarks add their CPU to the client's)."""
    processes = getattr(_pool, "_processes", None) or {}
    return list(processes)


def shutdown() -> None:
    global _pool, _starting, _served, _burst
    pool, _pool, _starting, _served, _burst = _pool, None, None, False, 0
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _executor() -> ProcessPoolExecutor | None:
    global _pool
    if _size <= 0:
        return None
    if _pool is None:
        # spawn, not fork: the parent runs an event loop and threads whose locks a fork would copy.
        _pool = ProcessPoolExecutor(
            _size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(_preload, os.getpid()),
        )
    return _pool


def _start(preload: tuple[str, ...], parent: int) -> None:
    """A worker's start: it leaves with its parent, its modules are imported, then its heap is
    settled — otherwise each full collection while decoding walks every imported module's
    objects again (see ``kit.heap``)."""
    threading.Thread(target=_exit_with_parent, args=(parent,), name="offload-parent", daemon=True).start()
    for module in preload:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: S112 - a module that cannot load here fails the call that needs it
            continue
    settle_heap()


def _discard(pool: ProcessPoolExecutor) -> None:
    """Drop a broken pool: the next call starts a new one — unless this one never answered a call.
    Workers that cannot start (a ``__main__`` a spawned interpreter cannot import, no memory) would
    fail the same way each time, every page paying a start-up: the work stays in threads then."""
    global _pool, _starting, _served, _size
    if _pool is not pool:
        pool.shutdown(wait=False, cancel_futures=True)
        return
    if not _served:
        _size = 0
        logger.warning("decode worker processes could not start; decoding in threads from now on")
    _pool, _starting, _served = None, None, False
    pool.shutdown(wait=False, cancel_futures=True)


def _exit_with_parent(parent: int) -> None:
    """A parent that exits normally stops its workers; one that is killed (SIGKILL, the OOM
    killer) cannot, and its idle workers would wait on their task pipe forever: re-parented,
    they notice within a second and leave."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)
