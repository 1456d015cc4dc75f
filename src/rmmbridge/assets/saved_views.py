"""Saved views of the assets list: a user's named filters and columns (validated, private per user)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.errors import Conflict, Forbidden, NotFound, ValidationFailed
from rmmbridge.storage.models import SavedView
from rmmbridge.tenancy.context import TenantContext

from . import columns as cols
from .repository import SORTS
from .status import COUNT_BUCKETS

NAME_MAX = 100
MAX_VIEWS = 100  # per user: a picker, not a store
FLAG_KEYS = ("needs_reboot", "failing_checks", "patches_pending", "maintenance_mode")
CHOICES: dict[str, tuple[str, ...]] = {
    "asset_type": ("workstation", "server"),
    "agent_status": tuple(COUNT_BUCKETS),
    "status": ("active", "inactive", "retired"),
    "sort": tuple(SORTS),
    "order": ("asc", "desc"),
    **{k: ("true", "false") for k in FLAG_KEYS},
}
UUID_KEYS = ("client_id", "integration_id")
TEXT_LIMITS = {"q": 200, "provider": 40}
FILTER_KEYS = (*UUID_KEYS, "provider", "asset_type", "agent_status", "status", "q", *FLAG_KEYS, "sort", "order")


def normalize_filters(raw: Mapping[str, Any]) -> dict[str, str]:
    """The list's query parameters a view may hold, as strings; empty values dropped. Anything
    unknown or out of range is refused with the parameter and the reason."""
    out: dict[str, str] = {}
    for key, value in raw.items():
        if key not in FILTER_KEYS:
            raise ValidationFailed(f"unknown filter {key!r}; the filters are: {', '.join(FILTER_KEYS)}")
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValidationFailed(f"filter {key!r} takes a text value")
        text = str(value).strip()
        if not text:
            continue
        if "\x00" in text:
            raise ValidationFailed(f"filter {key!r} contains a NUL character")
        if key in UUID_KEYS:
            try:
                text = str(uuid.UUID(text))
            except ValueError:
                raise ValidationFailed(f"filter {key!r} must be an id (UUID), not {text[:40]!r}") from None
        elif key in CHOICES:
            if text not in CHOICES[key]:
                raise ValidationFailed(f"filter {key!r} must be one of: {', '.join(CHOICES[key])}")
        elif len(text) > TEXT_LIMITS[key]:
            raise ValidationFailed(f"filter {key!r} is at most {TEXT_LIMITS[key]} characters")
        out[key] = text
    # The defaults are not stored: a view equal to the plain list stays the plain list.
    if out.get("sort") == "name":
        out.pop("sort")
    if out.get("order") == "asc":
        out.pop("order")
    return out


def normalize_name(raw: str) -> str:
    text = str(raw or "")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text):
        raise ValidationFailed("a view's name cannot contain control characters")
    name = " ".join(text.split())
    if not name:
        raise ValidationFailed("a view needs a name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"a view's name is at most {NAME_MAX} characters")
    return name


def _owner(ctx: TenantContext) -> uuid.UUID:
    if ctx.user_id is None:
        raise Forbidden("saved views belong to a user; system contexts have none")
    return ctx.user_id


async def list_views(db: AsyncSession, ctx: TenantContext) -> list[SavedView]:
    user = _owner(ctx)
    rows = await db.scalars(
        select(SavedView)
        .where(SavedView.tenant_id == ctx.tenant_id, SavedView.user_id == user)
        .order_by(func.lower(SavedView.name), SavedView.id)
    )
    return list(rows)


async def get_view(db: AsyncSession, ctx: TenantContext, view_id: uuid.UUID) -> SavedView:
    """The caller's own view; another user's or tenant's is not found (its existence is not told)."""
    row = await db.get(SavedView, (ctx.tenant_id, view_id))
    if row is None or row.user_id != _owner(ctx):
        raise NotFound("no such saved view")
    return row


async def _name_taken(
    db: AsyncSession, ctx: TenantContext, name: str, but: uuid.UUID | None = None
) -> SavedView | None:
    row = await db.scalar(
        select(SavedView).where(
            SavedView.tenant_id == ctx.tenant_id, SavedView.user_id == _owner(ctx), SavedView.name == name
        )
    )
    return row if row is not None and row.id != but else None


async def _flush(db: AsyncSession, name: str) -> None:
    try:
        await db.flush()
    except IntegrityError:
        # A concurrent save of the same name won the race.
        raise Conflict(f"you already have a view named {name!r}") from None


async def create_view(
    db: AsyncSession, ctx: TenantContext, name: str, filters: Mapping[str, Any], columns: list[str] | None,
    *, overwrite: bool = False,
) -> tuple[SavedView, bool]:
    """A new view, or with ``overwrite`` the same-named one replaced; returns (view, created)."""
    user = _owner(ctx)
    name = normalize_name(name)
    clean = normalize_filters(filters)
    shown = list(cols.normalize(columns or cols.DEFAULT))
    existing = await _name_taken(db, ctx, name)
    if existing is not None:
        if not overwrite:
            raise Conflict(f"you already have a view named {name!r}; choose another name or overwrite it")
        existing.filters, existing.columns = clean, shown
        await db.flush()
        return existing, False
    count = await db.scalar(
        select(func.count()).where(SavedView.tenant_id == ctx.tenant_id, SavedView.user_id == user)
    )
    if (count or 0) >= MAX_VIEWS:
        raise Conflict(f"you have {MAX_VIEWS} saved views, the most there can be; delete one first")
    row = SavedView(tenant_id=ctx.tenant_id, user_id=user, name=name, filters=clean, columns=shown)
    db.add(row)
    await _flush(db, name)
    return row, True


async def update_view(
    db: AsyncSession, ctx: TenantContext, view_id: uuid.UUID, *, name: str | None = None,
    filters: Mapping[str, Any] | None = None, columns: list[str] | None = None,
) -> SavedView:
    """Rename and/or overwrite a view's filters or columns (what is ``None`` stays)."""
    row = await get_view(db, ctx, view_id)
    if name is not None:
        clean_name = normalize_name(name)
        if await _name_taken(db, ctx, clean_name, but=row.id) is not None:
            raise Conflict(f"you already have a view named {clean_name!r}")
        row.name = clean_name
    if filters is not None:
        row.filters = normalize_filters(filters)
    if columns is not None:
        row.columns = list(cols.normalize(columns))
    await _flush(db, row.name)
    return row


async def delete_view(db: AsyncSession, ctx: TenantContext, view_id: uuid.UUID) -> str:
    row = await get_view(db, ctx, view_id)
    await db.delete(row)
    await db.flush()
    return row.name


async def tenant_views(
    db: AsyncSession, ctx: TenantContext, user_id: uuid.UUID | None = None
) -> list[tuple[SavedView, str]]:
    """Every user's views with the owner's e-mail (the operator's listing: ``rmmbridge assets views
    list``); only a system context may read other users' views."""
    from rmmbridge.storage.models import User

    if ctx.user_id is not None and user_id != ctx.user_id:
        raise Forbidden("only the operator may list other users' saved views")
    query = (
        select(SavedView, User.email)
        .join(User, (User.tenant_id == SavedView.tenant_id) & (User.id == SavedView.user_id))
        .where(SavedView.tenant_id == ctx.tenant_id)
        .order_by(User.email, func.lower(SavedView.name), SavedView.id)
    )
    if user_id is not None:
        query = query.where(SavedView.user_id == user_id)
    return [(view, email) for view, email in (await db.execute(query)).all()]
