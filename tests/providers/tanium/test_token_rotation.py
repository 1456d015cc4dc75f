"""Tanium API token rotation (reference §1.3), through the daily keep-alive, over HTTP against the
simulator: rotation near expiry when enabled (the new token stored first, the old one dead), none
when disabled or far from expiry, and a lost rotate answer probed — never retried — and turned into
"paste a new token"."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from rmmbridge.integrations.factory import credential_prefix
from rmmbridge.kit.time import ensure_utc
from rmmbridge.simulators.tanium import DEFAULT_TOKEN
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmIntegration
from rmmbridge.sync.scheduler import keep_alive_due
from tests.conftest import map_all, run_sync
from tests.web.test_ui_auth import login

from .test_sync_flow import connect

LATER = timedelta(days=2)  # past any keep-alive schedule left by an earlier check


async def _token(state, setup) -> str:
    async with unit_of_work(state.sessionmaker, read_only=True) as s:
        values = await state.secrets.get_many(
            s, setup.tenant.tenant_id, credential_prefix(uuid.UUID(setup.integration_id))
        )
    return values["api_token"]


async def _integration(state, setup) -> RmmIntegration:
    async with unit_of_work(state.sessionmaker, read_only=True) as s:
        row = await s.get(RmmIntegration, (setup.tenant.tenant_id, uuid.UUID(setup.integration_id)))
        assert row is not None
        return row


async def _connected(http, transport, tenant, **values):
    setup = await connect(http, transport, tenant, endpoints=20, **values)
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/test", headers=tenant.headers())
    assert r.json()["ok"], r.text
    return setup, r.json()


async def test_a_token_near_expiry_is_rotated_and_stored(http, state, transport, tenant) -> None:  # type: ignore[no-untyped-def]
    setup, tested = await _connected(http, transport, tenant, token_days=2, rotate_token_automatically=True)
    expiry = next(c for c in tested["checks"] if c["name"] == "Token expiry")
    assert "rotates it automatically" in expiry["message"]
    assert setup.integration_id in await keep_alive_due(state, datetime.now(UTC) + timedelta(minutes=1))
    new = await _token(state, setup)
    assert new != DEFAULT_TOKEN and new.startswith("token-")
    old = setup.sim.tokens.find(DEFAULT_TOKEN)
    assert old is not None and old.revoked  # rotated: the old token is dead
    row = await _integration(state, setup)
    assert row.state == "connected"
    # The new token's expiry is recorded, and the card counts down to it (under 3 days: a warning).
    left = (ensure_utc(row.credentials_expire_at) - datetime.now(UTC)).total_seconds() / 86400
    assert 1.9 < left <= 2.0
    assert (await login(http, tenant.emails["admin"], tenant.password)).status_code == 303
    card = (await http.get("/settings/integrations")).text
    assert "Credentials expire" in card and 'class="warn-text">in 2.0 days' in card
    page = (await http.get("/settings/integrations/tanium", follow_redirects=True)).text
    assert "The stored credentials expire" in page and "replace them" not in page  # rotation is on
    # Everything afterwards uses the new token.
    await run_sync(http, state, setup, "scopes")
    await map_all(http, setup)
    run = await run_sync(http, state, setup, "devices")
    assert run["status"] == "succeeded", run


async def test_no_rotation_when_disabled_or_far_from_expiry(http, state, transport, tenant, other_tenant) -> None:  # type: ignore[no-untyped-def]
    near, tested = await _connected(http, transport, tenant, token_days=2)
    expiry = next(c for c in tested["checks"] if c["name"] == "Token expiry")
    assert expiry["warning"] and "automatic rotation" in (expiry["fix"] or "")
    far, _ = await _connected(http, transport, other_tenant, token_days=20, rotate_token_automatically=True)
    done = await keep_alive_due(state, datetime.now(UTC) + LATER)
    assert {near.integration_id, far.integration_id} <= set(done)
    assert await _token(state, near) == DEFAULT_TOKEN and await _token(state, far) == DEFAULT_TOKEN
    assert (await login(http, tenant.emails["admin"], tenant.password)).status_code == 303
    page = (await http.get("/settings/integrations/tanium", follow_redirects=True)).text
    assert "The stored credentials expire" in page and "replace them under Connection" in page


async def test_a_lost_rotate_answer_asks_for_a_new_token(http, state, transport, tenant) -> None:  # type: ignore[no-untyped-def]
    setup, _ = await _connected(http, transport, tenant, token_days=1, rotate_token_automatically=True)
    setup.sim.modes.rotate_drops_response = True
    rotations_before = len(list(setup.sim.tokens))
    assert setup.integration_id in await keep_alive_due(state, datetime.now(UTC) + LATER * 2)
    assert len(list(setup.sim.tokens)) == rotations_before + 1  # rotated exactly once: never retried
    row = await _integration(state, setup)
    assert row.state == "needs_reauth" and "paste it here" in (row.state_message or "")
    assert await _token(state, setup) == DEFAULT_TOKEN  # nothing invented
