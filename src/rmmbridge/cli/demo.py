"""``rmmbridge demo``: the service with simulated RMMs and a demo tenant, ready to click through.

Everything lives under ``demo/`` of the data directory (RMMBRIDGE_DATA_DIR): SQLite database,
master key, the admin password. The simulators are the same ASGI apps the tests use, routed
in-process by host name through ``kit.http.RoutedTransport`` — no extra ports, nothing leaves the
machine. Start-up is idempotent: the tenant, the admin and the pre-created integrations are
created once and kept across restarts (with whatever the newcomer did to them); the simulated
fleets are deterministic, so a restart shows the same devices.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from .common import console, fail

DEMO_DIR = Path("demo")  # under the data directory (Settings.data_dir)
TENANT_NAME = "Demo MSP"
ADMIN_EMAIL = "admin@demo.rmmbridge.local"
PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name, not a password
TACTICAL_HOST = "tactical.demo.rmmbridge.local"
TANIUM_HOST = "tanium.demo.rmmbridge.local"
NINJAONE_HOST = "demo-eu.ninjarmm.com"  # routed in-process; a NinjaOne host so the custom-URL rule holds
FLEET_SEED = 7


@dataclass
class Simulated:
    """One simulated RMM: where it answers, how to sign in to it, and what it holds."""

    provider: str
    host: str
    app: Any
    auth_mode: str | None
    values: dict[str, Any]
    summary: str
    extra: dict[str, Any] = field(default_factory=dict)


def build_simulators() -> list[Simulated]:
    """The built-in simulators with deterministic fleets (same devices on every start)."""
    sims: list[Simulated] = []
    from rmmbridge.simulators import tacticalrmm as tactical

    fleet = tactical.generate_fleet(seed=FLEET_SEED, clients=6, agents=240, sites_per_client=3)
    sims.append(
        Simulated(
            provider="tacticalrmm",
            host=TACTICAL_HOST,
            app=tactical.create_app(fleet, live_agents=True, stop_share=0.03),
            auth_mode="api_key",
            values={"api_key": tactical.DEFAULT_CREDENTIALS.api_key},
            summary=f"{len(fleet.agents)} agents in {len(fleet.clients)} clients",
            extra={"credentials": tactical.DEFAULT_CREDENTIALS},
        )
    )
    from rmmbridge.simulators import tanium

    tfleet = tanium.generate_fleet(seed=FLEET_SEED, groups=5, endpoints=180)
    sims.append(
        Simulated(
            provider="tanium",
            host=TANIUM_HOST,
            app=tanium.create_app(tfleet),
            auth_mode=None,
            values={"api_token": tanium.DEFAULT_TOKEN},
            summary="about 180 endpoints in 5 customer groups",
        )
    )
    from rmmbridge.simulators import ninjaone

    nfleet = ninjaone.generate_fleet(seed=FLEET_SEED, orgs=5, devices=200)
    sims.append(
        Simulated(
            provider="ninjaone",
            host=NINJAONE_HOST,
            app=ninjaone.create_app(nfleet),
            auth_mode="client_credentials",
            values={"region": "custom", "client_id": ninjaone.DEFAULT_CLIENT_ID,
                    "client_secret": ninjaone.DEFAULT_CLIENT_SECRET},
            summary=f"{len(nfleet.devices)} devices in {len(nfleet.organizations)} organizations (EU instance)",
        )
    )
    return sims


def _admin_password(directory: Path) -> str:
    path = directory / PASSWORD_FILE
    if path.exists():
        return path.read_text().strip()
    password = "demo-" + secrets.token_urlsafe(12)
    path.write_text(password + "\n")
    os.chmod(path, 0o600)
    return password


@dataclass
class Prepared:
    password: str
    integrations: list[tuple[str, str, bool]]  # display name, state, created now


async def prepare(settings: Any, registry: Any, transport: Any, sims: list[Simulated], password: str) -> Prepared:
    """Migrate, then create what is missing: the tenant, its admin, one integration per simulator."""
    from sqlalchemy import select

    from rmmbridge.app import build_state
    from rmmbridge.errors import AppError, NotFound
    from rmmbridge.integrations import repository as integrations_repo
    from rmmbridge.integrations import service as integrations
    from rmmbridge.integrations.schemas import CredentialsIn, IntegrationCreate
    from rmmbridge.storage import migrate
    from rmmbridge.storage.db import unit_of_work
    from rmmbridge.storage.models import User
    from rmmbridge.tenancy import service as tenancy
    from rmmbridge.tenancy.auth import user_context
    from rmmbridge.tenancy.passwords import hash_password, verify_password

    state = build_state(settings, registry=registry, http_transport=transport)
    done: list[tuple[str, str, bool]] = []
    try:
        await migrate.upgrade(state.engine)
        async with unit_of_work(state.sessionmaker) as db:
            try:
                tenant = await tenancy.find_tenant(db, TENANT_NAME)
            except NotFound:
                tenant = await tenancy.create_tenant(db, TENANT_NAME)
            user = await db.scalar(select(User).where(User.email == ADMIN_EMAIL))
            if user is None:
                user = await tenancy.create_user(db, tenant.id, ADMIN_EMAIL, password, "admin")
            elif not verify_password(user.password_hash, password):
                # The password file was removed: the printed password must work, so it is reset.
                user.password_hash = hash_password(password)
            ctx = user_context(user)
            for sim in sims:
                if sim.provider not in state.registry:
                    continue
                cls = state.registry.get(sim.provider)
                existing = await integrations_repo.by_provider(db, ctx, cls.key)
                if existing:
                    done.append((cls.display_name, existing[0].state, False))
                    continue
                row = await integrations.create_integration(
                    db, ctx, state.registry, IntegrationCreate(provider=cls.key)
                )
                fields = cls.config_model.model_fields
                values = {k: v for k, v in sim.values.items() if k in fields}
                try:
                    await integrations.save_credentials(
                        state,
                        db,
                        ctx,
                        row.id,
                        CredentialsIn(
                            instance_url=f"https://{sim.host}",
                            auth_mode=sim.auth_mode if "auth_mode" in fields else None,
                            values=values,
                        ),
                    )
                except AppError as exc:  # a provider whose form changed: leave it for the newcomer
                    console.print(f"[yellow]{cls.display_name}: credentials not pre-filled ({exc.detail})[/]")
                done.append((cls.display_name, row.state, True))
    finally:
        await state.engine.dispose()
    return Prepared(password, done)


def demo(
    host: str = typer.Option("127.0.0.1", envvar="RMMBRIDGE_HOST", help="bind address"),
    port: int = typer.Option(8000, envvar="RMMBRIDGE_PORT", help="port"),
    reset: bool = typer.Option(False, "--reset", help="delete the demo's data first and start from scratch"),
) -> None:
    """Run rmmbridge with simulated Tactical RMM, Tanium and NinjaOne and a demo tenant (data in DATA_DIR/demo)."""
    import uvicorn

    from rmmbridge.app import create_app
    from rmmbridge.config import ConfigError, load_settings
    from rmmbridge.kit.http import RoutedTransport
    from rmmbridge.kit.logging import configure_logging
    from rmmbridge.providers.registry import builtin_registry

    from .common import check_port
    from .common import settings as own_settings

    check_port("127.0.0.1" if host in ("0.0.0.0", "::") else host, port)  # noqa: S104 - a probe only
    directory = (own_settings().data_dir / "demo").resolve()
    if reset and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104 - display only
    try:
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{directory / 'rmmbridge.db'}",
            secret_key_file=directory / "secret.key",
            base_url=url,
            host=host,
            port=port,
        )
    except ConfigError as exc:
        fail(str(exc), 2)
    configure_logging(settings.log_level, settings.log_format)
    sims = build_simulators()
    transport = RoutedTransport({s.host: s.app for s in sims})
    registry = builtin_registry()
    prepared = asyncio.run(prepare(settings, registry, transport, sims, _admin_password(directory)))

    console.rule("[bold]rmmbridge demo[/]")
    console.print(f"  Open        [bold]{url}[/]", highlight=False)
    console.print(f"  Sign in     [bold]{ADMIN_EMAIL}[/] / [bold]{prepared.password}[/]", highlight=False)
    console.print(f"  Tenant      {TENANT_NAME}", highlight=False)
    registered = set(registry.keys())
    for sim in sims:
        status = "" if sim.provider in registered else "  [dim](provider not installed: not offered)[/]"
        console.print(f"  Simulated   https://{sim.host} — {sim.summary}{status}", highlight=False)
    for name, state, created in prepared.integrations:
        note = "pre-created with its credentials, not tested yet" if created else f"kept from last time ({state})"
        console.print(f"  Integration {name}: {note}", highlight=False)
    tactical = next((s for s in sims if s.provider == "tacticalrmm"), None)
    if tactical is not None and "credentials" in tactical.extra:
        creds = tactical.extra["credentials"]
        console.print(
            f"  Tactical users: {creds.username} / {creds.password} (no 2FA), "
            f"{creds.totp_username} / {creds.totp_password} (TOTP secret {creds.totp_secret})",
            highlight=False,
        )
    console.print(
        "  Next        Settings → Integrations → Tactical RMM → Test connection → Sync clients → "
        "map or create clients → Sync devices → Assets",
        highlight=False,
    )
    console.print(f"  Data        {directory} (rmmbridge demo --reset starts over)", highlight=False)
    console.rule()
    app = create_app(settings, registry=registry, http_transport=transport)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), access_log=False)
