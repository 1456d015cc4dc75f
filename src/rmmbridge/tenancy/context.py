"""``TenantContext``: the only key to tenant data.

Every repository function takes a context and filters by ``ctx.tenant_id``. Only the auth layer
(:mod:`rmmbridge.tenancy.auth`) can create one: construction needs a private gate object, so a
feature cannot conjure access to another tenant's rows by accident.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from rmmbridge.errors import Forbidden

from .permissions import ROLE_PERMISSIONS, Permission, Role

_GATE = object()


@dataclass(frozen=True, slots=True)
class TenantContext:
    tenant_id: uuid.UUID
    role: Role
    actor: str  # "user:<id>", "token:<id>", "system:<what>"
    user_id: uuid.UUID | None = None
    email: str | None = None
    _gate: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._gate is not _GATE:
            raise RuntimeError("TenantContext is created by rmmbridge.tenancy.auth only")

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"your role ({self.role.value}) lacks the permission '{permission.value}'")


def _issue(
    tenant_id: uuid.UUID, role: Role, actor: str, user_id: uuid.UUID | None = None, email: str | None = None
) -> TenantContext:
    return TenantContext(tenant_id=tenant_id, role=role, actor=actor, user_id=user_id, email=email, _gate=_GATE)
