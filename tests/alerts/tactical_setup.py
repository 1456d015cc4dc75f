"""A Tactical simulator connected through the REST API, with rmmbridge's own host routed so the
simulator's alert actions really deliver into rmmbridge's webhook receiver."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, create_app, generate_fleet
from rmmbridge.simulators.tacticalrmm.auth import ApiKey, Role, TacticalUser
from tests.conftest import map_all, run_sync


@dataclass
class Setup:
    tenant: Any
    integration_id: str
    app: Any
    fleet: Any
    host: str

    @property
    def sim(self) -> Any:
        return self.app.state


async def connect_tactical(
    http: Any, transport: Any, app: Any, state: Any, tenant: Any, *, role: Role | None = None, sync: bool = True
) -> Setup:
    """Connect (with a key of ``role``, default a superuser), map every client, sync devices."""
    fleet = generate_fleet(seed=47, clients=2, agents=12, sites_per_client=1, now=datetime.now(UTC))
    api_key = DEFAULT_CREDENTIALS.api_key
    keys = []
    users = None
    if role is not None:
        api_key = "R" + uuid.uuid4().hex[:31].upper()
        keys = [ApiKey(api_key, "limited")]
        from rmmbridge.simulators.tacticalrmm.auth import default_users

        users = [*default_users(), TacticalUser("limited", None, role=role)]
    sim = create_app(fleet, api_keys=keys, users=users)
    sim.state.outbound = transport  # REST alert actions reach rmmbridge in-process
    transport.add("testserver", app)
    host = f"api-{uuid.uuid4().hex[:8]}.example.com"
    transport.add(host, sim)
    h = tenant.headers()
    r = await http.post("/api/v1/integrations", json={"provider": "tacticalrmm"}, headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    r = await http.put(
        f"/api/v1/integrations/{iid}/credentials",
        headers=h,
        json={"instance_url": f"https://{host}", "auth_mode": "api_key", "values": {"api_key": api_key}},
    )
    assert r.status_code == 200, r.text
    setup = Setup(tenant, iid, sim, fleet, host)
    r = await http.post(f"/api/v1/integrations/{iid}/test", headers=h)
    assert r.status_code == 200 and r.json()["ok"], r.text
    if sync:
        run = await run_sync(http, state, setup, "scopes")  # type: ignore[arg-type]
        assert run["status"] == "succeeded", run
        await map_all(http, setup)
        run = await run_sync(http, state, setup, "devices")  # type: ignore[arg-type]
        assert run["status"] == "succeeded", run
    return setup


def admin_template(setup: Setup, **kw: Any) -> Any:
    """The admin's own alert template in Tactical, the default one (a fresh Tactical has none)."""
    return setup.sim.actions.add_template("Default", default=True, **kw)
