"""UI: saving, opening, renaming, overwriting and deleting saved views of the assets list.

Every form posts and redirects (post/redirect/get); the view's state travels as the list's own
query string (``query``), so what is saved is exactly what the page showed."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from rmmbridge.errors import AppError
from rmmbridge.storage.models import SavedView
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.deps import DB
from rmmbridge.web.ui.deps import Form, UiAuth, ui_ctx

from . import columns, saved_views

router = APIRouter(include_in_schema=False)


def view_url(view: SavedView, **extra: str) -> str:
    """The assets list showing ``view`` (its filters, its columns, the picker on it)."""
    params: list[tuple[str, str]] = list(view.filters.items())
    params += [("col", key) for key in view.columns]
    params += [("view", str(view.id)), *extra.items()]
    return "/assets?" + urlencode(params)


def parse_query(query: str) -> tuple[dict[str, str], list[str] | None]:
    """The filters and the chosen columns (None: the defaults) of a list URL's query string."""
    raw = parse_qs(query.lstrip("?"), keep_blank_values=False)
    chosen = raw.pop("col", None)
    filters = {k: v[-1] for k, v in raw.items() if k in saved_views.FILTER_KEYS}
    return filters, list(columns.normalize(chosen, strict=False)) if chosen else None


def _back(query: str, **params: str) -> Response:
    """Back to the list as it was (its query string kept), with a message."""
    kept = [(k, v) for k, vs in parse_qs(query.lstrip("?")).items() for v in vs
            if k not in ("ok", "error", "view_error", "view_name", "page")]  # fmt: skip
    return RedirectResponse("/assets?" + urlencode(kept + list(params.items())), status_code=303)


@router.get("/assets/views/open")
async def open_view(db: DB, auth: UiAuth, view_id: str = "") -> Response:
    """The picker's target: the list with the chosen view applied (a GET, so it is bookmarkable)."""
    ctx = ui_ctx(auth, Permission.assets_read)
    try:
        view = await saved_views.get_view(db, ctx, uuid.UUID(view_id))
    except (ValueError, AppError):
        return _back("", error="Choose one of your saved views.")
    return RedirectResponse(view_url(view), status_code=303)


@router.post("/assets/views")
async def save_view(db: DB, auth: UiAuth, form: Form) -> Response:
    """Save the current view under a name (or overwrite your view of that name when ticked)."""
    ctx = ui_ctx(auth, Permission.assets_read)
    query = str(form.get("query") or "")
    name = str(form.get("name") or "")
    filters, chosen = parse_query(query)
    try:
        view, created = await saved_views.create_view(
            db, ctx, name, filters, chosen, overwrite=form.get("overwrite") in ("true", "on", "1")
        )
    except AppError as exc:
        await db.rollback()
        return _back(query, view_error=_sentence(exc.detail), view_name=name[:200])
    verb = "Saved" if created else "Overwrote"
    return RedirectResponse(view_url(view, ok=f"{verb} the view “{view.name}”."), status_code=303)


@router.post("/assets/views/{view_id}/rename")
async def rename_view(db: DB, auth: UiAuth, form: Form, view_id: uuid.UUID) -> Response:
    ctx = ui_ctx(auth, Permission.assets_read)
    query = str(form.get("query") or "")
    try:
        view = await saved_views.update_view(db, ctx, view_id, name=str(form.get("name") or ""))
    except AppError as exc:
        await db.rollback()
        return _back(query, error=f"Not renamed: {exc.detail}.")
    return _back(query, ok=f"Renamed the view to “{view.name}”.")


@router.post("/assets/views/{view_id}/overwrite")
async def overwrite_view(db: DB, auth: UiAuth, form: Form, view_id: uuid.UUID) -> Response:
    """Replace a view's filters and columns with the list as it is shown now."""
    ctx = ui_ctx(auth, Permission.assets_read)
    query = str(form.get("query") or "")
    filters, chosen = parse_query(query)
    try:
        view = await saved_views.update_view(
            db, ctx, view_id, filters=filters, columns=chosen or list(columns.DEFAULT)
        )
    except AppError as exc:
        await db.rollback()
        return _back(query, error=f"Not saved: {exc.detail}.")
    return RedirectResponse(view_url(view, ok=f"The view “{view.name}” now shows this list."), status_code=303)


@router.post("/assets/views/{view_id}/delete")
async def delete_view(db: DB, auth: UiAuth, form: Form, view_id: uuid.UUID) -> Response:
    ctx = ui_ctx(auth, Permission.assets_read)
    query = str(form.get("query") or "")
    try:
        name = await saved_views.delete_view(db, ctx, view_id)
    except AppError as exc:
        await db.rollback()
        return _back(query, error=f"Not deleted: {exc.detail}.")
    kept = "&".join(p for p in query.lstrip("?").split("&") if not p.startswith("view="))
    return _back(kept, ok=f"Deleted the view “{name}”.")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
