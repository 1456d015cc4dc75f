"""Requesting syncs: permission, capability and state checks, the run row, then the runner."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import CapabilityNotSupported, NotFound, ValidationFailed, WrongState
from rmmbridge.integrations.service import get_integration, require_capability
from rmmbridge.providers.base import KIND_CAPABILITY
from rmmbridge.state import AppState
from rmmbridge.storage.db import after_commit
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.tenancy.permissions import Permission

from . import runs
from .runner import runner_of

KINDS = tuple(KIND_CAPABILITY)


async def request_sync(
    state: AppState,
    session: AsyncSession,
    ctx: TenantContext,
    integration_id: uuid.UUID,
    kind: str,
    trigger: str,
    params: dict[str, Any] | None = None,
    *,
    submit: bool = True,
) -> runs.StartedRun:
    """Create (or join) the run and hand it to the runner once the transaction commits.

    ``submit=False`` leaves it queued for whichever process runs jobs (the CLI without --wait:
    the server's scheduler claims queued runs).
    """
    ctx.require(Permission.sync_run)
    if kind not in KIND_CAPABILITY:
        raise ValidationFailed(
            f"unknown sync kind '{kind}'; choose one of {', '.join(KINDS)}", errors=[{"field": "kind"}]
        )
    integration = await get_integration(session, ctx, integration_id)
    try:
        require_capability(state.registry, integration, KIND_CAPABILITY[kind])
    except CapabilityNotSupported as exc:
        # The kind is valid in general, but this integration's provider has no such sync: the
        # sub-resource /integrations/{id}/sync/{kind} does not exist for it (404, not 422: the
        # request is well-formed, and no state change would make it succeed).
        offered = state.registry.get(integration.provider).capabilities
        kinds = ", ".join(k for k, c in KIND_CAPABILITY.items() if c in offered)
        raise NotFound(f"{exc.detail}; its sync kinds: {kinds}") from None
    if not integration.is_active:
        raise WrongState(
            f"{integration.name} is not active ({integration.state.replace('_', ' ')}); test the connection first"
        )
    # A device refresh is single-flight per device, so refreshes of one agent coalesce while
    # different agents refresh side by side.
    target = (
        str((params or {}).get("external_id") or (params or {}).get("external_ref") or "") if kind == "agent" else ""
    )
    started = await runs.start_run(session, ctx, integration, kind, trigger, params, target=target)
    if submit and not started.joined:
        tenant_id, run_id = ctx.tenant_id, started.run.id

        async def _submit() -> None:
            await runner_of(state).submit(tenant_id, run_id, kind)

        after_commit(session, _submit)
    return started
