"""An asset's software as shown to people (page and CLI): installed versions grouped by product."""

from __future__ import annotations

import re
import uuid
from typing import Any

from .schemas import SoftwareOut


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: 14.0.3002 before 15.0.1100, 9.1 before 10.0 (numbers compare as numbers)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.\-_ ]", version))


def group_by_product(rows: list[Any]) -> list[dict[str, Any]]:
    """Software rows (ordered with a product's versions together) → one entry per product, newest version
    first, so side-by-side versions show as one product with several versions."""
    products: dict[uuid.UUID, dict[str, Any]] = {}
    for s, name, publisher, _last_seen in rows:
        product = products.setdefault(s.software_id, {"name": name, "publisher": publisher, "versions": []})
        product["versions"].append(s)
    for product in products.values():
        product["versions"].sort(key=lambda s: version_key(s.version), reverse=True)
    return list(products.values())


def software_out(row: Any) -> SoftwareOut:
    """A ``repository.software_query`` row → the API's entry for one installed version."""
    s, name, publisher, last_seen = row
    return SoftwareOut(
        software_id=s.software_id,
        name=name,
        publisher=publisher,
        version=s.version or None,
        install_date=s.install_date,
        size_bytes=s.size_bytes,
        is_current=s.is_current,
        first_seen_at=s.first_seen_at,
        last_seen_at=last_seen,
        uninstalled_at=s.uninstalled_at,
    )
