"""The simulator's pre-encoded agent rows: byte-identical to a fresh encoding, never stale."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from rmmbridge.simulators.tacticalrmm import DEFAULT_API_KEY, create_app, generate_fleet
from rmmbridge.simulators.tacticalrmm.responses import json_bytes
from rmmbridge.simulators.tacticalrmm.row_cache import encoded_row
from rmmbridge.simulators.tacticalrmm.serializers import agent_row

NOW = datetime(2025, 11, 22, 10, 58, 3, tzinfo=UTC)
BASE = "https://api.example.com"


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE,
                             headers={"X-API-KEY": DEFAULT_API_KEY})


def _fresh_page(fleet: Any, body: dict[str, Any], agents: list[Any]) -> bytes:
    return json_bytes({**{k: body[k] for k in ("count", "next", "previous")},
                       "results": [agent_row(fleet, a) for a in agents]})


async def test_pages_are_byte_identical_to_a_fresh_encoding_before_and_after_changes() -> None:
    fleet = generate_fleet(seed=3, clients=3, agents=120, now=NOW)
    app = create_app(fleet, clock=lambda: NOW)
    agents = sorted(fleet.agents.values(), key=lambda a: a.pk)
    async with _client(app) as http:
        for _ in range(2):  # cold, then from the cache
            r = await http.get("/beta/v1/agent/", params={"page_size": 50, "page": 2})
            assert r.content == _fresh_page(fleet, r.json(), agents[50:100])
        # A check-in, a rename, a client rename (the Windows domain): each row changes with its data.
        checked_in, renamed = agents[60], agents[61]
        checked_in.last_seen = NOW + timedelta(seconds=45)
        renamed.hostname = "RENAMED-PC"
        client = fleet.client_of(agents[70])
        (await http.put(f"/beta/v1/client/{client.id}/", json={"name": "Zeta Renamed Ltd"})).raise_for_status()
        r = await http.get("/beta/v1/agent/", params={"page_size": 50, "page": 2})
        assert r.content == _fresh_page(fleet, r.json(), agents[50:100])
        by_pk = {row["id"]: row for row in r.json()["results"]}
        assert by_pk[renamed.pk]["hostname"] == "RENAMED-PC"
        assert by_pk[checked_in.pk]["last_seen"] == "2025-11-22T10:58:48Z"


def test_cached_rows_are_bounded_by_their_budget() -> None:
    fleet = generate_fleet(seed=3, clients=2, agents=40, now=NOW)
    agents = list(fleet.agents.values())
    sizes = [len(encoded_row(fleet, a, budget=10**9)) for a in agents]
    fleet.encoded_rows.clear()
    fleet.encoded_bytes = 0
    budget = sum(sizes[:10])
    for a in agents:
        assert encoded_row(fleet, a, budget=budget) == json_bytes(agent_row(fleet, a))
    assert fleet.encoded_bytes <= budget
    assert fleet.encoded_bytes == sum(len(b) for _, b in fleet.encoded_rows.values())
    assert list(fleet.encoded_rows)[-1] == agents[-1].pk  # the most recently served are kept


async def test_a_served_page_costs_little_cpu_the_second_time() -> None:
    """What the simulator process burns per row once rows are encoded (it shares the client's cores)."""
    fleet = generate_fleet(seed=2, clients=4, agents=1000, now=NOW)
    app = create_app(fleet, clock=lambda: NOW)
    async with _client(app) as http:
        await http.get("/beta/v1/agent/", params={"page_size": 1000})
        started = time.process_time()
        r = await http.get("/beta/v1/agent/", params={"page_size": 1000})
        cpu = time.process_time() - started
    assert len(r.content) > 5_000_000
    # Generous (machines under load): building rows afresh costs ~0.4 ms each, i.e. ~0.4 s here.
    assert cpu < 0.25, f"{cpu:.3f}s of CPU for a cached 1000-row page"
