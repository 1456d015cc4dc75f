"""One-time OAuth authorization attempts (authorization-code grant with PKCE and ``state``).

The ``state`` sent to the RMM carries no trusted data: only its SHA-256 is stored here, with who
started the attempt, for which integration, and the exact ``redirect_uri``. The callback accepts a
row once (``used_at`` set in the accepting transaction), before it expires, for the same user and
tenant. The PKCE verifier lives in the secret store, not here.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_col, id_col, tenant_col


class OAuthAuthorization(Base):
    __tablename__ = "oauth_authorizations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "integration_id"],
            ["rmm_integrations.tenant_id", "rmm_integrations.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("state_digest"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_col()
    id: Mapped[uuid.UUID] = id_col()
    integration_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID | None]
    state_digest: Mapped[str] = mapped_column(String(64))
    instance_url: Mapped[str] = mapped_column(String(500))
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_col()
