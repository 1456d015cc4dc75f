"""The service's public base URL: one value in the database that every reader uses.

``RMMBRIDGE_BASE_URL`` is an environment variable of the *service*; the CLI, run from an admin's
shell, does not see it. So ``serve`` publishes it to ``deployment_settings`` when it starts, an
admin may set it with ``rmmbridge config set-base-url``, and the UI, the REST API and the CLI
all read it through :func:`current` — the webhook URL is built in one place
(:meth:`PublicUrl.webhook`).

Precedence (docs/decisions.md): the stored value wins everywhere, also over an
``RMMBRIDGE_BASE_URL`` in the CLI's own environment (the CLI then warns that they differ); the
process's own setting is only the fallback while nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.config import Settings
from rmmbridge.kit.time import utcnow
from rmmbridge.kit.urls import check_public_base_url
from rmmbridge.state import AppState
from rmmbridge.storage.db import dialect_insert, unit_of_work
from rmmbridge.storage.models import DeploymentSetting
from rmmbridge.storage.models.base import table_of

NAME = "public_base_url"
Source = Literal["serve", "cli", "environment", "default"]


@dataclass(frozen=True)
class PublicUrl:
    base: str  # no trailing "/"
    # serve / cli: stored by the service at start or by an admin; environment / default: nothing
    # stored yet, this process's own RMMBRIDGE_BASE_URL or the built-in default.
    source: Source

    @property
    def stored(self) -> bool:
        return self.source in ("serve", "cli")

    def webhook(self, provider: str) -> str:
        return f"{self.base}/api/webhooks/{provider}"


async def current(session: AsyncSession, settings: Settings) -> PublicUrl:
    """The public base URL every reader shows (one primary-key read); ``settings``: this process's."""
    query = select(DeploymentSetting.value, DeploymentSetting.source).where(DeploymentSetting.name == NAME)
    row = (await session.execute(query)).first()
    if row is not None:
        return PublicUrl(row.value, "cli" if row.source == "cli" else "serve")
    explicit = "base_url" in settings.model_fields_set
    return PublicUrl(settings.base_url, "environment" if explicit else "default")


async def store(session: AsyncSession, url: str, source: Literal["serve", "cli"]) -> str:
    """Set the stored value (validated); concurrent starts of several web processes just agree."""
    value = check_public_base_url(url)
    stmt = dialect_insert(session)(table_of(DeploymentSetting)).values(
        name=NAME, value=value, source=source, updated_at=utcnow()
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"value": stmt.excluded.value, "source": stmt.excluded.source, "updated_at": stmt.excluded.updated_at},
        )
    )
    return value


async def publish_from_settings(state: AppState) -> bool:
    """At service start: store this process's ``RMMBRIDGE_BASE_URL`` if the operator set it.

    The built-in default is never published: it would overwrite a value an admin set with
    ``rmmbridge config set-base-url`` on a deployment that does not set the variable.
    """
    if "base_url" not in state.settings.model_fields_set:
        return False
    async with unit_of_work(state.sessionmaker) as session:
        await store(session, state.settings.base_url, "serve")
    return True
