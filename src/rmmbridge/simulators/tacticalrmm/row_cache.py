"""Beta agent rows as JSON bytes, encoded once per agent and data version.

Building and encoding a 7–12 KB ``ListAgentSerializer`` row costs the simulator ~0.4 ms of CPU; a
20,000-agent sync then burned ~9 s of it in the simulator process, on the same two cores as the
client it measures (a real Tactical runs on another machine). The real server's serving *time*
is modelled separately (``serving_cost.py``: sleeps, worker cap) and does not depend on this.

Each agent's row is kept as bytes with the key it was encoded from: every field of its record
(all immutable scalars), the fleet's seed, row profile and clock, its client's name and its
shared-fleet identity — all that :func:`serializers.agent_row` reads. A changed agent (a
check-in moves ``last_seen``, a test renames it) has a new key and is encoded again; nothing
else is ever stale. Memory is bounded by
``BUDGET_BYTES`` (least recently served rows go first; production-sized rows are ~95 KB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from operator import attrgetter

from .fleet import AgentRecord, TacticalFleet
from .responses import json_bytes
from .serializers import agent_row

BUDGET_BYTES = 512 * 1024 * 1024  # 20,000 light rows are ~230 MB
_RECORD = attrgetter(*(f.name for f in fields(AgentRecord)))


def _key(fleet: TacticalFleet, agent: AgentRecord) -> tuple[object, ...]:
    # The client's name is the Windows domain in wmi_detail; fleet.now stands in for a missing boot time.
    site = fleet.sites.get(agent.site_id)
    client = fleet.clients.get(site.client_id) if site is not None else None
    return (_RECORD(agent), fleet.seed, fleet.row_profile, fleet.now, client.name if client is not None else None,
            fleet.identities.get(agent.index))


def encoded_row(fleet: TacticalFleet, agent: AgentRecord, budget: int = BUDGET_BYTES) -> bytes:
    """``json_bytes(agent_row(fleet, agent))``, from the cache when the agent has not changed."""
    rows = fleet.encoded_rows
    key = _key(fleet, agent)
    hit = rows.get(agent.pk)
    if hit is not None:
        if hit[0] == key:
            rows.move_to_end(agent.pk)
            return hit[1]
        fleet.encoded_bytes -= len(hit[1])
        del rows[agent.pk]
    body = json_bytes(agent_row(fleet, agent))
    rows[agent.pk] = (key, body)
    fleet.encoded_bytes += len(body)
    while fleet.encoded_bytes > budget and rows:
        _, (_, old) = rows.popitem(last=False)
        fleet.encoded_bytes -= len(old)
    return body


def warm_rows(fleet: TacticalFleet, budget: int = BUDGET_BYTES) -> int:
    """Encode every agent's row now (a simulator about to be measured: the first sync then reads
    bytes instead of making them). Returns the bytes held."""
    for agent in fleet.agents.values():
        encoded_row(fleet, agent, budget)
    return fleet.encoded_bytes


def agent_page_body(
    fleet: TacticalFleet, count: int, next_url: str | None, previous_url: str | None, agents: Sequence[AgentRecord]
) -> bytes:
    """The paginated list body, byte for byte what ``json_bytes`` gives for the same dict."""
    head = b'{"count":%s,"next":%s,"previous":%s,"results":[' % (
        json_bytes(count), json_bytes(next_url), json_bytes(previous_url))  # fmt: skip
    return head + b",".join([encoded_row(fleet, a) for a in agents]) + b"]}"


__all__ = ["BUDGET_BYTES", "agent_page_body", "encoded_row", "warm_rows"]
