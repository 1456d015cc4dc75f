"""The assets list's columns: which exist, which show by default, and each one's CSV value.

One catalogue for the page, its CSV export, saved views and the API, so a column chosen on the
page is the column exported and the column a saved view may name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rmmbridge.errors import ValidationFailed

from .schemas import AssetSummary


def _health_text(a: AssetSummary) -> str:
    h = a.health
    if h is None:
        return ""
    parts = []
    if h.checks_failing:
        parts.append(f"{h.checks_failing} failing")
    if h.checks_warning:
        parts.append(f"{h.checks_warning} warning")
    parts += [word for flag, word in ((h.needs_reboot, "reboot"), (h.patches_pending, "patches"),
                                       (h.maintenance_mode, "maintenance")) if flag]  # fmt: skip
    return "; ".join(parts)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    csv: Callable[[AssetSummary], Any]
    default: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("name", "Name", lambda a: a.name),
    Column("client", "Client", lambda a: a.client_name or ""),
    Column("type", "Type", lambda a: a.asset_type),
    Column("agent", "Agent", lambda a: a.agent_status),
    Column("last_seen", "Last seen", lambda a: a.last_seen_at.isoformat(timespec="seconds") if a.last_seen_at else ""),
    Column("health", "Health", _health_text),
    Column("os", "OS", lambda a: a.os_name or ""),
    Column("user", "User", lambda a: a.current_user or ""),
    Column("ip", "IP", lambda a: a.primary_ip or ""),
    Column("status", "Status", lambda a: a.status),
    Column("serial", "Serial number", lambda a: a.serial_number or "", default=False),
    Column("provider", "RMM", lambda a: a.rmm_provider or "", default=False),
    Column("rmm_device_id", "RMM device id", lambda a: a.rmm_device_id or "", default=False),
    Column("id", "Asset id", lambda a: str(a.id), default=False),
)
BY_KEY = {c.key: c for c in COLUMNS}
KEYS = tuple(BY_KEY)
DEFAULT = tuple(c.key for c in COLUMNS if c.default)
# Always shown (the row's link): a choice without it gets it first.
REQUIRED = "name"
# The export without a column choice: everything the list knows (ids first, for re-import).
FULL_CSV = ("id", "name", "client", "type", "agent", "last_seen", "os", "user", "ip", "serial", "status", "provider",
            "rmm_device_id")  # fmt: skip
# The CSV header of each key, as the export has always named them.
CSV_HEADERS = {"agent": "agent_status", "user": "current_user", "serial": "serial"}


def normalize(keys: Iterable[str], *, strict: bool = True) -> tuple[str, ...]:
    """Known keys in catalogue order, once each, the name first. ``strict``: an unknown key is an
    error naming it (API, saved views); otherwise it is dropped (a hand-edited URL)."""
    chosen = [str(k).strip() for k in keys if str(k).strip()]
    unknown = [k for k in chosen if k not in BY_KEY]
    if unknown and strict:
        raise ValidationFailed(f"unknown column {unknown[0]!r}; the columns are: {', '.join(KEYS)}")
    wanted = set(chosen) | {REQUIRED}
    return tuple(k for k in KEYS if k in wanted)


def csv_header(key: str) -> str:
    return CSV_HEADERS.get(key, key)
