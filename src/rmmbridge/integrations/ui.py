"""UI: Settings → Integrations (the "RMM" tab) and each provider's settings page.

Everything here goes through the same services as the REST API (``service``, ``mappings``,
``webhooks``, ``sync.service``); the page only arranges what the provider registry declares. The
credentials form is generated from the provider's config model (see :func:`form_spec`), and every
action is a plain POST form, so the page works without JavaScript; ``app.js`` adds live progress,
copy buttons, the auth-mode switch and confirmations.
"""

from __future__ import annotations

import types
import typing
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.assets import repository as assets_repo
from rmmbridge.clients import repository as clients_repo
from rmmbridge.deployment import public_url
from rmmbridge.errors import AppError, NotFound, ValidationFailed
from rmmbridge.kit.form_errors import field_errors
from rmmbridge.kit.time import ensure_utc, utcnow
from rmmbridge.providers.base import KIND_CAPABILITY, Capability, Provider, ProviderConfig
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import RmmAlert, RmmIntegration, RmmOrganizationMapping, SyncRun, WebhookDelivery
from rmmbridge.storage.models.sync import ACTIVE_RUN_STATUSES
from rmmbridge.sync.schedules import schedule_views, update_schedule
from rmmbridge.sync.service import request_sync
from rmmbridge.tenancy.auth import SessionAuth
from rmmbridge.tenancy.permissions import Permission
from rmmbridge.web.api.pagination import PageParams, paginate
from rmmbridge.web.deps import DB, State
from rmmbridge.web.ui import once
from rmmbridge.web.ui.deps import Form, UiAuth, ui_ctx
from rmmbridge.web.ui.render import redirect, render

from . import bulk_mapping, mappings, provisioning, repository, service, webhook_secrets
from .schemas import CredentialsIn, IntegrationCreate, IntegrationUpdate, MappingUpdate
from .settings import SCHEDULE_KINDS, format_interval, parse_interval
from .views import mapping_out, webhook_info

router = APIRouter(include_in_schema=False)
BASE = "/settings/integrations"
MAPPINGS_PER_PAGE = 50
HISTORY_ROWS = 15
REJECTED_ROWS = 10
MAX_PICKED_TEMPLATES = 200  # as the API's ProvisionIn

# The sync actions in the order they are offered, with their button labels.
SYNC_ACTIONS: tuple[tuple[str, str], ...] = (
    ("scopes", "Sync {scopes}"),
    ("devices", "Sync devices"),
    ("alerts", "Sync alerts"),
    ("software", "Ingest software"),
)
KIND_LABELS = {
    "scopes": "{scopes}",
    "devices": "Devices",
    "alerts": "Alerts",
    "software": "Software",
    "agent": "Device refresh",
    "liveness": "Live status",
}
CAPABILITY_LABELS = {
    Capability.connection_test: "Connection test",
    Capability.scope_sync: "Organization sync",
    Capability.device_sync: "Device sync",
    Capability.incremental_device_sync: "Incremental device sync",
    Capability.device_refresh: "Single-device refresh",
    Capability.alert_webhook: "Alert webhooks",
    Capability.alert_polling: "Alert polling",
    Capability.software_inventory: "Software inventory",
    Capability.liveness: "Live status",
    Capability.alert_actions: "Resolve alerts in the RMM",
    Capability.webhook_provisioning: "One-click webhook set-up",
}
AUTH_MODE_LABELS = {
    "api_key": "API key",
    "password": "User name and password",
    "token": "API token",
    "oauth": "OAuth",
    "client_credentials": "OAuth client credentials",
    "authorization_code": "Sign in with the RMM (OAuth authorization code)",
    "default": "Default",
}
_ACRONYMS = {"api": "API", "url": "URL", "id": "ID", "totp": "TOTP", "ip": "IP", "oauth": "OAuth", "ssl": "SSL"}


# --------------------------------------------------------------------------- small helpers


def humanize(name: str) -> str:
    words = [_ACRONYMS.get(w.lower(), w) for w in name.replace("-", "_").split("_") if w]
    if not words:
        return name
    first = words[0] if words[0].isupper() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def mode_label(mode: str) -> str:
    return AUTH_MODE_LABELS.get(mode, humanize(mode))


def monogram(name: str) -> str:
    """Two letters for the provider tile: initials, the capitals of one CamelCase word, or its start."""
    words = [w for w in name.split() if w and w[0].isalnum()]
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    word = words[0] if words else name
    capitals = [c for c in word if c.isupper()]
    if len(capitals) >= 2:
        return "".join(capitals[:2])
    return word[:2].title()


def plural(label: str) -> str:
    low = label.lower()
    return low if low.endswith("s") else low + "s"


def status_of(row: RmmIntegration | None) -> tuple[str, str]:
    """The card badge: not configured / connected / needs attention / disconnected."""
    if row is None or row.state == "not_configured":
        return "not_configured", "Not configured"
    if row.state == "disconnected":
        return "disconnected", "Disconnected"
    if row.state == "connected" and row.is_active:
        for entry in (row.sync_status or {}).values():
            error, success = entry.get("last_error_at"), entry.get("last_success_at")
            if error and (not success or error > success):
                return "needs_attention", "Needs attention"
        return "connected", "Connected"
    return "needs_attention", "Needs attention"


def last_success(row: RmmIntegration | None) -> datetime | None:
    from rmmbridge.kit.time import parse_iso

    if row is None:
        return None
    stamps = [parse_iso(v.get("last_success_at")) for v in (row.sync_status or {}).values()]
    found = [s for s in stamps if s is not None]
    return max(found) if found else None


EXPIRY_WARNING_DAYS = 3


def expires_in_days(row: RmmIntegration | None) -> float | None:
    """Days until the stored credentials expire (negative: expired), when the provider said."""
    expires = ensure_utc(row.credentials_expire_at) if row is not None and row.is_active else None
    return (expires - utcnow()).total_seconds() / 86400 if expires is not None else None


def run_percent(run: SyncRun | dict[str, Any]) -> int | None:
    """Progress of a run in percent, or ``None`` when the run cannot say (indeterminate)."""
    status = run["status"] if isinstance(run, dict) else run.status
    progress = (run["progress"] if isinstance(run, dict) else run.progress) or {}
    if status not in ACTIVE_RUN_STATUSES:
        return 100
    done, expected = progress.get("devices_done"), progress.get("devices_expected")
    if expected:
        return max(0, min(99, int(100 * (done or 0) / expected)))
    scopes_total = progress.get("scopes_total")
    if scopes_total:
        return max(0, min(99, int(100 * (progress.get("scopes_done") or 0) / scopes_total)))
    return None


def duration(run: SyncRun) -> str:
    if run.started_at is None:
        return "—"
    end = run.finished_at or utcnow()
    seconds = max(0.0, (end - run.started_at).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def counters_text(counters: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(humanize(k).lower(), v) for k, v in (counters or {}).items() if v not in (None, 0, "") or k == "processed"]


# --------------------------------------------------------------------------- the credentials form


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: Literal["text", "url", "secret", "int", "bool", "choice"]
    help: str | None
    required: bool
    modes: tuple[str, ...] = ()  # empty: used by every auth mode
    advanced: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class FormSpec:
    fields: tuple[FieldSpec, ...]
    modes: tuple[str, ...]
    has_mode_field: bool
    default_mode: str | None

    def mode_fields(self, mode: str) -> list[FieldSpec]:
        return [f for f in self.fields if not f.advanced and f.modes == (mode,)]

    @property
    def common(self) -> list[FieldSpec]:
        return [f for f in self.fields if not f.advanced and not f.modes]

    @property
    def shared_mode_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if not f.advanced and len(f.modes) > 1]

    @property
    def advanced(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.advanced]

    def used_by(self, f: FieldSpec, mode: str | None) -> bool:
        return not f.modes or mode is None or mode in f.modes


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``None`` in a union, and whether it was optional."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _kind(name: str, annotation: Any) -> tuple[str, tuple[str, ...]]:
    inner, _ = _unwrap(annotation)
    if inner is SecretStr:
        return "secret", ()
    if typing.get_origin(inner) is Literal:
        return "choice", tuple(str(a) for a in typing.get_args(inner))
    if inner is bool:
        return "bool", ()
    if inner is int:
        return "int", ()
    if name.endswith("url"):
        return "url", ()
    return "text", ()


def _constraint(info: Any, attr: str) -> Any:
    for meta in info.metadata:
        value = getattr(meta, attr, None)
        if value is not None:
            return value
    return None


def _probe_value(name: str, kind: str, choices: tuple[str, ...], info: Any) -> Any:
    if kind == "url":
        return "https://rmm.example.com"
    if kind in ("text", "secret"):
        return "Probe-value-0123456789"
    if kind == "int":
        return _constraint(info, "ge") or 1
    if kind == "bool":
        return False
    return choices[0] if choices else "x"


@lru_cache(maxsize=64)
def form_spec(model: type[ProviderConfig], auth_modes: tuple[str, ...]) -> FormSpec:
    """Which fields the credentials form shows, and for which auth mode.

    A provider may say it explicitly per field with ``json_schema_extra``: ``{"ui": "hidden" |
    "advanced" | "basic"}`` and ``{"auth_modes": [...]}``. Otherwise it is worked out from the
    model itself: a text or secret field the model's validation *requires* in a mode belongs to
    that mode (found by validating a filled-in candidate without it); optional text fields no mode
    needs are state the provider manages (session tokens) and stay hidden; optional numbers,
    switches and choices are "advanced" settings.
    """
    fields_info = model.model_fields
    has_mode_field = "auth_mode" in fields_info
    modes = tuple(auth_modes) if has_mode_field else ()
    kinds = {name: _kind(name, info.annotation) for name, info in fields_info.items()}
    extras = {
        name: info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        for name, info in fields_info.items()
    }

    base: dict[str, Any] = {}
    texty_optional: list[str] = []
    for name, info in fields_info.items():
        if name == "auth_mode":
            continue
        kind, choices = kinds[name]
        if info.is_required():
            base[name] = _probe_value(name, kind, choices, info)
        elif kind in ("text", "url", "secret"):
            base[name] = _probe_value(name, kind, choices, info)
            texty_optional.append(name)

    needed: dict[str, set[str]] = {name: set() for name in texty_optional}
    for mode in modes or ("default",):
        candidate = dict(base)
        if has_mode_field:
            candidate["auth_mode"] = mode
        try:
            model.model_validate(candidate)
        except ValidationError:
            continue
        for name in texty_optional:
            trial = {k: v for k, v in candidate.items() if k != name}
            try:
                model.model_validate(trial)
            except ValidationError:
                needed[name].add(mode)

    specs: list[FieldSpec] = []
    for name, info in fields_info.items():
        if name == "auth_mode":
            continue
        kind, choices = kinds[name]
        extra = extras[name]
        ui = extra.get("ui")
        explicit_modes = extra.get("auth_modes")
        if ui == "hidden":
            continue
        field_modes: tuple[str, ...] = ()
        advanced = False
        if isinstance(explicit_modes, list | tuple) and explicit_modes:
            field_modes = tuple(str(m) for m in explicit_modes)
        elif needed.get(name):
            field_modes = tuple(m for m in (modes or ("default",)) if m in needed[name]) if modes else ()
        if info.is_required() or field_modes or ui == "basic":
            pass
        elif kind in ("text", "url", "secret"):
            if ui != "advanced":
                continue  # managed state (tokens, expiry stamps): never typed in by an admin
            advanced = True
        else:
            advanced = ui != "basic"
        if ui == "advanced":
            advanced = True
        default = None if info.is_required() else info.default
        specs.append(
            FieldSpec(
                name=name,
                label=info.title or humanize(name),
                kind=kind,  # type: ignore[arg-type]
                help=info.description,
                required=info.is_required(),
                modes=field_modes,
                advanced=advanced,
                choices=choices,
                default=default if not isinstance(default, SecretStr) else None,
                minimum=_constraint(info, "ge"),
                maximum=_constraint(info, "le"),
                max_length=_constraint(info, "max_length"),
            )
        )
    default_mode = None
    if has_mode_field:
        mode_default = fields_info["auth_mode"].default
        default_mode = str(mode_default) if mode_default in modes else (modes[0] if modes else None)
    return FormSpec(tuple(specs), modes, has_mode_field, default_mode)


def spec_of(cls: type[Provider]) -> FormSpec:
    return form_spec(cls.config_model, tuple(cls.auth_modes))


def current_values(row: RmmIntegration, spec: FormSpec) -> dict[str, Any]:
    values: dict[str, Any] = {}
    settings = row.settings or {}
    for f in spec.fields:
        if f.kind == "secret":
            continue
        if f.name == "instance_url":
            values[f.name] = row.instance_url or ""
        elif f.name in settings:
            values[f.name] = settings[f.name]
        else:
            values[f.name] = f.default
    return values


def credentials_from_form(spec: FormSpec, form: dict[str, Any], current_mode: str | None) -> CredentialsIn:
    """The posted form as ``CredentialsIn``: only the chosen mode's fields, blank secrets kept."""
    mode = str(form.get("auth_mode") or "") or current_mode or spec.default_mode
    if spec.has_mode_field and mode not in spec.modes:
        raise ValidationFailed(f"choose one of: {', '.join(mode_label(m) for m in spec.modes)}")
    values: dict[str, str | int | bool | None] = {}
    instance_url: str | None = None
    for f in spec.fields:
        if spec.has_mode_field and not spec.used_by(f, mode):
            continue
        raw = form.get(f.name)
        if f.kind == "bool":
            if f"{f.name}__shown" in form:
                values[f.name] = raw in ("true", "on", "1")
            continue
        text = str(raw).strip() if raw is not None else ""
        if f.name == "instance_url":
            instance_url = text or None
            continue
        if not text:
            continue  # blank: keep what is stored (secrets are never echoed back)
        if f.kind == "int":
            try:
                values[f.name] = int(text)
            except ValueError:
                raise ValidationFailed(
                    f"{f.label}: enter a whole number", errors=[{"field": f.name, "message": "Enter a whole number."}]
                ) from None
        elif f.kind == "secret":
            values[f.name] = str(raw)  # secrets are taken verbatim
        else:
            values[f.name] = text
    return CredentialsIn(instance_url=instance_url, auth_mode=mode if spec.has_mode_field else None, values=values)


# --------------------------------------------------------------------------- page context


@dataclass
class Action:
    kind: str
    label: str
    enabled: bool
    reason: str | None = None
    busy: bool = False  # disabled because a run of this kind is going (the sync panel says so)


@dataclass
class RunView:
    run: SyncRun
    label: str
    percent: int | None
    active: bool
    counters: list[tuple[str, Any]] = field(default_factory=list)


def _capability_label(capability: Capability, cls: type[Provider]) -> str:
    if capability == Capability.scope_sync:
        return f"{cls.scope_label} sync"
    return CAPABILITY_LABELS[capability]


def _signin_methods(cls: type[Provider]) -> list[str]:
    """How one signs in to the provider, in words (the auth modes, or the secrets it needs)."""
    spec = spec_of(cls)
    if spec.has_mode_field:
        return [mode_label(m) for m in spec.modes]
    return [f.label for f in spec.fields if f.kind == "secret" and f.required] or ["no credentials"]


def _kind_label(kind: str, cls: type[Provider]) -> str:
    return KIND_LABELS.get(kind, humanize(kind)).format(scopes=humanize(plural(cls.scope_label)))


def _run_view(run: SyncRun, cls: type[Provider]) -> RunView:
    return RunView(
        run=run,
        label=_kind_label(run.kind, cls),
        percent=run_percent(run),
        active=run.status in ACTIVE_RUN_STATUSES,
        counters=counters_text(run.counters or {}),
    )


@dataclass
class SyncPanel:
    """The sync panel's one state: ``idle`` (with the last run, if any), ``running`` (the run and
    its progress) or finished (``succeeded`` / ``partial`` / ``failed``, with the result)."""

    state: str
    run: RunView | None = None
    last: RunView | None = None
    more_running: int = 0


def _sync_panel(shown: list[SyncRun], history: list[SyncRun], cls: type[Provider]) -> SyncPanel:
    """The one state to show: a run going on wins; then the run just started (finished already);
    otherwise idle, naming the last run."""
    active = [r for r in shown if r.status in ACTIVE_RUN_STATUSES]
    if active:
        return SyncPanel("running", _run_view(active[0], cls), more_running=len(active) - 1)
    if shown:
        return SyncPanel(shown[0].status, _run_view(shown[0], cls))
    return SyncPanel("idle", last=_run_view(history[0], cls) if history else None)


def _actions(
    cls: type[Provider], row: RmmIntegration, ctx_can_sync: bool, syncable: int, active_kinds: set[str]
) -> list[Action]:
    out = []
    for kind, label in SYNC_ACTIONS:
        text = label.format(scopes=plural(cls.scope_label))
        capability = KIND_CAPABILITY[kind]
        reason = None
        if capability not in cls.capabilities:
            continue  # not a disabled button: the provider simply has no such sync
        if not row.is_active:
            reason = "Test the connection first: the integration is not active."
        elif not ctx_can_sync:
            reason = "Your role may not start syncs."
        elif kind in ("devices",) and syncable == 0:
            reason = f"Map at least one {cls.scope_label.lower()} to a PSA client first."
        if reason is None and kind in active_kinds:
            out.append(Action(kind, text, False, None, busy=True))
            continue
        out.append(Action(kind, text, reason is None, reason))
    return out


async def _counts(db: AsyncSession, auth: SessionAuth, row: RmmIntegration) -> dict[str, int]:
    ctx = auth.ctx
    M = RmmOrganizationMapping
    total, mapped, missing = (
        await db.execute(
            select(
                func.count(),
                func.count(M.client_id),
                func.count(M.missing_since),
            ).where(M.tenant_id == ctx.tenant_id, M.integration_id == row.id)
        )
    ).one()
    status = await assets_repo.status_counts(db, ctx, assets_repo.AssetFilters(integration_id=row.id), utcnow())
    alerts = await db.scalar(
        select(func.count()).where(
            RmmAlert.tenant_id == ctx.tenant_id, RmmAlert.integration_id == row.id, RmmAlert.status == "active"
        )
    )
    return {
        "organizations": int(total or 0),
        "mapped": int(mapped or 0),
        "missing_orgs": int(missing or 0),
        "assets": sum(status.values()),
        "online": status.get("online", 0),
        "offline": status.get("offline", 0),
        "overdue": status.get("overdue", 0),
        "unknown": status.get("unknown", 0),
        "stale": status.get("stale", 0),
        "alerts": int(alerts or 0),
    }


async def _page(
    request: Request,
    state: AppState,
    db: AsyncSession,
    auth: SessionAuth,
    cls: type[Provider],
    row: RmmIntegration,
    *,
    q: str = "",
    page: int = 1,
    run_id: uuid.UUID | None = None,
    ok: str = "",
    error: str = "",
    revealed: str | None = None,
    form_values: dict[str, Any] | None = None,
    schedule_form: dict[str, Any] | None = None,
    status_code: int = 200,
    name_form: dict[str, str] | None = None,
    matches: list[bulk_mapping.NameMatch] | None = None,
    field_errors: dict[str, str] | None = None,
    form_error: str | None = None,
    picker: provisioning.TemplatePicker | None = None,
) -> Response:
    ctx = auth.ctx
    spec = spec_of(cls)
    out = service.to_out(row, state.registry)
    can_admin = ctx.can(Permission.settings_update)
    can_sync = ctx.can(Permission.sync_run)

    # Runs: the active ones, the one just started (even when already finished), and the history.
    active = list(
        await db.scalars(
            select(SyncRun)
            .where(
                SyncRun.tenant_id == ctx.tenant_id,
                SyncRun.integration_id == row.id,
                SyncRun.status.in_(ACTIVE_RUN_STATUSES),
                SyncRun.kind != "agent",
            )
            .order_by(SyncRun.created_at)
        )
    )
    shown = list(active)
    if run_id is not None and all(r.id != run_id for r in active):
        extra = await db.get(SyncRun, (ctx.tenant_id, run_id))
        if extra is not None and extra.integration_id == row.id:
            shown.insert(0, extra)
    history = list(
        await db.scalars(
            select(SyncRun)
            .where(SyncRun.tenant_id == ctx.tenant_id, SyncRun.integration_id == row.id, SyncRun.kind != "agent")
            .order_by(SyncRun.created_at.desc(), SyncRun.id.desc())
            .limit(HISTORY_ROWS)
        )
    )
    refreshes = await db.scalar(
        select(func.count()).where(
            SyncRun.tenant_id == ctx.tenant_id, SyncRun.integration_id == row.id, SyncRun.kind == "agent"
        )
    )

    # Organization mappings.
    params = PageParams(page=max(1, page), page_size=MAPPINGS_PER_PAGE)
    rows, total = await paginate(db, repository.mappings_query(ctx, row.id, q or None), params)
    mapping_rows = [mapping_out(m, name, count) for m, name, count in rows]
    clients = await clients_repo.all_live(db, ctx) if can_admin else []
    syncable = len(await repository.syncable_mappings(db, ctx, row.id))

    counts = await _counts(db, auth, row)
    hook = await webhook_info(state, db, row)
    rejected: list[WebhookDelivery] = []
    if hook.supported:
        counts["webhook_accepted"] = hook.deliveries_accepted
        counts["webhook_rejected"] = hook.deliveries_rejected
        counts["missed_by_webhook"] = hook.alerts_missed_by_webhook
        counts["last_delivery_at"] = hook.last_delivery_at
        rejected = list(
            await db.scalars(
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.tenant_id == ctx.tenant_id,
                    WebhookDelivery.integration_id == row.id,
                    WebhookDelivery.accepted.is_(False),
                )
                .order_by(WebhookDelivery.received_at.desc())
                .limit(REJECTED_ROWS)
            )
        )
    # Revealed: the templates carry the secret; otherwise they reference it the RMM's own way.
    templates = cls.webhook_templates(hook.url, revealed) if revealed and hook.url else dict(hook.templates)

    kinds = [k for k in (*dict(SYNC_ACTIONS), "liveness") if KIND_CAPABILITY[k] in cls.capabilities]
    sync_rows = [(k, _kind_label(k, cls), out.sync_status.get(k)) for k in kinds]
    mode = out.auth_mode or spec.default_mode
    values = current_values(row, spec)
    if form_values:
        values.update({k: v for k, v in form_values.items() if k in {f.name for f in spec.fields}})
        mode = str(form_values.get("auth_mode") or mode)
    badge, badge_label = status_of(row)
    if spec.has_mode_field:
        signin_label = mode_label(row.auth_mode or spec.default_mode or "")
    else:
        signin_label = " and ".join(_signin_methods(cls))
    return render(
        request,
        "integration.html",
        status_code=status_code,
        cls=cls,
        provider=cls.key,
        monogram=monogram(cls.display_name),
        row=row,
        out=out,
        badge=badge,
        badge_label=badge_label,
        signin_label=signin_label,
        spec=spec,
        mode=mode,
        mode_label=mode_label,
        values=values,
        hints=out.credentials,
        actions=_actions(cls, row, can_sync, syncable, {r.kind for r in active}),
        sync_panel=_sync_panel(shown, history, cls),
        kind_labels={kind: _kind_label(kind, cls) for kind, _ in SYNC_ACTIONS},
        history=[_run_view(r, cls) for r in history],
        refreshes=int(refreshes or 0),
        duration=duration,
        sync_rows=sync_rows,
        schedules=await schedule_views(db, ctx, cls, row, state.clock()),
        schedule_form=schedule_form or {},
        kind_label=lambda k: _kind_label(k, cls),
        format_interval=format_interval,
        counts=counts,
        webhook_log_days=state.settings.webhook_log_days,
        expires_in_days=expires_in_days(row),
        expiry_warning_days=EXPIRY_WARNING_DAYS,
        mappings=mapping_rows,
        mappings_total=total,
        q=q,
        page=params.page,
        pages=max(1, -(-total // params.page_size)),
        clients=clients,
        hook=hook,
        templates=templates,
        revealed=revealed,
        rejected=rejected,
        setup_steps=webhook_steps(cls, templates, revealed=bool(revealed)),
        scope_label=cls.scope_label,
        scopes_label=plural(cls.scope_label),
        can_admin=can_admin,
        can_sync=can_sync,
        totp_prompt=row.state == "needs_reauth",
        ok=ok,
        error=error,
        base=BASE,
        page_url=page_path(row),
        action_url=page_path(row),
        name_value=(name_form or {}).get("value"),
        matches=matches,
        # Not configured yet: a short path to connecting, not pages of zeros and disabled buttons.
        setup_only=row.state == "not_configured",
        unmapped=counts["organizations"] - counts["mapped"] - counts["missing_orgs"],
        field_errors=field_errors or {},
        first_error=next((f.name for f in spec.fields if f.name in (field_errors or {})), None),
        form_error=form_error,
        # The operator's policy wins: when it forbids http://, no integration may opt in.
        insecure_allowed=bool(state.settings and state.settings.allow_insecure_provider_urls),
        name_error=(name_form or {}).get("error"),
        siblings=[r for r in await repository.by_provider(db, ctx, cls.key) if r.id != row.id],
        oauth_redirect_uri=(await public_url.current(db, state.settings)).base + f"/integrations/{cls.key}/callback",
        picker=picker,
    )


def webhook_steps(cls: type[Provider], templates: dict[str, str], *, revealed: bool = False) -> list[str]:
    """Numbered steps for the RMM side. A provider may give its own (``webhook_setup_steps``)."""
    custom = getattr(cls, "webhook_setup_steps", None)
    if callable(custom):
        custom = custom()
    if custom:
        return [str(s) for s in custom]
    name = cls.display_name
    bodies = [k for k in templates if k != "headers"]
    steps = [
        "Create the webhook secret above (or reveal the current one) and keep this page open.",
        f"In {name}, add a web hook (alert action) with method POST and the webhook URL above.",
    ]
    if "headers" in templates:
        steps.append(
            f"Paste the “headers” template as its headers: it sends the secret in the {cls.webhook_header} header. "
            "Never put the secret in the URL or the body."
        )
        if not revealed and cls.webhook_secret_storage:
            steps.append(cls.webhook_secret_storage + " Or reveal the secret: the templates then contain it.")
    else:
        steps.append(f"Send the secret in the {cls.webhook_header} header.")
    if bodies:
        names = " and ".join(f"“{b}”" for b in bodies)
        steps.append(
            f"Paste the {names} template{'s' if len(bodies) > 1 else ''} as the request body "
            "(one web hook per template: one for raised alerts, one for resolved ones)."
        )
    steps.append(f"Attach the web hooks to the alert templates or policies that cover your {plural(cls.scope_label)}.")
    steps.append("Trigger a test alert: “Deliveries accepted” above goes up; rejections are listed with the reason.")
    return steps


# --------------------------------------------------------------------------- lookups


def _provider(state: AppState, key: str) -> type[Provider]:
    if key not in state.registry:
        raise NotFound(f"no provider '{key}' is installed")
    return state.registry.get(key)


async def _row(db: AsyncSession, auth: SessionAuth, cls: type[Provider], integration_id: uuid.UUID) -> RmmIntegration:
    row = await service.get_integration(db, auth.ctx, integration_id)
    if row.provider != cls.key:
        raise NotFound(f"no {cls.display_name} integration {integration_id}")
    return row


def page_path(row: RmmIntegration) -> str:
    """An integration's own page: by id, since a provider may have several integrations."""
    return f"{BASE}/{row.provider}/{row.id}"


def _back(cls: type[Provider], row: RmmIntegration | None, anchor: str = "", **params: object) -> Response:
    """Back to the integration's page (the provider's page when there is no integration).

    Reads only the row's identity (no attribute load), so it is safe after a rollback expired it."""
    if row is None:
        path = f"{BASE}/{cls.key}"
    else:
        identity = sa_inspect(row).identity
        path = f"{BASE}/{cls.key}/{identity[1] if identity else row.id}"
    response = redirect(path, **params)
    if anchor:
        response.headers["location"] = response.headers["location"] + f"#{anchor}"
    return response


# --------------------------------------------------------------------------- routes: overview


@router.get("/settings")
async def settings_home() -> Response:
    return redirect(BASE)


@router.get(BASE)
async def integrations_page(
    request: Request, state: State, db: DB, auth: UiAuth, ok: str = "", error: str = ""
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_read)
    rows = await repository.list_all(db, ctx)
    by_provider: dict[str, list[RmmIntegration]] = {}
    for r in rows:
        by_provider.setdefault(r.provider, []).append(r)
    cards = []
    for cls in state.registry:
        mine = by_provider.get(cls.key, [])
        row = mine[0] if mine else None
        badge, label = status_of(row)
        cards.append(
            {
                "cls": cls,
                "row": row,
                "count": len(mine),
                # Every integration of the provider, each with its own badge and page.
                "instances": [(r, *status_of(r), page_path(r)) for r in mine],
                "badge": badge,
                "badge_label": label,
                "last_success": last_success(row),
                "expires_in_days": expires_in_days(row),
                "monogram": monogram(cls.display_name),
                "webhooks": Capability.alert_webhook in cls.capabilities,
                "polling": Capability.alert_polling in cls.capabilities,
            }
        )
    return render(
        request,
        "integrations.html",
        cards=cards,
        expiry_warning_days=EXPIRY_WARNING_DAYS,
        can_admin=ctx.can(Permission.settings_update),
        ok=ok,
        error=error,
        base=BASE,
    )


@router.get(BASE + "/{provider}")
async def provider_page(
    request: Request,
    state: State,
    db: DB,
    auth: UiAuth,
    provider: str,
    id: uuid.UUID | None = None,
    error: str = "",
) -> Response:
    """The provider's first integration (``?id=`` names another: older links), or its set-up intro."""
    ctx = ui_ctx(auth, Permission.settings_read)
    cls = _provider(state, provider)
    rows = await repository.by_provider(db, ctx, cls.key)
    rows.sort(key=lambda r: r.created_at)
    row = next((r for r in rows if r.id == id), None) if id else (rows[0] if rows else None)
    if row is None:
        return render(
            request,
            "integration_intro.html",
            cls=cls,
            monogram=monogram(cls.display_name),
            capabilities=[(_capability_label(c, cls), c in cls.capabilities) for c in Capability],
            auth_modes=_signin_methods(cls),
            can_admin=ctx.can(Permission.settings_update),
            error=error,
            base=BASE,
        )
    params = {k: v for k, v in request.query_params.items() if k != "id"}
    return redirect(page_path(row), **params)


@router.get(BASE + "/{provider}/{integration_id}")
async def integration_page(
    request: Request,
    state: State,
    db: DB,
    auth: UiAuth,
    provider: str,
    integration_id: uuid.UUID,
    q: str = "",
    page: int = 1,
    run: uuid.UUID | None = None,
    match: bool = False,
    ok: str = "",
    error: str = "",
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_read)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    path = page_path(row)
    revealed = once.take(request, state, auth, path) if ctx.can(Permission.settings_update) else None
    matches = await bulk_mapping.suggest_matches(db, ctx, row.id) if match else None
    picker = None
    if ctx.can(Permission.settings_update) and cls.alert_template_picker and row.state == "connected":
        # Read live from the RMM, outside this request's transaction (its own short one).
        await db.commit()
        picker = await provisioning.template_picker(state, ctx, row.id)
        row = await _row(db, auth, cls, integration_id)
    response = await _page(
        request, state, db, auth, cls, row, q=q, page=page, run_id=run, ok=ok, error=error, revealed=revealed,
        matches=matches, picker=picker,
    )  # fmt: skip
    return once.forget(response, path) if revealed else response


@router.post(BASE + "/{provider}/setup")
async def setup_integration(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str
) -> Response:
    """Add an integration of the provider: the first one, or another one ("Add another")."""
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    existing = await repository.by_provider(db, ctx, cls.key)
    if existing and not cls.allows_multiple:
        return _back(cls, existing[0])
    name = str(form.get("name") or "").strip() or None
    try:
        row = await service.create_integration(
            db, ctx, state.registry, IntegrationCreate(provider=cls.key, name=name)
        )
    except (AppError, ValidationError) as exc:
        await db.rollback()
        message = exc.detail if isinstance(exc, AppError) else "Enter a name of at most 200 characters."
        return redirect(BASE, error=f"{cls.display_name} not added: {message}")
    return _back(
        cls, row, "connection", ok=f"{row.name} added. Enter the connection details, save, then test them."
    )


# --------------------------------------------------------------------------- routes: connection


@router.post(BASE + "/{provider}/{integration_id}/credentials")
async def save_credentials(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    spec = spec_of(cls)
    try:
        data = credentials_from_form(spec, form, row.auth_mode)
        await service.save_credentials(state, db, ctx, row.id, data)
    except (AppError, ValidationError) as exc:
        await db.rollback()
        row = await _row(db, auth, cls, integration_id)
        labels = {f.name: f.label.lower() for f in spec.fields}
        errors = field_errors(exc, labels, default="values")
        # What was typed stays, secrets included: they go back only into this one answer to the
        # same admin's post (never stored, never into another page), so a typo elsewhere does
        # not cost them the key they just pasted.
        posted = {k: v for k, v in form.items() if not k.endswith("__shown")}
        for f in spec.fields:
            if f.kind == "bool" and f"{f.name}__shown" in form:
                posted[f.name] = form.get(f.name) in ("true", "on", "1")
        shown = {f.name for f in spec.fields}
        # A model-wide refusal ("Enter the API key") or an unknown field is the form's own error.
        form_error = " ".join(m for k, m in errors.items() if k not in shown) or None
        return await _page(
            request,
            state,
            db,
            auth,
            cls,
            row,
            form_values=posted,
            field_errors={k: m for k, m in errors.items() if k in shown},
            form_error=form_error or "Not saved: correct the fields marked below.",
            status_code=422,
        )
    return _back(cls, row, "connection", ok="Connection details saved. Test the connection to use them.")


@router.post(BASE + "/{provider}/{integration_id}/name")
async def rename(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    typed = str(form.get("name") or "")
    try:
        if len(typed.strip()) > 200:
            raise ValidationFailed("the name is at most 200 characters")
        await service.update_integration(db, ctx, row.id, IntegrationUpdate(name=typed))
    except (AppError, ValidationError) as exc:
        await db.rollback()
        row = await _row(db, auth, cls, integration_id)
        message = exc.detail if isinstance(exc, AppError) else "Enter a name."
        return await _page(
            request, state, db, auth, cls, row, error=f"Not renamed: {message}",
            name_form={"value": typed, "error": message}, status_code=422,
        )  # fmt: skip
    return _back(cls, row, "connection", ok=f"Renamed to “{row.name}”.")


@router.post(BASE + "/{provider}/{integration_id}/test")
async def test_connection(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    code = str(form.get("totp_code") or "").strip().replace(" ", "")
    if code and not (code.isdigit() and 6 <= len(code) <= 8):
        return _back(cls, row, "connection", error="The one-time code is 6 to 8 digits.")
    try:
        result = await service.test_connection(state, db, ctx, row.id, code or None)
    except AppError as exc:
        return _back(cls, row, "connection", error=exc.detail)
    if result.ok:
        warn = [c for c in result.checks if c.warning]
        message = "Connection test passed. The integration is active."
        if warn:
            message += f" {len(warn)} warning{'s' if len(warn) > 1 else ''} below."
        return _back(cls, row, "connection", ok=message)
    if result.totp_required:
        return _back(cls, row, "totp_code", error="Enter the one-time code from your authenticator app and test again.")
    return _back(cls, row, "connection", error="Connection test failed. See the failing check and its fix below.")


@router.get(BASE + "/{provider}/{integration_id}/disconnect")
async def disconnect_page(
    request: Request, state: State, db: DB, auth: UiAuth, provider: str, integration_id: uuid.UUID
) -> Response:
    ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    counts = await _counts(db, auth, row)
    return render(
        request,
        "integration_disconnect.html",
        cls=cls,
        row=row,
        counts=counts,
        scopes_label=plural(cls.scope_label),
        has_webhook=Capability.alert_webhook in cls.capabilities,
        provisioned=bool(row.webhook_provisioning.get("provisioned")),
        action_url=page_path(row),
        page_url=page_path(row),
        base=BASE,
    )


@router.post(BASE + "/{provider}/{integration_id}/disconnect")
async def disconnect(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    remove = form.get("remove_webhook") == "1"
    await service.disconnect(state, db, ctx, row.id, remove)
    deleted = "Credentials and the webhook secret were" if Capability.alert_webhook in cls.capabilities else (
        "Credentials were")
    removed = ""
    if remove and row.webhook_provisioning.get("removed"):
        removed = f" What rmmbridge had provisioned in {cls.display_name} was removed."
    elif remove:
        removed = f" Removing the provisioned webhook from {cls.display_name} failed; remove it there by hand."
    return _back(cls, row, ok=f"{row.name} disconnected. {deleted} deleted; assets, mappings, alerts and history "
                 "are kept." + removed)  # fmt: skip


@router.post(BASE + "/{provider}/{integration_id}/delete")
async def delete(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    try:
        await service.delete_integration(state, db, ctx, row.id)
    except AppError as exc:
        return _back(cls, row, error=exc.detail)
    return redirect(BASE, ok=f"{cls.display_name} removed. Its assets stay in the inventory, detached from the RMM.")


# --------------------------------------------------------------------------- routes: syncs


@router.post(BASE + "/{provider}/{integration_id}/sync/{kind}")
async def start_sync(
    request: Request,
    state: State,
    db: DB,
    auth: UiAuth,
    form: Form,
    provider: str,
    integration_id: uuid.UUID,
    kind: str,
) -> Response:
    ctx = ui_ctx(auth, Permission.sync_run)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    if kind not in dict(SYNC_ACTIONS):
        raise NotFound(f"no sync '{kind}'")
    try:
        started = await request_sync(state, db, ctx, row.id, kind, "manual")
    except AppError as exc:
        return _back(cls, row, error=exc.detail)
    label = _kind_label(kind, cls)
    note = "was already running; showing its progress" if started.joined else "started"
    return _back(cls, row, "sync", run=str(started.run.id), ok=f"{label} sync {note}.")


# --------------------------------------------------------------------------- routes: schedules


@router.post(BASE + "/{provider}/{integration_id}/schedules/{kind}")
async def save_schedule(
    request: Request,
    state: State,
    db: DB,
    auth: UiAuth,
    form: Form,
    provider: str,
    integration_id: uuid.UUID,
    kind: str,
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    if kind not in SCHEDULE_KINDS:
        raise NotFound(f"no schedule '{kind}'")
    typed = str(form.get("interval") or "").strip()
    enabled = form.get("enabled") in ("true", "on", "1")
    label = _kind_label(kind, cls)
    try:
        seconds = parse_interval(typed) if typed else None
        await update_schedule(db, ctx, cls, row, kind, enabled=enabled, interval_seconds=seconds)
    except AppError as exc:
        await db.rollback()
        row = await _row(db, auth, cls, integration_id)
        message = exc.errors[0].get("message", exc.detail) if exc.errors else exc.detail
        return await _page(
            request,
            state,
            db,
            auth,
            cls,
            row,
            error=f"{label} schedule not saved: {message}",
            schedule_form={"kind": kind, "interval": typed, "enabled": enabled, "error": message},
            status_code=422,
        )
    text = f"every {format_interval(seconds)}" if seconds and enabled else ("on" if enabled else "off")
    return _back(cls, row, "schedules", ok=f"{label} schedule saved: {text}.")


# --------------------------------------------------------------------------- routes: mappings


@router.post(BASE + "/{provider}/{integration_id}/mappings/{mapping_id}")
async def update_mapping(
    request: Request,
    state: State,
    db: DB,
    auth: UiAuth,
    form: Form,
    provider: str,
    integration_id: uuid.UUID,
    mapping_id: uuid.UUID,
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    back = {"q": form.get("q") or None, "page": form.get("page") or None}
    try:
        if form.get("action") == "create_client":
            mapping = await mappings.create_client_for_mapping(db, ctx, row.id, mapping_id)
            message = f"Created client “{mapping.external_org_name}” and mapped it."
        elif form.get("action") == "auto_sync":
            # The auto-sync switch alone, saved the moment it changes (app.js), whatever else the
            # row's unsaved client choice says.
            on = form.get("auto_sync") in ("true", "on", "1")
            mapping = await mappings.update_mapping(db, ctx, row.id, mapping_id, MappingUpdate(auto_sync_assets=on))
            message = f"Auto-sync of “{mapping.external_org_name}” is {'on' if on else 'off'}."
        else:
            raw_client = str(form.get("client_id") or "")
            auto = (form.get("auto_sync") in ("true", "on", "1")) if "auto_sync__shown" in form else None
            if raw_client:
                try:
                    client_id = uuid.UUID(raw_client)
                except ValueError:
                    raise ValidationFailed("choose a client from the list") from None
                data = MappingUpdate(client_id=client_id, auto_sync_assets=auto)
            else:
                data = MappingUpdate(unmap=True, auto_sync_assets=auto)
            mapping = await mappings.update_mapping(db, ctx, row.id, mapping_id, data)
            message = f"Saved the mapping of “{mapping.external_org_name}”."
        from .provisioning import follow_mappings  # a provisioned RMM webhook follows the mapped organizations

        await follow_mappings(state, db, ctx, row.id)
    except AppError as exc:
        await db.rollback()
        return _back(cls, row, "mappings", error=exc.detail, **back)
    return _back(cls, row, "mappings", ok=message, **back)


# --------------------------------------------------------------------------- routes: webhook secret


@router.post(BASE + "/{provider}/{integration_id}/webhook/rotate")
async def rotate_webhook(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    try:
        service.require_capability(state.registry, row, Capability.alert_webhook)
        if row.state in ("disconnected", "not_configured"):
            raise ValidationFailed("save the connection details before creating a webhook secret")
    except AppError as exc:
        return _back(cls, row, error=exc.detail)
    had_secret = row.webhook_secret_digest is not None
    secret = await webhook_secrets.rotate(state, db, row)
    await db.commit()  # stored before the RMM is told; no lock held while it is called
    update = await provisioning.after_rotate(state, auth.ctx, row.id)
    row = await _row(db, auth, cls, integration_id)
    if update is not None and update["ok"]:
        message = f"New webhook secret created and sent to {cls.display_name}: nothing to paste."
    elif update is not None:
        failed = next(s for s in update["steps"] if s["outcome"] == "failed")
        message = (
            f"New webhook secret created, but {cls.display_name} could not be updated ({failed['detail']}): "
            "its deliveries are refused until it has the new secret."
        )
    elif had_secret:
        message = (
            f"New webhook secret created. The old one stopped working: update the headers in {cls.display_name} now."
        )
    else:
        message = f"Webhook secret created. Copy it into {cls.display_name} now."
    overlap = webhook_secrets.overlap_s(state, row) // 60
    if had_secret and overlap and (update is None or update["ok"]):
        message += f" The old one keeps working for {overlap} minutes."
    # Post/redirect/get: a reload shows the page again, never rotates again (the secret travels
    # once, in an encrypted cookie for this page only).
    return once.put(_back(cls, row, "webhook", ok=message), state, auth, page_path(row), secret)


@router.post(BASE + "/{provider}/{integration_id}/webhook/test")
async def test_webhook(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    """"Send test alert": one delivery through the RMM, reported on the page."""
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    await db.commit()  # the delivery comes back into rmmbridge, which must be able to write
    try:
        out = await provisioning.send_test(state, ctx, row.id)
    except AppError as exc:
        return _back(cls, row, "webhook", error=exc.detail)
    if out["test_delivered"]:
        return _back(cls, row, "webhook", ok=f"Test alert arrived: {out['test_detail']}")
    return _back(cls, row, "webhook", error=f"The test alert did not arrive: {out['test_detail']}")


@router.post(BASE + "/{provider}/{integration_id}/webhook/provision")
async def provision_webhook(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    """One click: rmmbridge configures the RMM's webhook itself and sends a test alert through it.

    With the template picker on the page (``pick_templates``), the ticked ``template_ids`` are the
    templates to attach; without it, the provider's default choice."""
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    template_ids: list[str] | None = None
    if form.get("pick_templates"):
        template_ids = [str(t) for t in (await request.form()).getlist("template_ids") if isinstance(t, str)]
        if not template_ids:
            return _back(cls, row, "webhook", error="Pick at least one alert template to attach the webhook to.")
        if len(template_ids) > MAX_PICKED_TEMPLATES or any(len(t) > 40 for t in template_ids):
            return _back(cls, row, "webhook", error="That is not a list of alert templates.")
    await db.commit()  # the RMM's test delivery comes back into rmmbridge, which must be able to write
    try:
        report = await provisioning.provision(state, ctx, row.id, template_ids=template_ids, send_test=True)
    except AppError as exc:
        return _back(cls, row, "webhook", error=exc.detail)
    if report["ok"] and report["test_delivered"]:
        return _back(cls, row, "webhook", ok=f"{cls.display_name} is set up and a test alert arrived.")
    if report["ok"]:
        return _back(cls, row, "webhook", error=f"{cls.display_name} is set up, but the test alert: "
                     f"{report['test_detail']}")
    return _back(cls, row, "webhook", error=f"{cls.display_name} could not be fully set up: see the steps below.")


@router.post(BASE + "/{provider}/{integration_id}/webhook/reveal")
async def reveal_webhook(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    secret = await webhook_secrets.reveal(state, db, row)
    if secret is None:
        return _back(cls, row, "webhook", error="There is no webhook secret yet; create one first.")
    return once.put(_back(cls, row, "webhook"), state, auth, page_path(row), secret)


# --------------------------------------------------------------------------- routes: OAuth connect


@router.get(BASE + "/{provider}/{integration_id}/oauth/start")
async def oauth_start(
    request: Request, state: State, db: DB, auth: UiAuth, provider: str, integration_id: uuid.UUID, csrf_token: str = ""
) -> Response:
    """"Connect with <RMM>": off to the RMM's consent page (authorization code with PKCE and state).

    A link (GET with the page's CSRF token), not a form: the page's ``form-action 'self'`` policy
    would stop a form whose answer redirects to the RMM's host."""
    from fastapi.responses import RedirectResponse

    from rmmbridge.web.ui import csrf

    from .oauth_connect import start

    ui_ctx(auth, Permission.settings_update)
    csrf.check(auth, csrf_token)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    # A GET that writes (the sign-in attempt with its PKCE verifier): in a writer unit of its own,
    # as the callback does — the request's read-only unit cannot become a writer on SQLite once
    # another writer has committed.
    refused: str | None = None
    async with unit_of_work(state.sessionmaker) as wdb:
        try:
            url = await start(state, wdb, auth.ctx, row.id)
        except AppError as exc:
            refused = exc.detail
    if refused is not None:
        return _back(cls, row, "connection", error=refused)
    return RedirectResponse(url, status_code=303)


@router.get("/integrations/{provider}/callback")
async def oauth_callback(request: Request, state: State, db: DB, auth: UiAuth, provider: str) -> Response:
    """The RMM sends the browser back here with ``code`` and ``state`` (or ``error``). Never logged."""
    from .oauth_connect import finish

    cls = _provider(state, provider)
    q = request.query_params
    ctx = ui_ctx(auth, Permission.settings_update)
    # A GET that writes (the attempt is spent, the code's tokens are stored): the request's own
    # unit of work is a read-only one (deferred BEGIN on SQLite), whose upgrade to a writer fails
    # with "database is locked" as soon as another writer committed meanwhile. So the callback
    # writes in a writer unit of its own, committed whether the answer is accepted or refused
    # (a refused answer's attempt stays spent).
    refused: str | None = None
    async with unit_of_work(state.sessionmaker) as wdb:
        try:
            done = await finish(state, wdb, ctx, q.get("state", ""), q.get("code"), q.get("error"))
        except AppError as exc:
            refused = exc.detail
    if refused is not None:
        return redirect(BASE, error=refused)
    if done.ok:
        return _back(cls, done.integration, "status", ok=done.message)
    return _back(cls, done.integration, "connection", error=done.message)


# --------------------------------------------------------------------------- routes: bulk mapping


@router.post(BASE + "/{provider}/{integration_id}/mappings-bulk/apply-matches")
async def apply_matches(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    pairs = []
    for value in (await request.form()).getlist("match"):
        mapping_id, _, client_id = str(value).partition(":")
        try:
            pairs.append((uuid.UUID(mapping_id), uuid.UUID(client_id)))
        except ValueError:
            return _back(cls, row, "mappings", error="The list of matches was not understood; match again.")
    if not pairs:
        return _back(cls, row, "mappings", match="1", error="Tick the matches to map, then Map the ticked matches.")
    try:
        done = await bulk_mapping.apply_matches(db, ctx, row.id, pairs)
    except AppError as exc:
        await db.rollback()
        return _back(cls, row, "mappings", error=exc.detail)
    noun = plural(cls.scope_label) if done != 1 else cls.scope_label.lower()
    return _back(cls, row, "mappings", ok=f"Mapped {done} {noun} by name.")


@router.post(BASE + "/{provider}/{integration_id}/mappings-bulk/create-clients")
async def create_clients_for_unmapped(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    try:
        made = await bulk_mapping.create_clients_for_unmapped(db, ctx, row.id)
    except AppError as exc:
        await db.rollback()
        return _back(cls, row, "mappings", error=exc.detail)
    total = made.created + made.reused
    reused = f" ({made.reused} mapped to existing clients of the same name)" if made.reused else ""
    message = f"Created {made.created} PSA clients and mapped {total} {plural(cls.scope_label)}{reused}."
    return _back(cls, row, "mappings", ok=message)


@router.post(BASE + "/{provider}/{integration_id}/mappings-bulk")
async def bulk_update(
    request: Request, state: State, db: DB, auth: UiAuth, form: Form, provider: str, integration_id: uuid.UUID
) -> Response:
    ctx = ui_ctx(auth, Permission.settings_update)
    cls = _provider(state, provider)
    row = await _row(db, auth, cls, integration_id)
    back = {"q": form.get("q") or None, "page": form.get("page") or None}
    action = str(form.get("bulk_action") or "")
    try:
        ids = [uuid.UUID(str(v)) for v in (await request.form()).getlist("ids")]
    except ValueError:
        return _back(cls, row, "mappings", error="The selection was not understood; select again.", **back)
    try:
        if action == "map":
            client_id = uuid.UUID(str(form.get("bulk_client_id") or "")) if form.get("bulk_client_id") else None
            if client_id is None:
                raise ValidationFailed("choose the PSA client to map the selected organizations to")
            done = await bulk_mapping.bulk_update(db, ctx, row.id, ids, client_id=client_id)
            verb = "mapped"
        elif action == "unmap":
            done, verb = await bulk_mapping.bulk_update(db, ctx, row.id, ids, unmap=True), "unmapped"
        elif action in ("auto_on", "auto_off"):
            on = action == "auto_on"
            done = await bulk_mapping.bulk_update(db, ctx, row.id, ids, auto_sync=on)
            verb = f"switched auto-sync {'on' if on else 'off'} for"
        else:
            raise ValidationFailed("choose what to do with the selected organizations")
    except ValueError:
        return _back(cls, row, "mappings", error="Choose a client from the list.", **back)
    except AppError as exc:
        await db.rollback()
        return _back(cls, row, "mappings", error=exc.detail, **back)
    return _back(cls, row, "mappings", ok=f"{verb[0].upper()}{verb[1:]} {done} {plural(cls.scope_label)}.", **back)
