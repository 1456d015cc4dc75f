"""The admin CLI, run as a real subprocess against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest


@pytest.fixture
def cli(database_url, tmp_path):
    env = {
        **os.environ,
        "RMMBRIDGE_DATABASE_URL": database_url,
        "RMMBRIDGE_SECRET_KEY": "q2Yk3VdC5xq9o7kq2l7yQn4uM3Gq4m0y3cR9rA0d1xI=",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rmmbridge", *args],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )

    return run


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_tenant_user_token_flow_and_errors(cli):
    name = f"cli-{uuid.uuid4().hex[:6]}"
    created = cli("tenant", "create", name, "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == name
    assert "already exists" in one_line_error(cli("tenant", "create", name))

    email = f"admin@{name}.example"
    ok = cli(
        "user",
        "create",
        "--tenant",
        name,
        "--email",
        email,
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long password\n",
    )
    assert ok.returncode == 0, ok.stderr
    assert "already exists" in one_line_error(
        cli("user", "create", "--tenant", name, "--email", email.upper(), "--password-stdin", stdin="a long password\n")
    )
    assert "no tenant" in one_line_error(
        cli(
            "user",
            "create",
            "--tenant",
            "no-such-tenant",
            "--email",
            "x@y.example",
            "--password-stdin",
            stdin="a long password\n",
        )
    )
    assert "unknown role" in one_line_error(
        cli(
            "user",
            "create",
            "--tenant",
            name,
            "--email",
            "v@y.example",
            "--role",
            "boss",
            "--password-stdin",
            stdin="a long password\n",
        )
    )
    assert "at least 10" in one_line_error(
        cli("user", "create", "--tenant", name, "--email", "w@y.example", "--password-stdin", stdin="short\n")
    )

    token = cli("token", "create", "--email", email, "--name", "automation", "--json")
    assert token.returncode == 0, token.stderr
    issued = json.loads(token.stdout)
    assert issued["token"].startswith("rmb_") and issued["info"]["last4"] == issued["token"][-4:]
    assert "no user" in one_line_error(cli("token", "create", "--email", "ghost@x.example", "--name", "n"))
    revoked = cli("token", "revoke", issued["info"]["id"])
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert "not a token id" in one_line_error(cli("token", "revoke", "nope"))


def test_invalid_configuration_is_one_clear_line(cli, tmp_path):
    env_bad = {**os.environ, "RMMBRIDGE_PORT": "99999", "RMMBRIDGE_DATABASE_URL": "mysql://x"}
    proc = subprocess.run(
        [sys.executable, "-m", "rmmbridge", "tenant", "list"],
        env=env_bad,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    line = one_line_error(proc)
    assert "RMMBRIDGE_PORT" in line and "RMMBRIDGE_DATABASE_URL" in line


async def test_serve_refuses_pending_postgres_migrations(backend, tmp_path):
    if backend != "postgres":
        pytest.skip("SQLite migrates itself on start; the refusal is PostgreSQL's")
    from tests.conftest import _pg_create_database, _pg_drop_database

    url = await _pg_create_database()  # empty: every migration is pending
    try:
        env = {
            **os.environ,
            "RMMBRIDGE_DATABASE_URL": url,
            "RMMBRIDGE_SECRET_KEY": "q2Yk3VdC5xq9o7kq2l7yQn4uM3Gq4m0y3cR9rA0d1xI=",
        }
        proc = subprocess.run(
            [sys.executable, "-m", "rmmbridge", "serve", "--port", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert proc.returncode == 1
        assert "pending migrations" in proc.stderr and "--migrate" in proc.stderr
    finally:
        await _pg_drop_database(url)
