"""Master-key rotation re-seals every secret and re-keys the webhook digests, all or nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from rmmbridge.kit.crypto import DecryptionError, Sealer, decode_key, generate_key_text
from rmmbridge.secrets.rotation import reseal_all
from rmmbridge.secrets.store import DbSecretStore
from rmmbridge.storage.db import create_engine, create_sessionmaker, unit_of_work
from rmmbridge.storage.models import RmmIntegration, Tenant, TenantSecret
from tests.conftest import TEST_SECRET_KEY


async def test_reseal_all_opens_with_the_new_key_and_webhooks_still_match(http, state, tiny):
    h = tiny.tenant.headers()
    r = await http.post(f"/api/v1/integrations/{tiny.integration_id}/webhook/rotate", headers=h)
    assert r.status_code == 200, r.text
    webhook_secret = r.json()["secret"]
    old = Sealer(decode_key(TEST_SECRET_KEY))
    new = Sealer(os.urandom(32))
    tenant_id = tiny.tenant.tenant_id
    iid = uuid.UUID(tiny.integration_id)
    # Rotation touches every tenant of the shared test database: look inside the transaction, then
    # roll it back so the rest of the session keeps the key it runs with.
    async with state.sessionmaker() as session, session.begin():
        before = await DbSecretStore(old).get_many(session, tenant_id, f"integration/{iid}/")
        done = await reseal_all(session, old, new)
        assert done.secrets >= len(before) >= 2 and done.webhook_digests >= 1
        assert await DbSecretStore(new).get_many(session, tenant_id, f"integration/{iid}/") == before
        with pytest.raises(DecryptionError):
            await DbSecretStore(old).get_many(session, tenant_id, f"integration/{iid}/")
        row = await session.get(RmmIntegration, (tenant_id, iid))
        assert row is not None and row.webhook_secret_digest == new.digest(webhook_secret)
        await session.rollback()
    # Rolled back: the running service still finds its webhook secret with the old key.
    r = await http.post(
        "/api/webhooks/tinyrmm", headers={"X-Tiny-Secret": webhook_secret, "content-type": "application/json"},
        content=b'{"id": "rot-1", "device": "dev-00001"}',
    )
    assert r.status_code == 202, r.text


async def test_a_wrong_old_key_changes_nothing(state, tiny):
    wrong, new = Sealer(os.urandom(32)), Sealer(os.urandom(32))
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        before = {(s.tenant_id, s.name): s.ciphertext for s in await session.scalars(select(TenantSecret))}
    with pytest.raises(DecryptionError):
        async with unit_of_work(state.sessionmaker) as session:
            await reseal_all(session, wrong, new)
    async with unit_of_work(state.sessionmaker, read_only=True) as session:
        after = {(s.tenant_id, s.name): s.ciphertext for s in await session.scalars(select(TenantSecret))}
    assert after == before


async def test_the_cli_procedure_on_a_database_of_its_own(tmp_path: Path):
    db_url = f"sqlite+aiosqlite:///{tmp_path}/rot.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RMMBRIDGE_")}
    env |= {"RMMBRIDGE_DATABASE_URL": db_url, "RMMBRIDGE_SECRET_KEY": TEST_SECRET_KEY, "NO_COLOR": "1"}

    def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rmmbridge", *args], env=env | extra, capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)  # fmt: skip

    assert cli("db", "upgrade").returncode == 0
    engine = create_engine(db_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            tenant = Tenant(name="Rotation")
            session.add(tenant)
            await session.flush()
            await DbSecretStore(Sealer(decode_key(TEST_SECRET_KEY))).put(session, tenant.id, "x/api_key", "k-123")
            tenant_id = tenant.id
    finally:
        await engine.dispose()
    new_key = tmp_path / "new.key"
    new_key.write_text(generate_key_text() + "\n")

    same = tmp_path / "same.key"
    same.write_text(TEST_SECRET_KEY)
    r = cli("db", "rotate-master-key", "--new-key-file", str(same))
    assert r.returncode == 1 and "the new key is the current key" in r.stderr

    r = cli("db", "rotate-master-key", "--new-key-file", str(new_key))
    assert r.returncode == 0, r.stderr
    assert "re-sealed 1 secrets" in r.stdout

    # Run again with the old key configured: it no longer opens anything, and says so.
    r = cli("db", "rotate-master-key", "--new-key-file", str(tmp_path / "same.key"),
            RMMBRIDGE_SECRET_KEY=generate_key_text())  # fmt: skip
    assert r.returncode == 1 and "does not open the stored secrets" in r.stderr

    engine = create_engine(db_url)
    try:
        async with unit_of_work(create_sessionmaker(engine), read_only=True) as session:
            store = DbSecretStore(Sealer(decode_key(new_key.read_text())))
            assert await store.get(session, tenant_id, "x/api_key") == "k-123"
    finally:
        await engine.dispose()
