"""``rmmbridge demo`` start-up: idempotent across restarts, and its integrations really connect."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import func, select

from rmmbridge.cli import demo
from rmmbridge.config import Settings
from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.registry import builtin_registry
from tests.conftest import TEST_SECRET_KEY


def in_thread(coro: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run`` in a thread of its own (Playwright may hold this thread's event loop)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(120)
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_demo_start_up_is_idempotent_and_its_integrations_connect(tmp_path):
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        secret_key_file=tmp_path / "secret.key",
        scheduler_enabled=False,
    )
    sims = demo.build_simulators()
    transport = RoutedTransport({s.host: s.app for s in sims})
    password = demo._admin_password(tmp_path)
    assert demo._admin_password(tmp_path) == password, "the password is kept for the next start"
    assert (tmp_path / demo.PASSWORD_FILE).stat().st_mode & 0o077 == 0

    first = in_thread(demo.prepare(settings, builtin_registry(), transport, sims, password))
    created = {name for name, _, new in first.integrations if new}
    assert "Tactical RMM" in created
    second = in_thread(demo.prepare(settings, builtin_registry(), transport, sims, password))
    assert all(not new for _, _, new in second.integrations), "a restart creates nothing twice"
    assert {n for n, _, _ in second.integrations} == {n for n, _, _ in first.integrations}

    async def check() -> dict[str, Any]:
        from rmmbridge.app import build_state
        from rmmbridge.integrations import service
        from rmmbridge.storage.db import unit_of_work
        from rmmbridge.storage.models import RmmIntegration, Tenant, User
        from rmmbridge.tenancy import service as tenancy
        from rmmbridge.tenancy.auth import user_context

        state = build_state(settings, registry=builtin_registry(), http_transport=transport)
        try:
            async with unit_of_work(state.sessionmaker) as db:
                user = await tenancy.authenticate(db, demo.ADMIN_EMAIL, password)
                rows = list(await db.scalars(select(RmmIntegration)))
                out = {
                    "tenants": await db.scalar(select(func.count()).select_from(Tenant)),
                    "users": await db.scalar(select(func.count()).select_from(User)),
                    "states": {r.provider: r.state for r in rows},
                    "tests": {},
                }
                for row in rows:
                    result = await service.test_connection(state, db, user_context(user), row.id, None)
                    out["tests"][row.provider] = result.ok
                return out
        finally:
            await state.engine.dispose()

    found = in_thread(check())
    assert found["tenants"] == 1 and found["users"] == 1
    assert set(found["states"].values()) == {"configured"}, "credentials filled in, not tested yet"
    assert found["tests"] and all(found["tests"].values()), found["tests"]
