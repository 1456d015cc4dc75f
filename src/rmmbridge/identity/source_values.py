"""A source's own values (``asset_sources.fields``) exist only while its asset has several sources.

An asset fed by one device *is* that device's values, so the pipeline stores no copy for it (the
copy was a JSON document per device, the widest write of a first sync). The values are written
as soon as a second source joins: the pipeline fills the existing source from the asset row it
has already read (``Correlator.fill``), and merges fill both assets' lone sources from their rows
(:func:`materialize`) before moving anything. Readers of a lone source fall back on its asset.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.storage.models import Asset, AssetSource, ServerAsset, WorkstationAsset
from rmmbridge.storage.models.base import table_of

# The asset columns a source's values hold (the pipeline's synced core columns), and extensions.
CORE_VALUES = (
    "name",
    "asset_type",
    "serial_number",
    "client_id",
    "rmm_organization_id",
    "rmm_site_id",
    "rmm_site_name",
    "last_seen_at",
    "offline_after_s",
    "overdue_after_s",
    "offline_at",
    "overdue_at",
)
_EXTENSIONS = (table_of(WorkstationAsset), table_of(ServerAsset))
EXT_VALUES = tuple(c.name for c in _EXTENSIONS[0].columns if c.name not in ("tenant_id", "asset_id", "updated_at"))


def has_values(fields: dict[str, Any] | None) -> bool:
    """Whether a stored source carries its own values (``_keys`` alone does not)."""
    return bool(fields) and "name" in fields  # type: ignore[operator]


def as_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def values_of(core: dict[str, Any], ext: dict[str, Any]) -> dict[str, Any]:
    """A source's values (JSON) from an asset's core and extension values."""
    out = {k: as_json(core.get(k)) for k in CORE_VALUES}
    out.update({k: as_json(ext.get(k)) for k in EXT_VALUES})
    return out


async def materialize(session: AsyncSession, tenant_id: uuid.UUID, asset_ids: list[uuid.UUID]) -> int:
    """Write the values of these assets' sources that have none, from their asset (by the rule
    above such a source is its asset's only one). Returns how many were filled."""
    s = AssetSource
    lone = [
        (mapping_id, asset_id, fields or {})
        for mapping_id, asset_id, fields in await session.execute(
            select(s.mapping_id, s.asset_id, s.fields).where(s.tenant_id == tenant_id, s.asset_id.in_(asset_ids))
        )
        if not has_values(fields)
    ]
    if not lone:
        return 0
    ids = list({a for _m, a, _f in lone})
    a = table_of(Asset)
    cores = {
        row[0]: dict(zip(CORE_VALUES, row[1:], strict=True))
        for row in await session.execute(
            select(a.c.id, *(a.c[k] for k in CORE_VALUES)).where(a.c.tenant_id == tenant_id, a.c.id.in_(ids))
        )
    }
    exts: dict[uuid.UUID, dict[str, Any]] = {}
    for table in _EXTENSIONS:
        for row in await session.execute(
            select(table.c.asset_id, *(table.c[k] for k in EXT_VALUES)).where(
                table.c.tenant_id == tenant_id, table.c.asset_id.in_(ids)
            )
        ):
            exts[row[0]] = dict(zip(EXT_VALUES, row[1:], strict=True))
    for mapping_id, asset_id, fields in lone:
        if asset_id not in cores:
            continue
        await session.execute(
            update(s)
            .where(s.tenant_id == tenant_id, s.mapping_id == mapping_id)
            .values(fields={**fields, **values_of(cores[asset_id], exts.get(asset_id, {}))})
            .execution_options(synchronize_session=False)
        )
    return len(lone)


__all__ = ["CORE_VALUES", "EXT_VALUES", "as_json", "has_values", "materialize", "values_of"]
