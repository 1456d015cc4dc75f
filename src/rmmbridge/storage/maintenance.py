"""Keeping PostgreSQL's planner informed while a sync loads many rows.

Foreign-key checks and lookups on a freshly loaded table are planned from its statistics; a
table that grew from empty to thousands of rows inside one sync still looks empty to the planner,
whose plans then scan the table for every inserted row (quadratic time). ``GrowthAnalyzer``
runs ``ANALYZE`` (with a small sample) on the growing tables each time the rows created in a run
quadruple, which costs a few tens of milliseconds per call and keeps every lookup an index lookup.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.storage.db import is_postgres

DEVICE_TABLES = (
    "assets",
    "external_entity_mappings",
    "workstation_assets",
    "server_assets",
    "asset_history",
    "asset_liveness",
    "asset_sources",
    "identity_evidence",
)
SAMPLE_TARGET = 10  # ANALYZE samples 300 × this many rows per table
SOFTWARE_TABLES = ("software_catalog", "asset_software", "asset_software_inventories")


class GrowthAnalyzer:
    def __init__(self, tables: tuple[str, ...] = DEVICE_TABLES, first_at: int = 500) -> None:
        self.tables = tables
        self.next_at = first_at
        self.created = 0

    async def after_page(self, session: AsyncSession, created: int) -> bool:
        """Count rows created; ANALYZE (PostgreSQL only) when the total crossed the next threshold."""
        self.created += created
        if self.created < self.next_at or not is_postgres(session):
            return False
        while self.next_at <= self.created:
            self.next_at *= 4
        # A small sample (3,000 rows a table, not 30,000): what the planner needs here is the
        # tables' size and the keys' selectivity, both unique-ish; autovacuum's own ANALYZE later
        # refines the statistics with the full sample. SET LOCAL: this transaction only.
        await session.execute(text(f"SET LOCAL default_statistics_target = {SAMPLE_TARGET}"))
        await session.execute(text("ANALYZE " + ", ".join(self.tables)))
        return True
