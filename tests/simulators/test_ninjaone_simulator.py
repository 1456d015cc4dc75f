"""The NinjaOne simulator answers as the real API does (reference/ninjaone.md §9), and the provider's
client copes with its unkind answers (429 in both Retry-After forms, HTML throttle page, 5xx)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.base import ProviderAuthError, ProviderRetriableError, RemoteScope
from rmmbridge.providers.ninjaone import NinjaOneProvider
from rmmbridge.simulators.faults import Fault
from rmmbridge.simulators.ninjaone import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, create_app, generate_fleet
from tests.contract import harnesses
from tests.contract.harness_ninjaone import ninja_config

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def sim() -> Any:
    return create_app(generate_fleet(seed=4, orgs=3, devices=45, now=NOW), clock=lambda: NOW)


async def client(app: Any, host: str = "eu.ninjarmm.com") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"https://{host}")


async def token(c: httpx.AsyncClient, **extra: str) -> httpx.Response:
    return await c.post(
        "/ws/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            **extra,
        },
    )


async def test_oauth_and_auth_error_shapes(sim) -> None:  # type: ignore[no-untyped-def]
    async with await client(sim, "us2.ninjarmm.com") as c:
        r = await token(c)
        assert r.status_code == 404 and r.json()["resultCode"] == "Client app not exist"
    async with await client(sim) as c:
        assert (await token(c, scope="monitoring offline_access")).json() == {"error": "invalid_scope"}
        assert (await token(c, scope="monitoring nonsense")).status_code == 400
        good = (await token(c, scope="monitoring")).json()
        assert good["expires_in"] == 3600 and "refresh_token" not in good
        for path in ("/v2/devices", "/api/v2/devices"):
            assert (await c.get(path)).json()["error"] == "missing_header"
            assert (await c.get(path, headers={"Authorization": "Token x"})).json()["error"] == "invalid_header"
            r = await c.get(path, headers={"Authorization": "Bearer nope"})
            assert r.status_code == 401 and r.json()["error_code"] == 10
        auth = {"Authorization": f"Bearer {good['access_token']}"}
        r = await c.put("/v2/webhook", json={"url": "https://x"}, headers=auth)
        assert r.status_code == 403  # monitoring only: no management
        r = await c.get("/v2/devices", params={"pageSize": 5}, headers=auth)
        assert "link" not in r.headers and isinstance(r.json(), list) and len(r.json()) == 5
        assert ".000000000" in r.text or "000" in r.text
        ids = [d["id"] for d in r.json()]
        r2 = await c.get("/v2/devices", params={"pageSize": 5, "after": ids[-1]}, headers=auth)
        assert r2.json()[0]["id"] > ids[-1]
        assert (await c.get("/v2/devices", params={"df": "name = x"}, headers=auth)).status_code == 400
        r = await c.get("/v2/queries/software", params={"pageSize": 3}, headers=auth)
        cursor = r.json()["cursor"]
        assert cursor["offset"] == 0 and cursor["count"] == 3 and cursor["expires"] > NOW.timestamp()
        sim.state.sim.cursors[cursor["name"]].expires = 0
        r = await c.get("/v2/queries/software", params={"pageSize": 3, "cursor": cursor["name"]}, headers=auth)
        assert r.status_code == 400 and r.json()["resultCode"] == "INVALID_CURSOR"


@pytest.mark.parametrize("form", ["seconds", "date"])
async def test_429_in_both_retry_after_forms_is_honoured(form) -> None:  # type: ignore[no-untyped-def]
    # The real clock: an HTTP-date Retry-After is read against the wall clock.
    sim = create_app(generate_fleet(seed=4, orgs=3, devices=45, now=datetime.now(UTC)))
    transport = RoutedTransport()
    host = f"sim-{uuid.uuid4().hex[:6]}-eu.ninjarmm.com"
    transport.add(host, sim)
    ctx, _ = harnesses.provider_context(transport)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    ctx.sleep = sleep
    provider = NinjaOneProvider(ninja_config(host), ctx)
    sim.state.sim.modes.retry_after_form = form
    sim.state.sim.faults.add(Fault("rate_limit", path_contains="/organizations", retry_after_s=7, times=2))
    sim.state.sim.modes.html_throttle = 0
    try:
        scopes = await provider.list_scopes()
        assert len(scopes) == 3 and len(waits) == 2 and all(5 <= w <= 7 for w in waits), waits
        # An HTML page with 200 is throttling, not data: retried, then the real answer is used.
        sim.state.sim.modes.html_throttle = 1
        assert len(await provider.list_scopes()) == 3
        # A fault at page k that never heals: the walk raises (nothing is marked missing).
        sim.state.sim.faults.add(
            Fault("status", path_contains="/devices-detailed", query_contains="after=", status=503)
        )
        with pytest.raises(ProviderRetriableError):
            async for _ in provider.iter_device_pages(RemoteScope(scopes[0].external_id, scopes[0].name)):
                pass
    finally:
        await provider.aclose()


async def test_a_second_401_is_an_auth_error(sim) -> None:  # type: ignore[no-untyped-def]
    transport = RoutedTransport()
    host = f"sim-{uuid.uuid4().hex[:6]}-eu.ninjarmm.com"
    transport.add(host, sim)
    ctx, _ = harnesses.provider_context(transport)
    ctx.now = lambda: NOW
    provider = NinjaOneProvider(ninja_config(host), ctx)
    try:
        await provider.list_scopes()
        sim.state.sim.tokens.clear()  # every token the server issued is now unknown: refresh once, replay once
        assert await provider.list_scopes()
        sim.state.sim.faults.add(Fault("status", path_contains="/organizations", status=401))
        with pytest.raises(ProviderAuthError):
            await provider.list_scopes()
    finally:
        await provider.aclose()


async def test_activities_alerts_and_webhook_configuration(sim) -> None:  # type: ignore[no-untyped-def]
    async with await client(sim) as c:
        auth = {"Authorization": f"Bearer {(await token(c)).json()['access_token']}"}
        r = await c.put(
            "/v2/webhook",
            json={"url": "https://psa.example/api/webhooks/ninjaone", "activities": {"CONDITION": ["RESET"]}},
            headers=auth,
        )
        assert r.status_code == 204
        alert = next(iter(sim.state.sim.fleet.alerts.values()))
        dev = await c.get(f"/v2/device/{alert.device_id}/alerts", headers=auth)
        assert alert.uid in dev.text
        r = await c.post(f"/v2/alert/{alert.uid}/reset", headers=auth)
        assert r.status_code == 204
        assert (await c.post(f"/v2/alert/{alert.uid}/reset", headers=auth)).status_code == 404
        page = (await c.get("/v2/activities", params={"pageSize": 10}, headers=auth)).json()
        assert page["activities"][0]["seriesUid"] == alert.uid and page["activities"][0]["statusCode"] == "RESET"
        newer = (await c.get("/v2/activities", params={"newerThan": page["lastActivityId"]}, headers=auth)).json()
        assert newer["activities"] == []
        assert (await c.delete("/v2/webhook", headers=auth)).status_code == 204


async def test_preflight_checks_name_the_problem_and_the_fix(sim) -> None:  # type: ignore[no-untyped-def]
    from rmmbridge.simulators.ninjaone import WEB_CLIENT_ID, WEB_CLIENT_SECRET

    transport = RoutedTransport()
    host = f"sim-{uuid.uuid4().hex[:6]}-eu.ninjarmm.com"
    wrong = f"sim-{uuid.uuid4().hex[:6]}-oc.ninjarmm.com"
    transport.add(host, sim)
    transport.add(wrong, sim)

    async def checks_for(config: Any) -> list[Any]:
        ctx, _ = harnesses.provider_context(transport)
        ctx.sleep = _no_sleep
        provider = NinjaOneProvider(config, ctx)
        try:
            return await provider.test_connection()
        finally:
            await provider.aclose()

    def failed(checks: list[Any]) -> Any:
        bad = [c for c in checks if not c.ok]
        assert len(bad) == 1 and bad[0].fix, checks
        return bad[0]

    # Wrong region: the app does not exist on that instance.
    bad = failed(await checks_for(ninja_config(wrong)))
    assert bad.name == "Client app on this instance" and f"does not exist on {wrong}" in bad.message
    # Wrong grant: a Web app used with client credentials.
    bad = failed(await checks_for(ninja_config(host, client_id=WEB_CLIENT_ID, client_secret=WEB_CLIENT_SECRET)))
    assert bad.name == "Grant and scopes accepted" and "grant" in bad.message
    # Authorization code selected but nobody signed in yet.
    cfg = ninja_config(host, client_id=WEB_CLIENT_ID, client_secret=WEB_CLIENT_SECRET, auth_mode="authorization_code")
    bad = failed(await checks_for(cfg))
    assert bad.name == "Grant and scopes accepted" and "Connect with NinjaOne" in bad.fix
    # Missing scope on the app.
    sim.state.sim.apps[DEFAULT_CLIENT_ID].scopes = frozenset({"monitoring"})
    bad = failed(await checks_for(ninja_config(host)))
    assert bad.name == "Grant and scopes accepted" and "scope" in bad.message
    sim.state.sim.apps[DEFAULT_CLIENT_ID].scopes = frozenset({"monitoring", "management", "control"})
    # Unreachable: the token endpoint keeps failing with 503.
    sim.state.sim.faults.add(Fault("status", path_contains="/oauth/token", status=503))
    bad = failed(await checks_for(ninja_config(host)))
    assert bad.name == "Instance reachable"


async def _no_sleep(_s: float) -> None:
    return None


async def test_query_reports_fed_differences_and_stall(sim) -> None:  # type: ignore[no-untyped-def]
    """§5.2 reports (computer-systems, operating-systems, device-health) with their cursor envelope;
    §1/§7.1 FED: older shapes, organizationIds refused, DELETE /v2/webhook/{id}; §9: a stalling answer."""
    import asyncio

    app_ = sim.state.sim
    app_.apps[DEFAULT_CLIENT_ID].instance = "fed"
    async with await client(sim, "fed.ninjarmm.com") as c:
        auth = {"Authorization": f"Bearer {(await token(c, scope='monitoring management')).json()['access_token']}"}
        for report, key in (("computer-systems", "serialNumber"), ("operating-systems", "buildNumber")):
            r = await c.get(f"/v2/queries/{report}", params={"pageSize": 10}, headers=auth)
            body = r.json()
            assert set(body["cursor"]) == {"name", "offset", "count", "expires"} and len(body["results"]) == 10
            assert all("deviceId" in row and key in row and "timestamp" in row for row in body["results"])
            seen, name = len(body["results"]), body["cursor"]["name"]
            while True:
                page = (
                    await c.get(f"/v2/queries/{report}", params={"pageSize": 10, "cursor": name}, headers=auth)
                ).json()
                if not page["results"]:
                    break
                seen += len(page["results"])
            assert seen == sum(
                1
                for d in app_.fleet.devices.values()
                if d["approvalStatus"] == "APPROVED"
                and isinstance(d.get("system" if key == "serialNumber" else "os"), dict)
            )
        health = (await c.get("/v2/queries/device-health", headers=auth)).json()["results"]
        assert health and {"deviceId", "offline", "healthStatus"} <= set(health[0])
        assert (await c.get("/v2/queries/nonsense", headers=auth)).status_code == 404
        # FED: an older app version — no device uid, no alert severity/priority.
        devices = (await c.get("/v2/devices", params={"pageSize": 100}, headers=auth)).json()
        assert devices and all("uid" not in d for d in devices)
        assert all(
            "severity" not in a and "priority" not in a for a in (await c.get("/v2/alerts", headers=auth)).json()
        )
        r = await c.put("/v2/webhook", json={"url": "https://x", "organizationIds": [2]}, headers=auth)
        assert r.status_code == 400 and "organizationIds" in r.json()["errorMessage"]
        assert (await c.put("/v2/webhook", json={"url": "https://x"}, headers=auth)).status_code == 204
        assert (await c.delete(f"/v2/webhook/{DEFAULT_CLIENT_ID}", headers=auth)).status_code == 204
        assert app_.webhooks == {}
        # A stalled answer: only the client's own timeout ends it.
        app_.faults.add(Fault("stall", path_contains="/v2/organizations", times=1))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(c.get("/v2/organizations", headers=auth), timeout=0.3)
        assert (await c.get("/v2/organizations", headers=auth)).status_code == 200
    app_.apps[DEFAULT_CLIENT_ID].instance = "eu"
    async with await client(sim) as c:
        auth = {"Authorization": f"Bearer {(await token(c, scope='monitoring management')).json()['access_token']}"}
        assert (await c.delete(f"/v2/webhook/{DEFAULT_CLIENT_ID}", headers=auth)).status_code == 404
        devices = (await c.get("/v2/devices", params={"pageSize": 100}, headers=auth)).json()
        assert any("uid" in d for d in devices)
