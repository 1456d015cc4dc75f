"""Knox sessions are kept warm by the scheduler; one that cannot be renewed flags the integration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rmmbridge.simulators.faults import Fault
from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, totp
from rmmbridge.sync.scheduler import keep_alive_due
from tests.providers.tacticalrmm.test_sync_flow import check_connection, connect

CREDS = DEFAULT_CREDENTIALS


async def _integration(http, setup):
    return (await http.get(f"/api/v1/integrations/{setup.integration_id}", headers=setup.tenant.headers())).json()


async def test_password_session_is_kept_and_renewed(http, state, transport, tenant):
    setup = await connect(http, transport, tenant, mode="password")
    assert (await check_connection(http, setup))["ok"]
    done = await keep_alive_due(state)
    assert setup.integration_id in done
    assert (await _integration(http, setup))["state"] == "connected"
    # Not due again for an hour.
    assert setup.integration_id not in await keep_alive_due(state)
    # The token dies; a non-TOTP account signs in again by itself and stays connected.
    setup.app.faults.add(Fault("expire_token", times=1))
    assert setup.integration_id in await keep_alive_due(state, datetime.now(UTC) + timedelta(minutes=61))
    assert (await _integration(http, setup))["state"] == "connected"


async def test_totp_session_that_dies_needs_reauthentication(http, state, transport, tenant):
    setup = await connect(
        http, transport, tenant, mode="password", username=CREDS.totp_username, password=CREDS.totp_password
    )
    first = await check_connection(http, setup)
    assert first["totp_required"] is True
    assert (await check_connection(http, setup, totp(CREDS.totp_secret, datetime.now(UTC))))["ok"]
    setup.app.faults.add(Fault("expire_token", times=1))
    await keep_alive_due(state, datetime.now(UTC) + timedelta(minutes=61))
    integ = await _integration(http, setup)
    assert integ["state"] == "needs_reauth" and "sign-in required" in integ["state_message"].lower()
