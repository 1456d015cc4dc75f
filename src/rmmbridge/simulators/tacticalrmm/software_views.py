"""``/software/``: installed software, all agents (streamed) or one agent (reference §7)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from .auth import TacticalUser
from .fleet import AgentRecord, TacticalFleet
from .responses import JSON_TYPE, ApiError, json_bytes, json_response, not_found
from .serializers import software_row
from .state import ApiRequest

CHUNK_BYTES = 256 * 1024


def software_perms(req: ApiRequest, user: TacticalUser, params: dict[str, str]) -> bool:
    perm = "can_list_software" if req.method in ("GET", "HEAD") else "can_manage_software"
    if not user.has_perm(perm):
        return False
    if "agent_id" not in params or user.superuser or user.role is None:
        return True
    agent = req.fleet.agent_by_agent_id(params["agent_id"])
    if agent is None:
        raise not_found("Agent")
    return user.can_view_agent(req.fleet.client_id_of(agent), agent.site_id)


async def _stream(fleet: TacticalFleet, agents: list[AgentRecord], truncate: bool) -> AsyncIterator[bytes]:
    """``[row, row, …]`` built a few hundred rows at a time; ``truncate`` stops mid-row, no ``]``."""
    stop = len(agents) // 2 if truncate else len(agents)
    buffer: list[bytes] = [b"["]
    size = 1
    first = True
    for agent in agents[:stop]:
        row = software_row(fleet, agent)
        if row is None:
            continue
        chunk = json_bytes(row)
        buffer.append(chunk if first else b"," + chunk)
        first = False
        size += len(chunk) + 1
        if size >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
            await asyncio.sleep(0)
    if truncate:
        following = next((software_row(fleet, a) for a in agents[stop:]), None)
        if following is not None:
            partial = json_bytes(following)
            buffer.append(b"," + partial[: len(partial) // 2])
    else:
        buffer.append(b"]")
    yield b"".join(buffer)


def software_list(req: ApiRequest) -> Response:
    assert req.principal is not None
    user = req.principal.user
    fleet = req.fleet
    agents = sorted(
        (
            a for a in fleet.agents.values()
            if a.software_id is not None and user.can_view_agent(fleet.client_id_of(a), a.site_id)
        ),
        key=lambda a: a.software_id or 0,
    )
    return StreamingResponse(
        _stream(fleet, agents, req.truncate_stream), media_type=JSON_TYPE, headers={"Vary": "Accept, Cookie"}
    )


def _agent(req: ApiRequest, agent_id: str) -> AgentRecord:
    agent = req.fleet.agent_by_agent_id(agent_id)
    if agent is None:
        raise not_found("Agent")
    return agent


def software_detail(req: ApiRequest, agent_id: str) -> Response:
    row = software_row(req.fleet, _agent(req, agent_id))
    return json_response(row if row is not None else [])


def software_refresh(req: ApiRequest, agent_id: str) -> Response:
    """``PUT``/``POST``: needs the agent over NATS, which a simulator never reaches."""
    agent = _agent(req, agent_id)
    if not agent.is_windows:
        raise ApiError(400, f"Not available for {agent.plat}")
    raise ApiError(400, "Unable to contact the agent")
