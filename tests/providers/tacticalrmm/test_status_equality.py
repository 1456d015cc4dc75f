"""Reference §4: for the same agent at the same instant, rmmbridge's status equals Tactical's own.

The snapshot carries ``last_seen_at`` (microseconds) and the agent's thresholds in seconds; the
framework's ``compute_status`` over the precomputed cut-offs must give exactly the simulator's detail
``status`` — including agents placed exactly on the offline and overdue cut-offs.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rmmbridge.assets.status import compute_status, cutoffs
from rmmbridge.simulators.tacticalrmm import DEFAULT_API_KEY, create_app, generate_fleet

from . import NOW, Clock, make_provider

US = timedelta(microseconds=1)

# (offline_time, overdue_time, last_seen relative to NOW or None)
PLACED: list[tuple[int, int, timedelta | None]] = [
    (4, 30, -timedelta(minutes=4)),  # exactly on the offline cut-off: online
    (4, 30, -timedelta(minutes=4) - US),  # a microsecond past it: offline
    (4, 30, -timedelta(minutes=30)),  # exactly on the overdue cut-off: online (upstream quirk)
    (4, 30, -timedelta(minutes=30) - US),  # overdue
    (4, 30, timedelta(seconds=15)),  # clock skew: online
    (4, 30, None),  # never checked in: offline
    (10, 5, -timedelta(minutes=11)),  # overdue < offline: overdue, never offline
    (10, 5, -timedelta(minutes=10)),
    (15, 15, -timedelta(minutes=15)),  # equal thresholds, exactly at the cut: online
    (15, 15, -timedelta(minutes=15) - US),
    (0, 30, timedelta(0)),  # offline_time 0: online only at/after now
    (0, 30, -US),
    (4, 0, -timedelta(minutes=5)),  # overdue_time 0: past offline means overdue
    (60, 1440, -timedelta(hours=2)),
    (60, 1440, -timedelta(minutes=1440)),
]


@pytest.fixture(scope="module")
def placed_fleet() -> Any:
    fleet = generate_fleet(seed=21, clients=3, agents=100, sites_per_client=2, now=NOW)
    agents = sorted(fleet.agents.values(), key=lambda a: a.pk)
    for agent, (offline, overdue, delta) in zip(agents, PLACED, strict=False):
        agent.offline_time, agent.overdue_time = offline, overdue
        agent.last_seen = None if delta is None else NOW + delta
    return fleet


def instants() -> list[Any]:
    return [NOW, NOW + US, NOW + timedelta(minutes=4), NOW + timedelta(minutes=30), NOW + timedelta(days=2)]


async def test_status_equals_tacticals_at_every_instant(placed_fleet: Any) -> None:
    clock = Clock(NOW)
    app = create_app(placed_fleet, clock=clock)
    made = make_provider(app, clock=clock)
    snapshots = {}
    for scope in await made.provider.list_scopes():
        async for page in made.provider.iter_device_pages(scope):
            for snap in page.snapshots:
                snapshots[snap.external_ref] = snap
    assert len(snapshots) == len(placed_fleet.agents)
    for snap in snapshots.values():
        agent = placed_fleet.agents[int(snap.external_ref)]
        assert snap.last_seen_at == agent.last_seen  # microseconds survive
        assert (snap.offline_after_s, snap.overdue_after_s) == (agent.offline_time * 60, agent.overdue_time * 60)

    statuses: Counter[str] = Counter()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://api.example.com",
        headers={"X-API-KEY": DEFAULT_API_KEY},
    ) as tactical:  # fmt: skip
        placed = sorted(snapshots, key=int)[: len(PLACED)]
        # The whole fleet at a few instants (it includes agents generated exactly on their cut-offs)...
        checks = [(moment, list(snapshots)) for moment in instants()]
        # ...and the placed agents exactly on each placed cut-off and a microsecond past it.
        for offline, overdue, delta in PLACED:
            if delta is not None:
                for cut in (timedelta(minutes=offline), timedelta(minutes=overdue)):
                    checks += [(NOW + delta + cut, placed), (NOW + delta + cut + US, placed)]
        for moment, pks in checks:
            clock.now = moment
            for pk in pks:
                snap = snapshots[pk]
                detail = (await tactical.get(f"/beta/v1/agent/{pk}/")).json()
                ours = compute_status(snap.last_seen_at, *cutoffs(snap.last_seen_at, snap.offline_after_s,
                                                                  snap.overdue_after_s), moment)  # fmt: skip
                assert ours == detail["status"], (pk, moment, snap.last_seen_at, snap.offline_after_s, detail)
                statuses[ours] += 1
    assert set(statuses) == {"online", "offline", "overdue"}


async def test_detail_snapshots_give_the_same_status(placed_fleet: Any) -> None:
    clock = Clock(NOW)
    app = create_app(placed_fleet, clock=clock)
    made = make_provider(app, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://api.example.com",
        headers={"X-API-KEY": DEFAULT_API_KEY},
    ) as tactical:  # fmt: skip
        for agent in sorted(placed_fleet.agents.values(), key=lambda a: a.pk)[: len(PLACED)]:
            snap = await made.provider.fetch_device(agent.agent_id, str(agent.pk))
            assert snap is not None
            detail = (await tactical.get(f"/beta/v1/agent/{agent.pk}/")).json()
            offline_at, overdue_at = cutoffs(snap.last_seen_at, snap.offline_after_s, snap.overdue_after_s)
            assert compute_status(snap.last_seen_at, offline_at, overdue_at, NOW) == detail["status"]
