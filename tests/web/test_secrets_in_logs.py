"""Issue #14 item 14: no password hash, session or CSRF token in DEBUG logs; the SQLite database
file is created 0600."""

from __future__ import annotations

import logging
import os
import re
import stat
import uuid

import structlog
from sqlalchemy import text

from rmmbridge.app import create_app
from rmmbridge.kit.logging import configure_logging
from rmmbridge.storage.db import create_engine
from tests.cli.test_admin_cli import cli  # noqa: F401  (a fixture)
from tests.conftest import make_tenant
from tests.support.throttle_clock import client_from
from tests.web.test_ui_auth import csrf_of


def test_user_create_at_debug_logs_no_hash(cli, monkeypatch):  # noqa: F811
    name = f"dbg-{uuid.uuid4().hex[:6]}"
    assert cli("tenant", "create", name).returncode == 0
    monkeypatch.setenv("RMMBRIDGE_LOG_LEVEL", "DEBUG")
    proc = cli("user", "create", "--tenant", name, "--email", f"{name}@x.example", "--password-stdin",
               stdin="a long password\n")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "$argon2" not in proc.stdout + proc.stderr and "a long password" not in proc.stderr


async def test_signing_in_at_debug_logs_no_token(settings_factory, caplog):
    saved = structlog.get_config()
    configure_logging("DEBUG", "console")
    caplog.set_level(logging.DEBUG)
    app = create_app(settings_factory(log_level="DEBUG"), start_background=False)
    try:
        state = app.state.rmm
        tenant = await make_tenant(state, "dbg")
        async with client_from(app, "192.0.2.10") as client:
            page = await client.get("/login")
            anonymous = csrf_of(page.text)
            r = await client.post("/login", data={"email": tenant.emails["admin"], "password": tenant.password,
                                                  "csrf_token": anonymous})  # fmt: skip
            assert r.status_code == 303
            session = r.cookies["rmmbridge_session"]
            page = await client.get("/clients")
            signed_in = csrf_of(page.text)
            r = await client.post("/clients", data={"name": "Debug Inc", "csrf_token": signed_in})
            assert r.status_code in (200, 303), r.text
    finally:
        await app.state.rmm.engine.dispose()
        structlog.configure(**saved)
    logged = caplog.text
    for secret in (anonymous, signed_in, session, tenant.password):
        assert secret not in logged
    assert not re.search(r"\$argon2", logged)


async def test_the_sqlite_file_is_created_private(tmp_path):
    path = tmp_path / "sub" / "rmm.db"
    old = os.umask(0o022)
    try:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        await engine.dispose()
    finally:
        os.umask(old)
    for file in tmp_path.joinpath("sub").iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
