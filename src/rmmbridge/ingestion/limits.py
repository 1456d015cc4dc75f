"""Remote device and alert values against the columns they land in (issue #14 item 2).

A value longer than its column fails the write on PostgreSQL (``value too long``) and is stored
whole on SQLite, so every length the schema imposes is checked here, before the page's
transaction, the same way on both databases. Per field:

- identity (``external_id``, ``external_ref``, ``realm_id``, ``site_id``) and structured values
  that are wrong when cut (``hardware_uuid``, ``primary_ip``, ``wan_ip``): the record is an
  :class:`InvalidRecord` — skipped and counted with the cause, which makes the run partial, so
  nothing is marked missing because of it;
- free text (names, versions, users, models …): cut to the column, as a reader loses nothing
  that fits on a screen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column

from rmmbridge.providers.base import AlertEvent, DeviceSnapshot, InvalidRecord
from rmmbridge.storage.models import Asset, ExternalEntityMapping, RmmAlert, WorkstationAsset
from rmmbridge.storage.models.base import table_of

_ASSETS = table_of(Asset).c
_MAPPINGS = table_of(ExternalEntityMapping).c
_EXTENSIONS = table_of(WorkstationAsset).c  # servers share the extension columns

_EXTENSION_TEXT = (
    "manufacturer", "model", "os_name", "os_version", "platform", "architecture", "cpu_model",
    "gpu", "domain", "agent_version", "current_user", "last_user",
)  # fmt: skip

IDENTITY: dict[str, Column[str]] = {
    "external_id": _MAPPINGS.external_id,
    "external_ref": _MAPPINGS.external_ref,
    "realm_id": _MAPPINGS.realm_id,
    "site_id": _MAPPINGS.site_id,
    "hardware_uuid": _EXTENSIONS.hardware_uuid,
    "primary_ip": _EXTENSIONS.primary_ip,
    "wan_ip": _EXTENSIONS.wan_ip,
}
FREE_TEXT: dict[str, Column[str]] = {
    "name": _ASSETS.name,
    "serial_number": _ASSETS.serial_number,
    "site_name": _ASSETS.rmm_site_name,
    **{name: _EXTENSIONS[name] for name in _EXTENSION_TEXT},
}


def _limit(column: Column[str]) -> int:
    length = getattr(column.type, "length", None)
    assert length, column  # only bounded columns are listed
    return int(length)


_IDENTITY_LIMITS = {name: _limit(col) for name, col in IDENTITY.items()}
_TEXT_LIMITS = {name: _limit(col) for name, col in FREE_TEXT.items()}


def fit_snapshot(snapshot: DeviceSnapshot) -> DeviceSnapshot:
    """``snapshot`` with free text cut to its columns; :class:`InvalidRecord` when an identity or
    structured value is longer than its column."""
    for name, limit in _IDENTITY_LIMITS.items():
        value = getattr(snapshot, name)
        if isinstance(value, str) and len(value) > limit:
            shown = snapshot.external_id if name != "external_id" else snapshot.external_id[:40] + "…"
            raise InvalidRecord(shown, f"{name} is longer than {limit} characters ({len(value)})")
    cut: dict[str, Any] = {  # field names vary: typed as the dataclass's own fields
        name: value[:limit]
        for name, limit in _TEXT_LIMITS.items()
        if isinstance(value := getattr(snapshot, name), str) and len(value) > limit
    }
    return dataclasses.replace(snapshot, **cut) if cut else snapshot


def fit_snapshots(snapshots: Iterable[DeviceSnapshot]) -> tuple[list[DeviceSnapshot], list[InvalidRecord]]:
    """Every snapshot fitted, and the records that cannot be stored."""
    fitted: list[DeviceSnapshot] = []
    invalid: list[InvalidRecord] = []
    for snapshot in snapshots:
        try:
            fitted.append(fit_snapshot(snapshot))
        except InvalidRecord as exc:
            invalid.append(exc)
    return fitted, invalid


_ALERTS = table_of(RmmAlert).c
_ALERT_IDS = {
    "external_alert_id": _limit(_ALERTS.external_alert_id),
    "external_device_id": _limit(_ALERTS.external_device_id),
}
_ALERT_TYPE = _limit(_ALERTS.alert_type)


def fit_alert(event: AlertEvent) -> AlertEvent:
    """The same rule for alerts, webhook and poll alike: ids longer than their columns are an
    :class:`InvalidRecord`; the alert type (free text) is cut to its column."""
    for name, limit in _ALERT_IDS.items():
        value = getattr(event, name)
        if isinstance(value, str) and len(value) > limit:
            raise InvalidRecord(None, f"{name} is longer than {limit} characters ({len(value)})")
    if event.alert_type is not None and len(event.alert_type) > _ALERT_TYPE:
        return dataclasses.replace(event, alert_type=event.alert_type[:_ALERT_TYPE])
    return event
