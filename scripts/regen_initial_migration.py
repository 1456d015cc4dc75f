"""Regenerate migration 0001 from the models (pre-release only: no database has shipped yet).

Autogenerate cannot see expression indexes on SQLite, so those are appended here by hand.
Once a release ships, add new revisions with `alembic revision --autogenerate` instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from rmmbridge.storage.migrate import MIGRATIONS_DIR, alembic_config

EXPRESSION_INDEXES = """
    op.create_index(
        "uq_clients_tenant_lower_name_live",
        "clients",
        ["tenant_id", sa.text("lower(name)")],
        unique=True,
        sqlite_where=sa.text("archived_at IS NULL"),
        postgresql_where=sa.text("archived_at IS NULL"),
    )
"""


def main() -> None:
    target = MIGRATIONS_DIR / "versions" / "0001_initial_schema.py"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite+aiosqlite:///{tmp}/gen.db")
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    text = target.read_text()
    text = text.replace("astext_type=Text()", "astext_type=sa.Text()")
    text = "\n".join(
        line for line in text.splitlines() if "Alembic commands" not in line and "auto generated" not in line
    )
    head, _, tail = text.partition("\n\ndef downgrade()")
    text = head.rstrip() + "\n" + EXPRESSION_INDEXES + "\n\ndef downgrade()" + tail + "\n"
    text = text.replace(
        "def downgrade() -> None:\n",
        'def downgrade() -> None:\n    op.drop_index("uq_clients_tenant_lower_name_live", table_name="clients")\n',
    )
    Path(target).write_text(text)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
