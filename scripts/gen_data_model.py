"""Write the data-model diagram of docs/architecture.md from the SQLAlchemy metadata.

The diagram is Mermaid (`erDiagram`), which GitHub renders. It sits between the
``<!-- data-model:begin -->`` and ``<!-- data-model:end -->`` markers; run this after changing the
models (tests/docs/test_data_model.py fails while the committed diagram differs from the models):

    PYTHONPATH=$PWD/src .venv/bin/python scripts/gen_data_model.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import ForeignKeyConstraint, MetaData, Table

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
BEGIN, END = "<!-- data-model:begin -->", "<!-- data-model:end -->"


def _key_columns(table: Table) -> list[set[str]]:
    """Column sets that identify one row: the primary key and each unique constraint or index."""
    keys = [{c.name for c in table.primary_key.columns}]
    keys += [{c.name for c in con.columns} for con in table.constraints if con.__class__.__name__ == "UniqueConstraint"]
    # a partial unique index (WHERE …) does not make the key unique over all rows
    keys += [
        {c.name for c in ix.columns}
        for ix in table.indexes
        if ix.unique and ix.dialect_options["sqlite"].get("where") is None
    ]
    return [k for k in keys if k]


def _relationship(table: Table, fk: ForeignKeyConstraint) -> str:
    cols = {c.name for c in fk.columns}
    one_to_one = any(key <= cols for key in _key_columns(table))
    optional = any(c.nullable for c in fk.columns)
    parent = fk.referred_table.name
    left = "|o" if optional else "||"
    right = "o|" if one_to_one else "o{"
    label = ", ".join(c.name for c in fk.columns if c.name != "tenant_id") or "tenant_id"
    return f'    {parent} {left}--{right} {table.name} : "{label}"'


def render(metadata: MetaData) -> str:
    lines = ["```mermaid", "erDiagram"]
    tables = sorted(metadata.tables.values(), key=lambda t: t.name)
    for table in tables:
        fk_cols = {c.name for fk in table.foreign_key_constraints for c in fk.columns}
        lines.append(f"    {table.name} {{")
        for col in table.columns:
            marks = [m for m, on in (("PK", col.primary_key), ("FK", col.name in fk_cols)) if on]
            kind = type(col.type).__name__.lower()
            lines.append(f"        {kind} {col.name}{' ' + ','.join(marks) if marks else ''}")
        lines.append("    }")
    for table in tables:
        rels = [_relationship(table, fk) for fk in table.foreign_key_constraints]
        lines += sorted(rels)
    lines.append("```")
    return "\n".join(lines)


def current_block() -> str:
    from rmmbridge.storage.models import Base

    return f"{BEGIN}\n{render(Base.metadata)}\n{END}"


def main() -> int:
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + current_block() + tail)
    print(f"wrote the data model ({DOC.relative_to(Path.cwd()) if DOC.is_relative_to(Path.cwd()) else DOC})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
