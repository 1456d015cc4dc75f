"""The Tactical simulator's serving-cost model: per-request and per-row time, a capped worker pool.

Time is virtual: the gate sleeps on a :class:`VirtualTime` that only moves when the test advances
it, so every assertion is about order and modelled durations, never about the machine's speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rmmbridge.simulators.tacticalrmm import DEFAULT_API_KEY, create_app, generate_fleet
from rmmbridge.simulators.tacticalrmm.serving_cost import ROW_COSTS, ServingCostGate, ServingCostModel

NOW = datetime(2025, 11, 22, 10, 58, 3, tzinfo=UTC)
BASE = "https://api.example.com"
MODEL = ServingCostModel(request_s=0.026, workers=4)


class VirtualTime:
    """A clock and a ``sleep`` that wakes only when :meth:`advance` passes its deadline."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.now + seconds, future))
        await future

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [(t, f) for t, f in self.sleepers if t <= self.now + 1e-12]
        self.sleepers = [(t, f) for t, f in self.sleepers if t > self.now + 1e-12]
        for _, future in due:
            future.set_result(None)


async def until(condition: Callable[[], bool]) -> None:
    """Let the event loop run until ``condition`` holds (bounded: a broken model fails, never hangs)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def fleet() -> Any:
    return generate_fleet(seed=3, clients=2, agents=120, sites_per_client=2, now=NOW)


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE,
                             headers={"X-API-KEY": DEFAULT_API_KEY})  # fmt: skip


def test_cost_is_fixed_plus_rows_of_each_kind() -> None:
    assert MODEL.cost_s({}) == pytest.approx(0.026)
    assert MODEL.cost_s({"beta_agent": 1000}) == pytest.approx(0.026 + 0.55)
    # The /agents/ table is 1.0 ms where a Beta row is 2.4 ms under the same conditions.
    assert ROW_COSTS["agents_table"] / ROW_COSTS["beta_agent"] == pytest.approx(1.0 / 2.4)
    assert ServingCostModel(load=2.0).cost_s({"beta_agent": 10}) == pytest.approx(0.026 + 2 * 10 * 0.00055)
    assert MODEL.cost_s({"something_unpriced": 50}) == pytest.approx(0.026)
    with pytest.raises(ValueError):
        ServingCostModel(workers=0)


async def test_a_page_takes_at_least_its_modelled_cost(fleet: Any, vt: VirtualTime) -> None:
    gate = ServingCostGate(MODEL, clock=vt.clock, sleep=vt.sleep)
    app = create_app(fleet, clock=lambda: NOW, serving_cost=gate)
    cost = MODEL.cost_s({"beta_agent": 50})
    async with client_for(app) as http:
        task = asyncio.create_task(http.get("/beta/v1/agent/", params={"page_size": 50}))
        await until(lambda: len(vt.sleepers) == 1)
        vt.advance(cost - 0.001)
        for _ in range(50):
            await asyncio.sleep(0)
        assert not task.done(), "answered before its modelled cost had passed"
        vt.advance(0.001)
        response = await task
    assert response.status_code == 200 and len(response.json()["results"]) == 50
    (served,) = gate.log
    assert served.rows == 50 and served.cost_s == pytest.approx(cost)
    assert served.responded - served.arrived >= cost - 1e-9
    assert served.path == "/beta/v1/agent/" and "page_size=50" in served.query


async def test_the_fifth_concurrent_request_waits_for_a_worker(fleet: Any, vt: VirtualTime) -> None:
    gate = ServingCostGate(MODEL, clock=vt.clock, sleep=vt.sleep)
    app = create_app(fleet, clock=lambda: NOW, serving_cost=gate)
    cost = MODEL.cost_s({"beta_agent": 10})
    async with client_for(app) as http:
        tasks = [asyncio.create_task(http.get("/beta/v1/agent/", params={"page_size": 10, "page": n}))
                 for n in range(1, 6)]  # fmt: skip
        await until(lambda: gate.serving == 4 and gate.queued == 1 and len(vt.sleepers) == 4)
        vt.advance(cost)
        await until(lambda: sum(t.done() for t in tasks) == 4 and len(vt.sleepers) == 1)
        assert gate.serving == 1 and gate.queued == 0
        vt.advance(cost)
        responses = await asyncio.gather(*tasks)
    assert all(r.status_code == 200 for r in responses)
    first_four, fifth = sorted(gate.log, key=lambda r: r.started)[:4], max(gate.log, key=lambda r: r.started)
    assert fifth.started >= max(r.finished for r in first_four)  # it got a worker only when one was free
    assert fifth.responded - fifth.arrived >= 2 * cost - 1e-9  # queued for one cost, served for another


async def test_every_api_request_pays_the_fixed_cost_but_control_routes_do_not(fleet: Any, vt: VirtualTime) -> None:
    gate = ServingCostGate(ServingCostModel(workers=1), clock=vt.clock, sleep=vt.sleep)
    app = create_app(fleet, clock=lambda: NOW, serving_cost=gate)
    async with client_for(app) as http:
        unauthenticated = asyncio.create_task(http.get("/beta/v1/client/", headers={"X-API-KEY": "wrong"}))
        await until(lambda: len(vt.sleepers) == 1)
        # The control API answers at once, even while the only worker is busy.
        control = await http.get("/_sim/serving")
        assert control.status_code == 200 and control.json()["serving"] == 1 and control.json()["workers"] == 1
        vt.advance(0.026)
        assert (await unauthenticated).status_code == 401
        log = (await http.get("/_sim/serving")).json()["log"]
        assert [(r["path"], r["rows"]) for r in log] == [("/beta/v1/client/", 0)]
        assert (await http.delete("/_sim/serving")).json()["log"] == []


async def test_off_by_default(fleet: Any) -> None:
    app = create_app(fleet, clock=lambda: NOW)
    assert app.state.serving is None
    async with client_for(app) as http:
        assert (await http.get("/beta/v1/agent/", params={"page_size": 5})).status_code == 200
        assert (await http.get("/_sim/serving")).status_code == 400


async def test_simulate_cli_switches_the_model_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from rmmbridge.cli.main import app as cli

    captured: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: captured.update(app=app, **kw))
    runner = CliRunner()
    result = runner.invoke(cli, ["simulate", "tacticalrmm", "--agents", "20", "--clients", "2", "--port", "8124",
                                 "--real-server-model", "--workers", "2", "--load", "3.6"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "serving cost" in result.output and "2 workers" in result.output
    gate = captured["app"].state.serving
    assert gate.model.workers == 2 and gate.model.cost_s({"beta_agent": 10}) == pytest.approx(0.026 + 3.6 * 0.0055)

    result = runner.invoke(cli, ["simulate", "tacticalrmm", "--agents", "20", "--clients", "2"])
    assert result.exit_code == 0, result.output
    assert captured["app"].state.serving is None  # off unless asked for
