"""Roles and the named permissions they grant."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    technician = "technician"
    viewer = "viewer"


class Permission(StrEnum):
    settings_read = "settings:read"
    settings_update = "settings:update"
    assets_read = "assets:read"
    assets_write = "assets:write"
    clients_read = "clients:read"
    clients_write = "clients:write"
    alerts_read = "alerts:read"
    alerts_write = "alerts:write"  # acknowledge, resolve, snooze (resolve and snooze reach the RMM)
    sync_run = "sync:run"
    users_manage = "users:manage"


_READ = {Permission.assets_read, Permission.clients_read, Permission.alerts_read, Permission.settings_read}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.viewer: frozenset(_READ),
    Role.technician: frozenset(
        _READ | {Permission.assets_write, Permission.clients_write, Permission.sync_run, Permission.alerts_write}
    ),
    Role.admin: frozenset(Permission),
}


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}; choose one of {allowed}") from None
