"""The mutable state of one running Tanium simulator: fleet, clock, tokens, cursors, faults and modes."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from graphql import DocumentNode

from rmmbridge.simulators.faults import FaultPlan
from rmmbridge.simulators.tanium.cursors import CursorStore
from rmmbridge.simulators.tanium.fleet import TaniumFleet
from rmmbridge.simulators.tanium.tokens import DEFAULT_PERSONA, TokenStore

Clock = Callable[[], datetime]
WalkFault = Literal["short_listing", "repeated_cursor", "null_cursor", "total_drift", "duplicate_eid"]
WALK_FAULTS: tuple[str, ...] = get_args(WalkFault)


@dataclass
class SimModes:
    """Switches for Tanium behaviours that are not per-request HTTP faults (reference §9).

    ``walk_fault`` corrupts ``endpoints`` pages that continue a walk (``after`` set): ``short_listing``
    answers ``hasNextPage:false`` early, ``repeated_cursor`` returns the received cursor as ``endCursor``,
    ``null_cursor`` answers ``hasNextPage:true`` with ``endCursor:null``, ``total_drift`` changes
    ``totalRecords``, ``duplicate_eid`` repeats the previous page's last endpoint. ``walk_fault_times`` limits
    how many pages it hits (``None``: all).
    """

    console_host: Literal["off", "redirect", "html"] = "off"
    gateway_installed: bool = True
    gateway_permission: bool = True  # False: authenticated but no Gateway permission → 401
    asset_installed: bool = True
    asset_permission: bool = True  # False: the persona lacks Asset API rights → 403 on /plugin/products/asset
    discover_installed: bool = True
    last_reboot_sensor_fails: bool = False
    cursor_error_data_null: bool = False  # cursor errors as {"data": null} instead of {"data":{"endpoints":null}}
    page_size_overflow: Literal["clamp", "error"] = "clamp"
    rotate_drops_response: bool = False  # apiTokenRotate rotates, then the response is lost (504)
    walk_fault: WalkFault | None = None
    walk_fault_times: int | None = None
    asset_omit_keys: tuple[str, ...] = ()  # an Asset view without these attributes: rows leave the keys out
    # The Asset listing's envelope: "top" = {"data", "meta"} (what deployed servers and clients use),
    # "response" = {"response": {"data", "meta"}} (the published OpenAPI).
    asset_envelope: Literal["top", "response"] = "top"
    # Optional content solutions (schema.py lists the fields that need them): without one, those fields
    # fail as field errors, and on a non-null field that nulls the whole endpoints page.
    core_content_installed: bool = True
    ad_query_installed: bool = True
    # A field error on this dotted Endpoint field path (e.g. "memory.total", "os.name") for one endpoint
    # of each page that continues a walk; ``field_fault_times`` limits how many pages (None: all).
    field_fault: str | None = None
    field_fault_times: int | None = None
    field_fault_first_pages: bool = False  # also first pages (after: null), e.g. a one-endpoint lookup
    # endpointLastSeen with more than one EID: "error" rejects it, "first" answers only the first EID.
    last_seen_multi: Literal["error", "first"] = "first"

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown mode(s): {', '.join(sorted(unknown))}")
        if "console_host" in changes and changes["console_host"] not in ("off", "redirect", "html"):
            raise ValueError("console_host must be off, redirect or html")
        if "page_size_overflow" in changes and changes["page_size_overflow"] not in ("clamp", "error"):
            raise ValueError("page_size_overflow must be clamp or error")
        if changes.get("walk_fault") not in (None, *WALK_FAULTS):
            raise ValueError(f"walk_fault must be one of {', '.join(WALK_FAULTS)} or null")
        if changes.get("asset_envelope", "top") not in ("top", "response"):
            raise ValueError("asset_envelope must be top or response")
        if changes.get("last_seen_multi", "first") not in ("error", "first"):
            raise ValueError("last_seen_multi must be error or first")
        for key, value in changes.items():
            setattr(self, key, value)

    def installed_content(self) -> frozenset[str]:
        """The optional content solutions installed (names as Tanium's field descriptions give them)."""
        installed = set()
        if self.core_content_installed:
            installed.add("Core Content")
        if self.ad_query_installed:
            installed.add("Core AD Query Content")
        return frozenset(installed)

    def take_field_fault(self) -> str | None:
        if self.field_fault is None:
            return None
        if self.field_fault_times is not None:
            if self.field_fault_times <= 0:
                return None
            self.field_fault_times -= 1
        return self.field_fault

    def take_walk_fault(self) -> WalkFault | None:
        if self.walk_fault is None:
            return None
        if self.walk_fault_times is not None:
            if self.walk_fault_times <= 0:
                return None
            self.walk_fault_times -= 1
        return self.walk_fault


def real_time_from(start: datetime) -> Clock:
    """A clock that starts at ``start`` and advances in real time."""
    origin = time.monotonic()

    def clock() -> datetime:
        return start + timedelta(seconds=time.monotonic() - origin)

    return clock


class TaniumSimulator:
    def __init__(
        self,
        fleet: TaniumFleet,
        *,
        faults: FaultPlan,
        clock: Clock,
        cursor_ttl_s: float,
        max_page_size: int,
    ) -> None:
        self.fleet = fleet
        self.faults = faults
        self.modes = SimModes()
        self.clock = clock
        self.clock_offset = timedelta(0)
        self.cursors = CursorStore(cursor_ttl_s)
        self.max_page_size = max_page_size
        self.tokens = TokenStore(fleet.seed)
        # persona name → management group ids it may see (None: every endpoint)
        self.personas: dict[str, frozenset[str] | None] = {DEFAULT_PERSONA: None}
        self.documents: OrderedDict[str, DocumentNode] = OrderedDict()
        self.requests_served = 0  # API requests (not /_sim/): what rmmbridge cost the server

    def now(self) -> datetime:
        return (self.clock() + self.clock_offset).astimezone(UTC)

    def advance(self, seconds: float) -> datetime:
        self.clock_offset += timedelta(seconds=seconds)
        return self.now()

    def add_persona(self, name: str, group_ids: list[str] | None) -> None:
        self.personas[name] = frozenset(group_ids) if group_ids is not None else None

    def summary(self) -> dict[str, Any]:
        now = self.now()
        fleet = self.fleet
        status: dict[str, int] = {"online": 0, "offline": 0, "overdue": 0, "unknown": 0}
        for ep in fleet.endpoints.values():
            status[fleet.expected_status(ep, now)] += 1
        return {
            "now": now.isoformat().replace("+00:00", "Z"),
            "clock_offset_s": self.clock_offset.total_seconds(),
            "requests_served": self.requests_served,
            "seed": fleet.seed,
            "endpoints": len(fleet.endpoints),
            "aged_out": len(fleet.aged_out),
            "asset_only": len(fleet.asset_only),
            "assets": len(fleet.assets),
            "status": status,
            "groups": [
                {"id": g.id, "name": g.name, "type": g.type, "members": len(fleet.group_members(g.id))}
                for g in fleet.groups.values()
            ],
            "overlapping_endpoints": len(fleet.overlapping_endpoints()),
            "tokens": [
                {
                    "id": t.id,
                    "token": t.token_string,
                    "expiration": t.expiration.isoformat().replace("+00:00", "Z"),
                    "revoked": t.revoked,
                    "persona": t.persona,
                    "trusted_ips": t.trusted_ips,
                }
                for t in self.tokens
            ],
            "personas": {k: (sorted(v) if v is not None else None) for k, v in self.personas.items()},
            "open_collections": len(self.cursors),
            "cursor_ttl_s": self.cursors.ttl.total_seconds(),
            "cursor_max_lifetime_s": self.cursors.max_lifetime.total_seconds(),
            "max_page_size": self.max_page_size,
            "modes": asdict(self.modes),
            "faults": [asdict(f) for f in self.faults.faults],
        }
