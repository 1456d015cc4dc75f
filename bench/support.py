"""Shared bench helpers: simulators per provider, seeding a synced fleet, the bench server.

    python -m bench.support serve --port P --provider tacticalrmm --agents N

runs the service with the provider's simulator routed in-process (the same fleet seed the
benchmark seeded from), for load tests against a real port.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import uuid
from typing import Any

import httpx

from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.registry import ProviderRegistry, builtin_registry

SIM_HOST = "sim.bench.rmmbridge.local"
FLEET_SEED = 11
FLEET_CLIENTS = 10  # every benchmark's figure history is on this shape (agents skewed over 10 clients)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def control_client(base: str, **kwargs: Any) -> httpx.AsyncClient:
    """A plain client for a simulator started by :func:`simulate`: a new connection per request,
    since the simulator closes kept-alive connections like Tactical's uWSGI (a reused one would lose
    its next request — rmmbridge's own transport re-sends it, a plain client does not)."""
    return httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_keepalive_connections=0), **kwargs)


async def wait_healthy(base: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as client:
        while asyncio.get_running_loop().time() < deadline:
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{base} did not become healthy")


async def wait_runs_idle(db: Any, timeout: float = 300) -> None:
    """Until no sync run is queued or running (refreshes triggered by a warm-up have drained)."""
    from sqlalchemy import func, select

    from rmmbridge.storage.db import unit_of_work
    from rmmbridge.storage.models import SyncRun

    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with unit_of_work(db.sessionmaker, read_only=True) as s:
            active = await s.scalar(select(func.count()).select_from(SyncRun).where(
                SyncRun.status.in_(("queued", "running"))))
        if not active:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("runs did not drain")


def registry() -> ProviderRegistry:
    reg = builtin_registry()
    if "tinyrmm" not in reg:
        from tests.support.tinyrmm import TinyProvider

        reg.register(TinyProvider)
    return reg


def simulator(
    provider: str, agents: int, serving_cost: Any = None, clients: int = FLEET_CLIENTS
) -> tuple[Any, dict[str, Any]]:
    """The provider's simulator app and the credentials to configure an integration with it.

    Fleets are generated with a fixed seed, so a simulator started in another process serves
    the same fleet the benchmark seeded from. ``serving_cost`` (Tactical only): the real server's
    serving-cost model. ``clients``: the fleet's organizations (clients, orgs, groups), agents
    spread over them by the generator's skewed weights.
    """
    if serving_cost is not None and provider != "tacticalrmm":
        raise SystemExit("--real-server-model is only modelled for tacticalrmm")
    if provider == "tacticalrmm":
        from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, create_app, generate_fleet

        fleet = generate_fleet(seed=FLEET_SEED, clients=clients, agents=agents)
        return create_app(fleet, serving_cost=serving_cost), {"auth_mode": "api_key", "values": {"api_key": DEFAULT_CREDENTIALS.api_key}}
    if provider == "ninjaone":
        from rmmbridge.simulators import ninjaone

        nfleet = ninjaone.generate_fleet(seed=FLEET_SEED, orgs=clients, devices=agents)
        return ninjaone.create_app(nfleet), {"auth_mode": "client_credentials", "values": {
            "region": "custom", "client_id": ninjaone.DEFAULT_CLIENT_ID,
            "client_secret": ninjaone.DEFAULT_CLIENT_SECRET, "page_size": 1000}}
    if provider == "tanium":
        from rmmbridge.simulators.tanium import create_app, generate_fleet

        fleet = generate_fleet(seed=FLEET_SEED, groups=clients, endpoints=agents)
        return create_app(fleet), {"values": {"api_token": "token-rmmbridge-sim-0123456789abcdef"}}
    from tests.support.tinyrmm import make_fleet, tiny_app

    fleet = make_fleet(orgs=clients, devices=agents, seed=FLEET_SEED)
    return tiny_app(fleet), {"values": {"api_key": fleet.api_key}}


async def seed_tenant_with_fleet(db: Any, provider: str, agents: int, secret_key: str) -> dict[str, Any]:
    """Tenant, integration (tested), all scopes mapped, devices synced, webhook secret."""
    from sqlalchemy import select

    from rmmbridge.config import Settings
    from rmmbridge.integrations import mappings as mapping_service
    from rmmbridge.integrations import service, webhook_secrets
    from rmmbridge.integrations.schemas import CredentialsIn, IntegrationCreate
    from rmmbridge.storage.db import unit_of_work
    from rmmbridge.storage.models import ExternalEntityMapping, RmmOrganizationMapping
    from rmmbridge.sync.runner import runner_of
    from rmmbridge.sync.service import request_sync
    from rmmbridge.tenancy import service as tenancy
    from rmmbridge.tenancy.auth import system_context

    from .common import BenchDb

    assert isinstance(db, BenchDb)
    app, creds = simulator(provider, agents)
    transport = RoutedTransport({SIM_HOST: app})
    from rmmbridge.app import build_state

    state = build_state(Settings(database_url=db.url, secret_key=secret_key, scheduler_enabled=False),
                        registry=registry(), http_transport=transport)
    try:
        async with unit_of_work(state.sessionmaker) as s:
            tenant = await tenancy.create_tenant(s, f"bench-{uuid.uuid4().hex[:6]}")
            ctx = system_context(tenant.id, "bench")
            row = await service.create_integration(s, ctx, state.registry, IntegrationCreate(provider=provider))
            await service.save_credentials(state, s, ctx, row.id, CredentialsIn(
                instance_url=f"https://{SIM_HOST}", auth_mode=creds.get("auth_mode"), values=creds["values"]))
        async with unit_of_work(state.sessionmaker) as s:
            test = await service.test_connection(state, s, ctx, row.id, None)
            assert test.ok, test.checks
        for kind in ("scopes", "devices"):
            async with unit_of_work(state.sessionmaker) as s:
                started = await request_sync(state, s, ctx, row.id, kind, "bench")
            await runner_of(state).wait(started.run.id)
            if kind == "scopes":
                async with unit_of_work(state.sessionmaker) as s:
                    for m in await s.scalars(select(RmmOrganizationMapping).where(
                            RmmOrganizationMapping.integration_id == row.id)):
                        await mapping_service.create_client_for_mapping(s, ctx, row.id, m.id)
        async with unit_of_work(state.sessionmaker) as s:
            integ = await service.get_integration(s, ctx, row.id)
            secret = await webhook_secrets.rotate(state, s, integ)
            devices = [{"external_id": e, "external_ref": r or ""} for e, r in (await s.execute(
                select(ExternalEntityMapping.external_id, ExternalEntityMapping.external_ref).where(
                    ExternalEntityMapping.integration_id == row.id))).all()]
        header = state.registry.get(provider).webhook_header
        return {"secret": secret, "header": header, "devices": devices, "integration_id": str(row.id),
                "tenant_id": str(tenant.id)}
    finally:
        await runner_of(state).stop()
        await state.engine.dispose()


def make_app() -> Any:
    """App factory for uvicorn workers: the service with the bench simulator routed in-process."""
    import os

    from rmmbridge.app import create_app
    from rmmbridge.config import load_settings
    from rmmbridge.kit.logging import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)  # as `rmmbridge serve` does
    app, _ = simulator(os.environ["BENCH_PROVIDER"], int(os.environ["BENCH_AGENTS"]))
    return create_app(settings, registry=registry(), http_transport=RoutedTransport({SIM_HOST: app}))


def serve(port: int, provider: str, agents: int, workers: int = 1) -> None:
    import os

    import uvicorn

    os.environ["BENCH_PROVIDER"], os.environ["BENCH_AGENTS"] = provider, str(agents)
    uvicorn.run("bench.support:make_app", factory=True, host="127.0.0.1", port=port, workers=workers,
                log_level="warning", access_log=False)


def simulate(port: int, provider: str, agents: int, real_server_model: bool = False, workers: int = 4,
             close_connections: bool = True, clients: int = FLEET_CLIENTS) -> None:
    """The provider's simulator on a port; closing kept-alive connections like Tactical's uWSGI by default,
    and with ``real_server_model`` answering as slowly as the real server (per request, per row, workers)."""
    import uvicorn

    from rmmbridge.simulators.connections import ConnectionPolicy, protocol_for

    model = None
    if real_server_model:
        from rmmbridge.simulators.tacticalrmm.serving_cost import ServingCostModel

        model = ServingCostModel(workers=workers)
    app, _ = simulator(provider, agents, serving_cost=model, clients=clients)
    if provider == "tacticalrmm":
        # Rows encoded before the port opens: the simulator's own CPU is an artifact of sharing
        # this machine with the client (the real server runs elsewhere); its serving *time* is
        # the model's (sleeps, workers) either way.
        from rmmbridge.simulators.tacticalrmm.row_cache import warm_rows

        warm_rows(app.fleet)
    http: Any = protocol_for(ConnectionPolicy()) if close_connections else "auto"
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, http=http)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve", "simulate"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--provider", default="tacticalrmm")
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None, help="serve: uvicorn workers (1); simulate: the "
                        "real-server model's workers (4)")
    parser.add_argument("--real-server-model", action="store_true")
    parser.add_argument("--clients", type=int, default=FLEET_CLIENTS, help="simulate: the fleet's organizations")
    parser.add_argument("--keep-connections", action="store_true",
                        help="simulate: keep connections alive instead of closing them like uWSGI")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port, args.provider, args.agents, args.workers or 1)
    else:
        simulate(args.port, args.provider, args.agents, args.real_server_model, args.workers or 4,
                 close_connections=not args.keep_connections, clients=args.clients)
