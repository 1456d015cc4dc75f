"""Device sync benchmark: a whole sync against the provider's simulator on a real loopback port.

    python -m bench.sync --provider tacticalrmm --agents 20000 --db postgres --json

Prints one JSON object: agents, sync_s (one full device sync through the job: HTTP pages from the
simulator process, normalization, the shared pipeline), fetch_only_s (the same pages drained
without writing), ingest_only_s (the same snapshots through the pipeline without HTTP),
ratio = sync_s / (fetch_only_s + ingest_only_s) (< 1 when fetching and writing overlap) and
peak_rss_mb (resident memory peak after the sync).

    python -m bench.sync --provider tacticalrmm --agents 20000 --db postgres --real-server-model --json \
        [--concurrency 1|4]

runs the simulator with the real Tactical server's serving-cost model (per request and per row
time, 4 workers; simulators/tacticalrmm/serving_cost.py) and also prints floor_s (the requests
the sync made, replayed one after another by a plain httpx client that only reads the bytes: the
server's own serving time), ratio_to_floor = sync_s / floor_s, client_cpu_ms_per_agent (CPU time
of this process — rmmbridge's runner, HTTP, parsing, normalization, SQLAlchemy; not the database
server's — during the sync, per agent), concurrency (requests in flight, the integration's
setting; default the provider's), and the server's view of the sync from its request log:
server_span_s (first request in to last response out) and server_idle_s (within that span, time
the server had none of the sync's requests to work on: rmmbridge not keeping up),
server_cpu_ms_per_agent (the simulator process's own CPU during the sync, per agent: on this
machine it shares the cores with the client) and loadavg_1m (load when the sync started). With a
local PostgreSQL also db_cpu_ms_per_agent (the CPU of its processes working for the bench's
database during the sync: its backends and the server's background writers), cpu_bound_s (the
client's, the simulator's and the database's CPU during the sync divided by this machine's cores:
the shortest wall time any sync could take here, with every core busy throughout) and
ratio_bound = cpu_bound_s / floor_s (the lowest ratio_to_floor this machine allows for that work). sync_s minus
server_span_s is the run's own start and end (claiming, the last page's writing, finishing).

    python -m bench.sync ... --clients 200

spreads the agents over that many clients (default 10, the shape every figure so far was measured
on: one client holds ~9,400 of 20,000 agents). The real Tactical server of issue #12 had 200
clients and 574 sites: most clients are small, each a listing of one page (or one probe), so the
per-request cost and the writer's per-transaction cost are paid hundreds of times.

    python -m bench.sync ... --resync

also syncs the same fleet a second time, right after the first, and prints resync_s,
resync_unchanged and the second sync's own resync_floor_s, resync_ratio_to_floor,
resync_client_cpu_ms_per_agent (and the other per-sync figures): the first sync creates every
asset, every later one mostly finds them unchanged, and that is the sync an MSP runs all day.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

from sqlalchemy import select

from rmmbridge.config import Settings
from rmmbridge.ingestion.devices import DeviceIngestor
from rmmbridge.integrations import mappings as mapping_service
from rmmbridge.integrations import service
from rmmbridge.integrations.factory import build_provider
from rmmbridge.integrations.schemas import CredentialsIn, IntegrationCreate
from rmmbridge.kit.time import utcnow
from rmmbridge.providers.base import DevicePage, DeviceSnapshot, RemoteScope
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.maintenance import GrowthAnalyzer
from rmmbridge.storage.models import RmmOrganizationMapping
from rmmbridge.sync.runner import runner_of
from rmmbridge.sync.service import request_sync
from rmmbridge.tenancy import service as tenancy
from rmmbridge.tenancy.auth import system_context

from . import common
from .support import FLEET_CLIENTS, control_client, free_port, registry, simulator

SECRET_KEY = "q2Yk3VdC5xq9o7kq2l7yQn4uM3Gq4m0y3cR9rA0d1xI="


async def _wait_port(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError("simulator did not start")


async def _connected_tenant(
    state: Any, provider: str, agents: int, port: int, concurrency: int | None = None
) -> tuple[Any, uuid.UUID]:
    _, creds = simulator(provider, 0)  # credentials only
    async with unit_of_work(state.sessionmaker) as s:
        tenant = await tenancy.create_tenant(s, f"bench-{uuid.uuid4().hex[:6]}")
        ctx = system_context(tenant.id, "bench")
        row = await service.create_integration(s, ctx, state.registry, IntegrationCreate(provider=provider))
        values = dict(creds["values"])
        cls = state.registry.get(provider)
        if "allow_insecure_url" in cls.config_model.model_fields:
            values["allow_insecure_url"] = True  # the simulator speaks plain http on loopback
        if concurrency is not None:
            values["concurrency"] = concurrency
        await service.save_credentials(state, s, ctx, row.id, CredentialsIn(
            instance_url=f"http://127.0.0.1:{port}", auth_mode=creds.get("auth_mode"), values=values))
    async with unit_of_work(state.sessionmaker) as s:
        test = await service.test_connection(state, s, ctx, row.id, None)
        assert test.ok, test.checks
    await _run(state, ctx, row.id, "scopes")
    async with unit_of_work(state.sessionmaker) as s:
        for m in await s.scalars(select(RmmOrganizationMapping).where(RmmOrganizationMapping.integration_id == row.id)):
            await mapping_service.create_client_for_mapping(s, ctx, row.id, m.id)
    return ctx, row.id


async def _run(state: Any, ctx: Any, integration_id: uuid.UUID, kind: str) -> dict[str, Any]:
    async with unit_of_work(state.sessionmaker) as s:
        started = await request_sync(state, s, ctx, integration_id, kind, "bench")
    await runner_of(state).wait(started.run.id)
    async with unit_of_work(state.sessionmaker) as s:
        from rmmbridge.sync import runs

        run = await runs.get_run(s, ctx, started.run.id)
        return {"status": run.status, "counters": run.counters, "errors": run.errors[:3]}


async def _fetch_only(state: Any, ctx: Any, integration_id: uuid.UUID) -> tuple[float, list[list[DeviceSnapshot]]]:
    async with unit_of_work(state.sessionmaker, read_only=True) as s:
        row = await service.get_integration(s, ctx, integration_id)
        provider = await build_provider(state, s, row)
        mapped = list(await s.scalars(select(RmmOrganizationMapping).where(
            RmmOrganizationMapping.integration_id == integration_id)))
    provider.ctx.settings = {**provider.ctx.settings, "mapped_scope_ids": sorted(m.external_org_id for m in mapped)}
    pages: list[list[DeviceSnapshot]] = []
    limit = asyncio.Semaphore(4)  # the device sync job's scope concurrency

    async def walk(m: RmmOrganizationMapping) -> None:
        async with limit:
            async for page in provider.iter_device_pages(RemoteScope(m.external_org_id, m.external_org_name,
                                                                     m.scope_kind, attributes=m.attributes)):
                pages.append(page.snapshots)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(walk(m) for m in mapped))
    finally:
        await provider.aclose()
    return time.perf_counter() - started, pages


async def _ingest_only(state: Any, provider: str, pages: list[list[DeviceSnapshot]], realms: set[str]) -> float:
    from rmmbridge.clients.schemas import ClientCreate
    from rmmbridge.clients.service import create_client

    async with unit_of_work(state.sessionmaker) as s:
        tenant = await tenancy.create_tenant(s, f"bench-ingest-{uuid.uuid4().hex[:6]}")
        ctx = system_context(tenant.id, "bench")
        row = await service.create_integration(s, ctx, state.registry, IntegrationCreate(provider=provider))
        clients = {realm: (await create_client(s, ctx, ClientCreate(name=f"C {realm}"))).id for realm in realms}
    ingestor = DeviceIngestor(ctx, row.id, provider, uuid.uuid4(), clients, "bench")
    analyzer = GrowthAnalyzer()
    started = time.perf_counter()
    for snaps in pages:
        async with unit_of_work(state.sessionmaker) as s:
            outcome = await ingestor.ingest(s, DevicePage(snaps), utcnow())
            await analyzer.after_page(s, outcome.counters.created)
    return time.perf_counter() - started


async def _served_requests(base: str, clear: bool = False) -> list[dict[str, Any]]:
    async with control_client(base) as http:
        response = await (http.delete if clear else http.get)("/_sim/serving")
        response.raise_for_status()
        return list(response.json()["log"])


def _server_view(served: list[dict[str, Any]]) -> tuple[float, float]:
    """(span, idle): from the sync's first request reaching the server to its last response sent,
    and how much of that the server had none of the sync's requests to work on (waiting for us)."""
    ordered = sorted(served, key=lambda r: r["arrived"])
    idle, end = 0.0, ordered[0]["arrived"]
    for r in ordered:
        idle += max(0.0, r["arrived"] - end)
        end = max(end, r["finished"])
    return end - ordered[0]["arrived"], idle


async def _floor(base: str, served: list[dict[str, Any]], api_key: str) -> float:
    """The same requests, one after another, by a plain client that only reads the bytes.

    A new connection per request: the simulator closes kept-alive connections like Tactical's uWSGI,
    so a plain client that reused one would lose its next request."""
    async with control_client(base, headers={"X-API-KEY": api_key, "Accept-Encoding": "gzip"}, timeout=120) as http:
        started = time.perf_counter()
        for r in served:
            url = r["path"] + (f"?{r['query']}" if r["query"] else "")
            response = await http.request(r["method"], url)
            assert response.status_code < 500, (url, response.status_code)
        return time.perf_counter() - started


def start_simulator(port: int, provider: str, agents: int, *extra: str) -> subprocess.Popen[bytes]:
    """The provider's simulator in its own process on ``port`` (``bench.support simulate``)."""
    return subprocess.Popen([sys.executable, "-m", "bench.support", "simulate", "--port", str(port),
                             "--provider", provider, "--agents", str(agents), *extra],
                            env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=tempfile.TemporaryFile())


def bench_state(database_url: str) -> Any:
    """The app state a benchmark drives: no scheduler, loopback http simulators allowed."""
    from rmmbridge.app import build_state
    from rmmbridge.kit.heap import settle_heap

    state = build_state(Settings(database_url=database_url, secret_key=SECRET_KEY, scheduler_enabled=False,
                                 allow_insecure_provider_urls=True), registry=registry())
    settle_heap()  # as `rmmbridge serve` does once the app is built
    return state


async def stop_bench(sim: subprocess.Popen[bytes], state: Any, db: Any) -> None:
    """Undo :func:`start_simulator`, :func:`bench_state` and ``common.fresh_database``."""
    sim.terminate()
    sim.wait(10)
    await runner_of(state).stop()
    await state.engine.dispose()
    await common.dispose(db)


# The figures a --resync run repeats for its second sync.
_PER_SYNC = ("floor_s", "ratio_to_floor", "client_cpu_ms_per_agent", "server_cpu_ms_per_agent",
             "db_cpu_ms_per_agent", "cpu_bound_s", "ratio_bound", "server_idle_s")


async def _measured_sync(
    state: Any, ctx: Any, integration_id: uuid.UUID, sim: subprocess.Popen[bytes], base: str, provider: str,
    agents: int, db_kind: str, real_server_model: bool, concurrency: int | None,
) -> tuple[dict[str, Any], float, float, dict[str, Any]]:
    """One device sync through the job: (its run, sync_s, peak_rss_mb, the real-server-model figures)."""
    if real_server_model:
        await _served_requests(base, clear=True)
    load = common.loadavg()
    db_started = await common.database_cpu_s(state.engine) if db_kind == "postgres" else None
    started, cpu_started, sim_started = time.perf_counter(), common.client_cpu_s(), common.process_cpu_s(sim.pid)
    result = await _run(state, ctx, integration_id, "devices")
    sync_s, cpu_s = time.perf_counter() - started, common.client_cpu_s() - cpu_started
    sim_cpu_s = common.process_cpu_s(sim.pid) - sim_started
    db_cpu_s = (
        common.cpu_between(db_started, await common.database_cpu_s(state.engine))
        if db_started is not None
        else None
    )
    rss = common.peak_rss_mb()
    assert result["status"] == "succeeded", result
    model: dict[str, Any] = {}
    if real_server_model:
        served = await _served_requests(base)
        floor_s = await _floor(base, served, simulator(provider, 0)[1]["values"]["api_key"])
        span_s, idle_s = _server_view(served)
        model = {"floor_s": round(floor_s, 3), "ratio_to_floor": round(sync_s / floor_s, 3),
                 "server_span_s": round(span_s, 3), "server_idle_s": round(idle_s, 3),
                 "requests": len(served), "concurrency": concurrency or "default",
                 "client_cpu_ms_per_agent": round(cpu_s * 1000 / max(1, agents), 3),
                 "server_cpu_ms_per_agent": round(sim_cpu_s * 1000 / max(1, agents), 3),
                 "loadavg_1m": round(load, 2)}
        if db_cpu_s is not None:
            # Everything the sync made this machine compute, spread over every core with no
            # gap: no sync here can take less wall time, whatever it overlaps.
            bound_s = (cpu_s + sim_cpu_s + db_cpu_s) / (os.cpu_count() or 1)
            model.update({"db_cpu_ms_per_agent": round(db_cpu_s * 1000 / max(1, agents), 3),
                          "cpu_bound_s": round(bound_s, 3), "ratio_bound": round(bound_s / floor_s, 3)})
    return result, sync_s, rss, model


async def main(
    provider: str, agents: int, db_kind: str, real_server_model: bool = False, concurrency: int | None = None,
    resync: bool = False, clients: int = FLEET_CLIENTS,
) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sim_args = ["--clients", str(clients), *(["--real-server-model"] if real_server_model else [])]
    sim = start_simulator(port, provider, agents, *sim_args)
    db = await common.fresh_database(db_kind)
    state = bench_state(db.url)
    try:
        await _wait_port(port)
        ctx, integration_id = await _connected_tenant(state, provider, agents, port, concurrency)
        result, sync_s, rss, model = await _measured_sync(state, ctx, integration_id, sim, base, provider, agents,
                                                          db_kind, real_server_model, concurrency)
        if resync:  # the same fleet again (its agents still checking in): what every later sync costs
            again, resync_s, _, again_model = await _measured_sync(state, ctx, integration_id, sim, base, provider,
                                                                   agents, db_kind, real_server_model, concurrency)
            model.update({"resync_s": round(resync_s, 3), "resync_unchanged": again["counters"].get("unchanged"),
                          **{f"resync_{k}": v for k, v in again_model.items() if k in _PER_SYNC}})
        cpu_fetch = common.client_cpu_s()
        fetch_s, pages = await _fetch_only(state, ctx, integration_id)
        cpu_ingest = common.client_cpu_s()
        realms = {s.realm_id for page in pages for s in page}
        ingest_s = await _ingest_only(state, provider, pages, realms)
        cpu_done = common.client_cpu_s()
        if real_server_model:  # where the client's CPU goes: fetching (HTTP, decoding, normalizing) vs writing
            model["fetch_cpu_ms_per_agent"] = round((cpu_ingest - cpu_fetch) * 1000 / max(1, agents), 3)
            model["ingest_cpu_ms_per_agent"] = round((cpu_done - cpu_ingest) * 1000 / max(1, agents), 3)
    finally:
        await stop_bench(sim, state, db)
    return {"provider": provider, "agents": agents, "clients": clients, "db": db_kind, "synced": result["counters"].get("created"),
            "sync_s": round(sync_s, 3), "fetch_only_s": round(fetch_s, 3), "ingest_only_s": round(ingest_s, 3),
            "ratio": round(sync_s / (fetch_s + ingest_s), 3), "peak_rss_mb": rss, **model}


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", default="tacticalrmm")
    parser.add_argument("--agents", type=int, default=20000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--real-server-model", action="store_true",
                        help="the simulator answers as slowly as the real server; adds floor_s and ratio_to_floor")
    parser.add_argument("--concurrency", type=int, choices=[1, 2, 3, 4], default=None,
                        help="requests in flight (the integration's setting; default: the provider's)")
    parser.add_argument("--resync", action="store_true",
                        help="also time a second sync of the same fleet (resync_*: what every later sync costs)")
    parser.add_argument("--clients", type=int, default=FLEET_CLIENTS,
                        help=f"the fleet's organizations, agents skewed over them (default {FLEET_CLIENTS}; the "
                        "real Tactical server of #12 had 200)")
    args = parser.parse_args()
    result = asyncio.run(main(args.provider, args.agents, args.db, args.real_server_model, args.concurrency,
                              args.resync, args.clients))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    cli()
