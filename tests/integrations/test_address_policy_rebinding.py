"""Issue #14 item 9: with private hosts refused, a name that resolved to a public address when the
admin saved it and to 127.0.0.1 later (DNS rebinding) is contacted neither by the connection test
nor by a sync: the transport judges the address it actually connects to."""

from __future__ import annotations

import uuid

import httpx
import pytest

from rmmbridge.app import create_app
from tests.conftest import build_test_registry, make_tenant, map_all, run_sync
from tests.support.fake_dns import fake_dns
from tests.support.live_server import SimulatorServer
from tests.support.tinyrmm import make_fleet, tiny_app


@pytest.fixture
async def strict_app(settings_factory):  # type: ignore[no-untyped-def]
    # No test transport: providers talk through the production OutboundTransport. The simulator
    # speaks plain http, which the operator must allow (the API's URL pattern follows the setting).
    settings = settings_factory(allow_private_provider_hosts=False, allow_insecure_provider_urls=True)
    app = create_app(settings, start_background=False, registry=build_test_registry())
    yield app
    runner = app.state.rmm.extras.get("runner")
    if runner is not None:
        await runner.stop()
    await app.state.rmm.engine.dispose()


async def test_a_name_rebound_to_loopback_after_saving_is_not_contacted(strict_app, http, state, monkeypatch) -> None:
    lenient_state = state
    lenient = http  # the session app, which allows private hosts (the default), on the same database
    state = strict_app.state.rmm
    tenant = await make_tenant(state, "rebind")
    fleet = make_fleet()
    name = f"rmm-{uuid.uuid4().hex[:8]}.rebind.example"
    with SimulatorServer(tiny_app(fleet)) as server, fake_dns(monkeypatch, {name: ["93.184.215.14"]}) as dns:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=strict_app), base_url="http://testserver"
        ) as strict:
            http = strict
            h = tenant.headers()
            r = await http.post("/api/v1/integrations", json={"provider": "tinyrmm"}, headers=h)
            iid = r.json()["id"]
            r = await http.put(f"/api/v1/integrations/{iid}/credentials", headers=h,
                               json={"instance_url": f"http://{name}:{server.port}",
                                     "values": {"api_key": fleet.api_key}})  # fmt: skip
            assert r.status_code == 200, r.text  # public at save time
            # Private addresses are refused at save time too (the same policy, judged earlier).
            dns[name] = ["127.0.0.1"]
            r = await http.put(
                f"/api/v1/integrations/{iid}/credentials",
                headers=h,
                json={"instance_url": f"http://{name}:{server.port}/"},
            )
            # 403 address-refused: the address is well formed (the document's pattern); the policy
            # refuses where it points now, which no request schema can state.
            assert r.status_code == 403 and "private-network" in r.text and "address-refused" in r.text

            r = await http.post(f"/api/v1/integrations/{iid}/test", headers=h)
            result = r.json()
            assert result["ok"] is False
            assert "private-network address" in str(result["checks"]), result

            assert fleet.requests == 0  # the simulator on 127.0.0.1 was never contacted
            # A server allowing private hosts reaches it (so the refusals above are the policy's) and
            # marks the integration active; the strict server's sync must still not connect.
            r = await lenient.post(f"/api/v1/integrations/{iid}/test", headers=h)
            assert r.json()["ok"] is True, r.text

            class Setup:
                integration_id = iid

            Setup.tenant = tenant  # type: ignore[attr-defined]
            await run_sync(lenient, lenient_state, Setup(), "scopes")  # type: ignore[arg-type]
            assert await map_all(lenient, Setup())  # type: ignore[arg-type]
            reached = fleet.requests
            assert reached > 0
            run = await run_sync(http, state, Setup(), "devices")  # type: ignore[arg-type]
            assert run["status"] == "failed" and "private-network address" in str(run), run
    assert fleet.requests == reached
