"""Deployment-wide settings that every process (web, worker, CLI) must agree on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, updated_col


class DeploymentSetting(Base):
    """One named value for the whole deployment (not tenant-scoped, like ``scheduler_leases``).

    Environment variables are per process: the CLI run from an admin's shell does not see the
    service's. What the service's readers and the CLI must show alike lives here instead.
    """

    __tablename__ = "deployment_settings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))  # who wrote it: "serve" (its environment) | "cli"
    updated_at: Mapped[datetime] = updated_col()
