"""The tenant's correlation policy and field-group precedence (defaults when not configured).

Field groups: which asset fields each group holds. For every group the first provider of the
tenant's ordering that feeds the asset wins; a group with no ordered provider takes the most
recently seen source. Defaults (docs/decisions.md): an RMM (Tactical, NinjaOne) before Tanium for
identity (the name the technicians use) and location (client sites), Tanium first for hardware and
OS (its inventory sensors are richer), and vitals/status from the most recent source.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.storage.models import IdentityPolicy

FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "identity": ("name", "asset_type", "serial_number", "hardware_uuid", "domain"),
    "hardware": (
        "manufacturer",
        "model",
        "cpu_model",
        "cpu_cores",
        "cpu_threads",
        "ram_bytes",
        "physical_disks",
        "gpu",
        "volumes",
        "mac_addresses",
    ),
    "os": ("os_name", "os_version", "platform", "architecture", "patches_last_installed_at", "needs_reboot"),
    "vitals": (
        "last_seen_at",
        "offline_after_s",
        "overdue_after_s",
        "offline_at",
        "overdue_at",
        "agent_version",
        "current_user",
        "last_user",
        "boot_time",
        "lan_ips",
        "primary_ip",
        "wan_ip",
    ),
    "location": ("client_id", "rmm_organization_id", "rmm_site_id", "rmm_site_name"),
}
DEFAULT_PRECEDENCE: dict[str, list[str]] = {
    "identity": ["tacticalrmm", "ninjaone", "tanium"],
    "hardware": ["tanium", "ninjaone", "tacticalrmm"],
    "os": ["tanium", "ninjaone", "tacticalrmm"],
    "vitals": [],  # most recent source
    "location": ["tacticalrmm", "ninjaone", "tanium"],
}
MODES = ("auto", "review")
DEFAULT_JUNK_THRESHOLD = 3


@dataclass(frozen=True)
class Policy:
    mode: str = "auto"
    junk_threshold: int = DEFAULT_JUNK_THRESHOLD
    precedence: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_PRECEDENCE.items()}
    )

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "junk_threshold": self.junk_threshold, "precedence": self.precedence}


async def load_policy(session: AsyncSession, tenant_id: uuid.UUID) -> Policy:
    row = await session.get(IdentityPolicy, tenant_id)
    if row is None:
        return Policy()
    precedence = {k: list(v) for k, v in DEFAULT_PRECEDENCE.items()}
    precedence.update({k: list(v) for k, v in (row.precedence or {}).items() if k in FIELD_GROUPS})
    return Policy(mode=row.mode, junk_threshold=row.junk_threshold, precedence=precedence)


async def save_policy(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    mode: str | None = None,
    junk_threshold: int | None = None,
    precedence: dict[str, list[str]] | None = None,
) -> Policy:
    row = await session.get(IdentityPolicy, tenant_id)
    if row is None:
        row = IdentityPolicy(tenant_id=tenant_id, mode="auto", junk_threshold=DEFAULT_JUNK_THRESHOLD, precedence={})
        session.add(row)
    if mode is not None:
        row.mode = mode
    if junk_threshold is not None:
        row.junk_threshold = junk_threshold
    if precedence is not None:
        row.precedence = {k: list(v) for k, v in precedence.items()}
    await session.flush()
    return await load_policy(session, tenant_id)


def compose(sources: list[dict[str, Any]], precedence: dict[str, list[str]]) -> dict[str, Any]:
    """One asset's values from its sources' stored fields.

    ``sources``: [{"provider", "last_seen_at" (ISO or None), "fields": {...}}]. Per group, the first
    source whose provider is earliest in the group's ordering; ties and unordered providers go to
    the most recently seen source.
    """
    if not sources:
        return {}
    out: dict[str, Any] = {}
    recency = sorted(sources, key=lambda s: (s.get("last_seen_at") or "", s.get("mapping_id") or ""), reverse=True)
    for group, names in FIELD_GROUPS.items():
        order = precedence.get(group) or []
        rank = {p: i for i, p in enumerate(order)}
        best = min(recency, key=lambda s: rank.get(s["provider"], len(order)))  # stable: recency breaks ties
        for name in names:
            if name in best["fields"]:
                out[name] = best["fields"][name]
    return out
