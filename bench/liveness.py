"""Liveness benchmark: one liveness pass against a full device sync, on a real loopback simulator.

    python -m bench.liveness --provider tacticalrmm --agents 20000 --db postgres --json

1. A full device sync through the job (timed: ``full_sync_s``), then a first liveness pass (timed:
   ``first_pass_s``; it also fills what the sync does not carry, so it rewrites every row once).
2. In the simulator (its control API): ~1 % of the agents change status (half of the online ones
   stop checking in, half of the offline ones come back), then every connected agent checks in.
3. One liveness pass through the job (timed: ``liveness_s``): the steady state of a pass every minute.

Prints one JSON object: ``liveness_s``, ``full_sync_s``, ``ratio`` (= liveness_s / full_sync_s; the
target is ≤ 0.2), ``rows_written`` (liveness rows the pass wrote), ``status_changed`` (assets whose
status the pass changed: its ``asset.status_changed`` events), ``history_rows`` / ``outbox_rows`` (rows
the pass added to ``asset_history`` / ``event_outbox``, and the latter by type), ``flipped`` (agents the bench made change),
``requests`` (API requests the simulator served for the pass), ``counters`` (the run's own),
``peak_rss_mb``, and where the time went on this shared machine: ``pass_client_cpu_s`` (this
process's CPU during the pass), ``pass_server_cpu_s`` (the simulator process's CPU: serving),
``full_sync_client_cpu_s`` and ``loadavg_1m`` (load when the pass started).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import Asset, AssetHistory, EventOutbox, ExternalEntityMapping

from . import common
from .support import control_client, free_port
from .sync import _connected_tenant, _run, _wait_port, bench_state, start_simulator, stop_bench

FLIP_SHARE = 0.01
GONE_FOR = timedelta(hours=2)  # past every online window: Tactical's offline_time, Tanium's 30 minutes


class Simulator:
    """The simulator process's control API (``/_sim``), per provider."""

    def __init__(self, provider: str, port: int) -> None:
        self.provider = provider
        self.http = control_client(f"http://127.0.0.1:{port}", timeout=120)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def state(self) -> dict[str, Any]:
        response = await self.http.get("/_sim/state")
        response.raise_for_status()
        return dict(response.json())

    async def now(self) -> datetime:
        return datetime.fromisoformat(str((await self.state())["now"]).replace("Z", "+00:00"))

    async def requests_served(self) -> int:
        return int((await self.state())["requests_served"])

    async def check_in(self) -> None:
        path = "/_sim/heartbeat" if self.provider == "tacticalrmm" else "/_sim/checkin"
        (await self.http.post(path, json={})).raise_for_status()

    async def drop_off(self, device: tuple[str, str | None], when: datetime) -> None:
        """The agent last checked in at ``when`` and stopped."""
        body: dict[str, Any] = {"last_seen": when.isoformat()}
        await self._change(device, {**body, "live": False} if self.provider == "tacticalrmm" else body)

    async def come_back(self, device: tuple[str, str | None], now: datetime) -> None:
        """Tactical's agent checks in now (and keeps doing so); a Tanium endpoint registers again
        (within its registration interval)."""
        tactical = {"last_seen": now.isoformat(), "live": True}
        await self._change(device, tactical if self.provider == "tacticalrmm" else {"online": True})

    async def _change(self, device: tuple[str, str | None], body: dict[str, Any]) -> None:
        external_id, external_ref = device
        path = f"/_sim/agents/{external_ref}" if self.provider == "tacticalrmm" else f"/_sim/endpoints/{external_id}"
        (await self.http.post(path, json=body)).raise_for_status()


async def _devices(state: Any, integration_id: uuid.UUID, statuses: tuple[str, ...], limit: int) -> list[tuple[str, str | None]]:
    """Synced devices in these statuses, spread over the fleet (every k-th), as (external id, ref)."""
    async with unit_of_work(state.sessionmaker, read_only=True) as s:
        rows = (await s.execute(
            select(ExternalEntityMapping.external_id, ExternalEntityMapping.external_ref)
            .join(Asset, (Asset.tenant_id == ExternalEntityMapping.tenant_id)
                  & (Asset.id == ExternalEntityMapping.local_id))
            .where(ExternalEntityMapping.integration_id == integration_id, Asset.agent_status.in_(statuses),
                   Asset.last_seen_at.is_not(None))
            .order_by(ExternalEntityMapping.external_id))).all()
    step = max(1, len(rows) // max(1, limit))
    return [(r[0], r[1]) for r in rows[::step][:limit]]


async def _counts(state: Any, tenant_id: uuid.UUID) -> tuple[int, dict[str, int]]:
    """History rows, and outbox rows by event type."""
    async with unit_of_work(state.sessionmaker, read_only=True) as s:
        history = await s.scalar(select(func.count()).select_from(AssetHistory).where(
            AssetHistory.tenant_id == tenant_id))
        events = dict((await s.execute(select(EventOutbox.event_type, func.count()).where(
            EventOutbox.tenant_id == tenant_id).group_by(EventOutbox.event_type))).all())  # type: ignore[arg-type]
    return int(history or 0), events


def _rows_written(counters: dict[str, Any]) -> int | None:
    for key in ("liveness_written", "rows_written", "written", "updated"):
        if isinstance(counters.get(key), int):
            return int(counters[key])
    return None


async def main(provider: str, agents: int, db_kind: str) -> dict[str, Any]:
    port = free_port()
    sim_proc = start_simulator(port, provider, agents)
    db = await common.fresh_database(db_kind)
    state = bench_state(db.url)
    sim = Simulator(provider, port)
    try:
        await _wait_port(port)
        ctx, integration_id = await _connected_tenant(state, provider, agents, port)
        started, cpu0 = time.perf_counter(), common.client_cpu_s()
        full = await _run(state, ctx, integration_id, "devices")
        full_sync_s = time.perf_counter() - started
        full_cpu_s = common.client_cpu_s() - cpu0
        assert full["status"] == "succeeded", full

        # The first pass after a device sync also fills what the sync does not carry (health, the
        # RMM's verdict), so it rewrites every row once; the pass that runs every minute after it is
        # the one measured.
        await sim.check_in()
        started = time.perf_counter()
        first = await _run(state, ctx, integration_id, "liveness")
        first_pass_s = time.perf_counter() - started
        assert first["status"] == "succeeded", first

        # ~1 % change status (half drop off, half come back), then everyone connected checks in.
        flips = max(2, round(agents * FLIP_SHARE))
        now = await sim.now()
        gone = await _devices(state, integration_id, ("online",), flips // 2)
        back = await _devices(state, integration_id, ("offline", "overdue"), flips - len(gone))
        for device in gone:
            await sim.drop_off(device, now - GONE_FOR)
        for device in back:
            await sim.come_back(device, now)
        await sim.check_in()

        history0, events0 = await _counts(state, ctx.tenant_id)
        served0 = await sim.requests_served()
        load = common.loadavg()
        started, cpu0, sim_cpu0 = time.perf_counter(), common.client_cpu_s(), common.process_cpu_s(sim_proc.pid)
        pass_ = await _run(state, ctx, integration_id, "liveness")
        liveness_s = time.perf_counter() - started
        pass_cpu_s = common.client_cpu_s() - cpu0
        sim_cpu_s = common.process_cpu_s(sim_proc.pid) - sim_cpu0
        rss = common.peak_rss_mb()
        assert pass_["status"] == "succeeded", pass_
        requests = await sim.requests_served() - served0
        history1, events1 = await _counts(state, ctx.tenant_id)
        events = {k: n - events0.get(k, 0) for k, n in sorted(events1.items()) if n != events0.get(k, 0)}
    finally:
        await sim.aclose()
        await stop_bench(sim_proc, state, db)
    return {
        "provider": provider, "agents": agents, "db": db_kind,
        "liveness_s": round(liveness_s, 3), "full_sync_s": round(full_sync_s, 3),
        "ratio": round(liveness_s / full_sync_s, 3), "first_pass_s": round(first_pass_s, 3),
        "rows_written": _rows_written(pass_["counters"]),
        "status_changed": events.get("asset.status_changed", 0), "flipped": len(gone) + len(back),
        "history_rows": history1 - history0, "outbox_rows": sum(events.values()), "outbox_by_type": events,
        "requests": requests, "counters": pass_["counters"], "peak_rss_mb": rss,
        "pass_client_cpu_s": round(pass_cpu_s, 3), "pass_server_cpu_s": round(sim_cpu_s, 3),
        "full_sync_client_cpu_s": round(full_cpu_s, 3), "loadavg_1m": round(load, 2),
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", choices=["tacticalrmm", "tanium"], default="tacticalrmm")
    parser.add_argument("--agents", type=int, default=20000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main(args.provider, args.agents, args.db))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    cli()
