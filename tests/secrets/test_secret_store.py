"""The encrypted secret store: ciphertext only, bound to tenant and name."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text

from rmmbridge.kit.crypto import DecryptionError, Sealer, load_or_create_key_file
from rmmbridge.storage.models import TenantSecret


async def test_plaintext_appears_nowhere_in_the_database(state, tenant, db, backend):
    secret = "tactical-api-key-ZX81SPECTRUM-" + os.urandom(8).hex()
    await state.secrets.put(db, tenant.tenant_id, "integration/x/api_key", secret)
    await db.flush()
    assert await state.secrets.get(db, tenant.tenant_id, "integration/x/api_key") == secret
    # Scan every text and binary column of every table.
    tables = (
        (
            await db.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            if backend == "sqlite"
            else await db.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))
        )
        .scalars()
        .all()
    )
    assert "tenant_secrets" in tables
    for table in tables:
        for row in (await db.execute(text(f'SELECT * FROM "{table}"'))).all():
            for value in row:
                blob = value if isinstance(value, bytes | bytearray | memoryview) else str(value).encode()
                assert secret.encode() not in bytes(blob), f"plaintext found in {table}"


async def test_ciphertext_is_bound_to_tenant_and_name(state, tenant, other_tenant, db):
    await state.secrets.put(db, tenant.tenant_id, "a", "value-one")
    row = await db.get(TenantSecret, (tenant.tenant_id, "a"))
    # Copy the ciphertext to another tenant's row: it must not open there.
    db.add(TenantSecret(tenant_id=other_tenant.tenant_id, name="a", ciphertext=row.ciphertext))
    await db.flush()
    with pytest.raises(DecryptionError):
        await state.secrets.get(db, other_tenant.tenant_id, "a")
    assert await state.secrets.get(db, tenant.tenant_id, "missing") is None
    assert await state.secrets.get_many(db, tenant.tenant_id, "") == {"a": "value-one"}
    assert await state.secrets.delete_prefix(db, tenant.tenant_id, "a") == 1


def test_key_file_is_created_0600_and_reused(tmp_path):
    path = tmp_path / "sub" / "secret.key"
    key = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_file(path) == key
    sealed = Sealer(key).seal("hello", "t/n")
    assert Sealer(key).open(sealed, "t/n") == "hello"
    with pytest.raises(DecryptionError):
        Sealer(os.urandom(32)).open(sealed, "t/n")


def test_masking_shows_last_four_only():
    from rmmbridge.kit.masking import mask

    assert mask("ABCDEFGHIJKL1234") == "••••1234"
    assert mask("short") == "••••"
    assert mask(None) == ""
