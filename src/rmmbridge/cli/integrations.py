"""``rmmbridge integrations …`` and ``rmmbridge mappings …``."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.integrations import mappings as mapping_service
from rmmbridge.integrations import repository, service, webhook_secrets
from rmmbridge.integrations.schemas import (
    CredentialsIn,
    IntegrationCreate,
    MappingOut,
    MappingUpdate,
    WebhookInfo,
    WebhookSecretOut,
)
from rmmbridge.integrations.views import mapping_out, webhook_info
from rmmbridge.state import AppState
from rmmbridge.storage.db import unit_of_work
from rmmbridge.tenancy.context import TenantContext
from rmmbridge.web.api.pagination import MAX_PAGE_SIZE, Page, PageParams, make_page, paginate

from .common import console, emit_json, fail, page_title, run
from .context import JsonOpt, PageOpt, TenantOpt, public_url_noted, resolve_integration, with_tenant
from .tables import Col, WideOpt, print_table

integrations_app = typer.Typer(help="RMM integrations.", no_args_is_help=True)
mappings_app = typer.Typer(help="Organization → client mappings.", no_args_is_help=True)


def _parse_sets(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(f"--set takes key=value, got '{item}'")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


@integrations_app.command("add")
def add(
    provider: str = typer.Argument(..., help="provider key, e.g. tacticalrmm"),
    url: str = typer.Option(None, "--url", help="the RMM's API address"),
    auth_mode: str = typer.Option(None, "--auth-mode", help="e.g. api_key | password (Tactical)"),
    name: str = typer.Option(
        None, "--name", help="the integration's name: an existing one is reconfigured, a new one added beside it"
    ),
    sets: list[str] = typer.Option([], "--set", help="non-secret setting key=value (repeatable)"),
    secrets_stdin: bool = typer.Option(
        False, "--secrets-stdin", help='read secrets as a JSON object from stdin, e.g. {"api_key": "…"}'
    ),
    allow_insecure_url: bool = typer.Option(
        False,
        "--allow-insecure-url",
        help="accept an http:// address for this integration (only when the operator allows it with "
        "RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS=true: test labs and simulators)",
    ),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Create (or reconfigure) an integration; secrets are prompted for or read from stdin, never argv.

    A second integration of the same provider (another Tactical server) is added with a new --name.
    """
    from rmmbridge.providers.registry import builtin_registry

    registry = builtin_registry()
    cls = (
        registry.get(provider)
        if provider in registry
        else fail(f"no provider '{provider}'; known: {', '.join(registry.keys())}")
    )
    values = _parse_sets(sets)
    if allow_insecure_url and "allow_insecure_url" in cls.config_model.model_fields:
        values["allow_insecure_url"] = True
    secret_names = sorted(cls.config_model.secret_fields())
    if secrets_stdin:
        try:
            given = json.loads(sys.stdin.read() or "{}")
        except ValueError:
            fail("--secrets-stdin expects a JSON object")
        if not isinstance(given, dict):
            fail("--secrets-stdin expects a JSON object")
        values.update({k: str(v) for k, v in given.items() if k in secret_names})
    else:
        needed = _needed_secrets(cls, auth_mode)
        for field in needed:
            values[field] = typer.prompt(field.replace("_", " ").capitalize(), hide_input=True)
        if "username" in cls.config_model.model_fields and auth_mode == "password" and "username" not in values:
            values["username"] = typer.prompt("Username")

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        row = await _integration_to_configure(db, ctx, cls, name)
        if row is None:
            row = await service.create_integration(
                db, ctx, state.registry, IntegrationCreate(provider=cls.key, name=name)
            )
        row = await service.save_credentials(
            state, db, ctx, row.id, CredentialsIn(instance_url=url, auth_mode=auth_mode, values=values)
        )
        return service.to_out(row, state.registry)

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
    else:
        console.print(
            f"saved {out.provider_name} integration {out.id} ({out.state}); next: "
            f"[bold]rmmbridge integrations test {out.id}[/]",
            highlight=False,
        )


async def _integration_to_configure(db: AsyncSession, ctx: TenantContext, cls: Any, name: str | None) -> Any:
    """Which integration ``add`` reconfigures, or ``None`` to create one.

    ``--name`` picks the integration of that name (created when there is none, so ``--name "Tactical
    EU"`` adds a second Tactical). Without it, the provider's only integration is reconfigured.
    """
    from rmmbridge.errors import Conflict

    if name:
        row = await repository.by_name(db, ctx, name)
        if row is not None and row.provider != cls.key:
            raise Conflict(f"the integration named “{row.name}” is a {row.provider} integration; choose another --name")
        return row
    existing = await repository.by_provider(db, ctx, cls.key)
    if len(existing) > 1:
        names = ", ".join(f"“{r.name}”" for r in sorted(existing, key=lambda r: r.created_at))
        raise Conflict(
            f"several {cls.display_name} integrations exist ({names}); pass --name to choose the one to "
            "reconfigure, or a new --name to add another"
        )
    return existing[0] if existing else None


def _needed_secrets(cls: Any, auth_mode: str | None) -> list[str]:
    """Secrets the chosen auth mode uses (by convention: api_key for api_key mode, password for password)."""
    secrets = cls.config_model.secret_fields()
    stored_only = {"token", "refresh_token", "access_token"}
    if auth_mode == "password":
        return [s for s in ("password",) if s in secrets]
    if auth_mode == "api_key" or (auth_mode is None and "api_key" in secrets):
        return [s for s in ("api_key",) if s in secrets] or sorted(secrets - stored_only)
    return sorted(secrets - stored_only)


@integrations_app.command("list")
def list_(tenant: str = TenantOpt, wide: bool = WideOpt, json_out: bool = JsonOpt) -> None:
    """List integrations."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        return [service.to_out(r, state.registry) for r in await repository.list_all(db, ctx)]

    rows = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(rows)
        return
    cols = [Col("id", ident=True), Col("name"), Col("provider", drop=2), Col("state"), Col("url", drop=3),
            Col("last device sync", drop=1)]  # fmt: skip
    table_rows = []
    for r in rows:
        last = r.sync_status.get("devices") or None
        table_rows.append([str(r.id), r.name, r.provider, r.state, r.instance_url or "",
                           last.last_success_at.isoformat(timespec="minutes") if last and last.last_success_at
                           else "never"])  # fmt: skip
    print_table(cols, table_rows, title=f"{len(rows)} integrations", wide=wide)


@integrations_app.command("show")
def show(integration: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Show one integration (credentials masked); --json is the REST API's integration object."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        row = await resolve_integration(db, ctx, integration)
        out = service.to_out(row, state.registry)
        if json_out:
            return out, None
        await public_url_noted(db, state.settings)
        return out, await webhook_info(state, db, row)

    out, hook = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    table = Table(show_header=False)
    for key in ("id", "provider_name", "name", "state", "state_message", "instance_url", "auth_mode", "connected_at"):
        table.add_row(key, str(getattr(out, key) or ""))
    for key, hint in out.credentials.items():
        table.add_row(key, hint)
    console.print(table)
    if hook.supported:
        # Plain lines, not table cells: a table wraps or crops a long URL, and it must copy whole.
        typer.echo(f"webhook url:    {hook.url}")
        typer.echo(f"webhook header: {hook.header}")
        typer.echo(f"webhook secret: {hook.secret_hint or 'not created (rotate-webhook-secret)'}")
        typer.echo(f"templates:      rmmbridge integrations webhook {out.id}")


@integrations_app.command("test")
def test(
    integration: str,
    totp: bool = typer.Option(False, "--totp", help="prompt for a one-time code"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Run the connection preflight; exit 1 when a check fails."""
    # The prompt goes to stderr: stdout carries only the result (--json stays parseable).
    code = typer.prompt("One-time code", hide_input=False, err=True) if totp else None

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        row = await resolve_integration(db, ctx, integration)
        return await service.test_connection(state, db, ctx, row.id, code)

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
    else:
        for check in out.checks:
            mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
            console.print(f"{mark} {check.name}: {check.message}", highlight=False)
            if not check.ok and check.fix:
                console.print(f"   fix: {check.fix}", highlight=False)
        if out.totp_required:
            console.print("the server asks for a one-time code: run again with --totp")
    raise typer.Exit(0 if out.ok else 1)


@integrations_app.command("disconnect")
def disconnect(
    integration: str,
    yes: bool = typer.Option(False, "--yes", help="do not ask"),
    remove_webhook: bool = typer.Option(
        False, "--remove-webhook", help="first remove what webhook provisioning created in the RMM"
    ),
    tenant: str = TenantOpt,
) -> None:
    """Delete stored credentials and the webhook secret; assets, mappings and history are kept."""
    if not yes:
        typer.confirm("Delete the credentials? Assets, mappings, alerts and history are kept.", abort=True)

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        row = await resolve_integration(db, ctx, integration)
        return await service.disconnect(state, db, ctx, row.id, remove_webhook)

    row = run(lambda: with_tenant(tenant, _do))
    console.print(row.state_message)


@integrations_app.command("rotate-webhook-secret")
def rotate_webhook_secret(integration: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Create or replace the webhook secret and print it once (the current one stops working)."""
    from rmmbridge.providers.base import Capability

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> WebhookSecretOut:
        row = await resolve_integration(db, ctx, integration)
        service.require_capability(state.registry, row, Capability.alert_webhook)
        from rmmbridge.integrations.provisioning import rotate_secret

        secret, _ = await rotate_secret(state, db, ctx, row)  # re-sent to the RMM when rmmbridge provisioned it
        await public_url_noted(db, state.settings)
        return WebhookSecretOut(secret=secret, info=await webhook_info(state, db, row, secret))

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    # The secret alone on the first line (easy to copy or pipe); never a trailing character next
    # to a value someone copies.
    typer.echo(out.secret)
    typer.echo(f"header: {out.info.header}")
    typer.echo(f"url:    {out.info.url}")
    console.print(
        "[dim]shown once. Paste-ready templates: rmmbridge integrations webhook "
        f"{integration} --reveal[/]",
        highlight=False,
        soft_wrap=True,
    )


@integrations_app.command("webhook")
def webhook(
    integration: str,
    reveal: bool = typer.Option(
        False, "--reveal", help="put the current secret into the headers template (prints it; admins)"
    ),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Everything to paste into the RMM: webhook URL, header, headers JSON and both body templates.

    Without --reveal the secret is not printed: the headers reference it the RMM's own way (Tactical:
    its Key Store). --json is the REST API's webhook object (with --reveal: the reveal answer).
    """
    from rmmbridge.errors import CapabilityNotSupported
    from rmmbridge.providers.base import Capability

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        row = await resolve_integration(db, ctx, integration)
        service.require_capability(state.registry, row, Capability.alert_webhook)
        await public_url_noted(db, state.settings)
        cls = state.registry.get(row.provider)
        if not reveal:
            return cls, row, await webhook_info(state, db, row)
        secret = await webhook_secrets.reveal(state, db, row)
        if secret is None:
            raise CapabilityNotSupported(
                f"no webhook secret yet; create one with `rmmbridge integrations rotate-webhook-secret {integration}`"
            )
        return cls, row, WebhookSecretOut(secret=secret, info=await webhook_info(state, db, row, secret))

    cls, row, out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    info: WebhookInfo = out.info if isinstance(out, WebhookSecretOut) else out
    print_webhook(cls, row, info, revealed=isinstance(out, WebhookSecretOut))


def print_webhook(cls: Any, row: Any, info: WebhookInfo, *, revealed: bool) -> None:
    """Plain lines (no Rich wrapping or markup) so every value and template pastes exactly."""
    echo = typer.echo
    echo(f"{cls.display_name} webhook of integration {row.name} ({row.id})")
    echo("")
    echo(f"URL:     {info.url}")
    echo("Method:  POST")
    # Other products' header names are still accepted (header_aliases) but never advertised.
    echo(f"Header:  {info.header}")
    if revealed:
        echo("Secret:  in the headers template below")
    elif info.secret_configured:
        echo(f"Secret:  {info.secret_hint} (not shown; --reveal puts it into the headers template)")
    else:
        echo(f"Secret:  none yet: rmmbridge integrations rotate-webhook-secret {row.id}")
    if not revealed and cls.webhook_secret_storage:
        echo("")
        echo(cls.webhook_secret_storage)
    titles = {"headers": "Headers (both web hooks)", "failure": "Body: failure (alert raised)",
              "resolved": "Body: resolved (alert resolved)"}  # fmt: skip
    # Headers first: both web hooks use them; then one body per web hook.
    for name, body in sorted(info.templates.items(), key=lambda kv: kv[0] != "headers"):
        echo("")
        echo(f"--- {titles.get(name, name)} ---")
        echo(body)
    echo("")
    echo(f"Deliveries: {info.deliveries_accepted} accepted, {info.deliveries_rejected} rejected; "
         f"{info.alerts_missed_by_webhook} alerts missed by the webhook")  # fmt: skip


@mappings_app.command("list")
def mappings_list(
    integration: str,
    q: str = typer.Option(None, "--search"),
    limit: int = typer.Option(500, "--limit", min=1, max=MAX_PAGE_SIZE, help="organizations per page"),
    page: int = PageOpt,
    wide: bool = WideOpt,
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Organizations of the integration (unmapped first)."""
    params = PageParams(page=page, page_size=limit)

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Page[MappingOut]:
        row = await resolve_integration(db, ctx, integration)
        rows, total = await paginate(db, repository.mappings_query(ctx, row.id, q), params)
        return make_page([mapping_out(m, n, c) for m, n, c in rows], total, params)

    out = run(lambda: with_tenant(tenant, _do))
    if json_out:
        emit_json(out)
        return
    cols = [Col("id", ident=True), Col("organization"), Col("client"), Col("auto-sync", drop=2),
            Col("assets", drop=1, justify="right"), Col("missing", drop=3)]  # fmt: skip
    print_table(cols, [
        [str(m.id), f"{m.external_org_name} ({m.external_org_id})", m.client_name or "—",
         "on" if m.auto_sync_assets else "off", str(m.asset_count), "yes" if m.missing_since else ""]
        for m in out.items
    ], title=page_title(out, "organizations"), wide=wide)  # fmt: skip


@mappings_app.command("set")
def mappings_set(
    integration: str,
    mapping: str = typer.Argument(..., help="mapping id or the organization's external id"),
    client: str = typer.Option(None, "--client", help="PSA client id or name"),
    unmap: bool = typer.Option(False, "--unmap"),
    auto_sync: bool = typer.Option(None, "--auto-sync/--no-auto-sync"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Map an organization to a PSA client, unmap it, or switch auto-sync."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        row = await resolve_integration(db, ctx, integration)
        mapping_row = await _resolve_mapping(db, ctx, row.id, mapping)
        client_id = await _resolve_client(db, ctx, client) if client else None
        updated = await mapping_service.update_mapping(
            db, ctx, row.id, mapping_row.id, MappingUpdate(client_id=client_id, auto_sync_assets=auto_sync, unmap=unmap)
        )
        return mapping_out(updated, client, 0)

    out = run(lambda: with_tenant(tenant, _do))
    emit_json(out) if json_out else console.print(f"{out.external_org_name} → {out.client_id or 'unmapped'}")


@mappings_app.command("create-client")
def mappings_create_client(integration: str, mapping: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """Create a PSA client named after the organization and map it."""

    async def _do(state: AppState, db: AsyncSession, ctx: TenantContext) -> Any:
        row = await resolve_integration(db, ctx, integration)
        mapping_row = await _resolve_mapping(db, ctx, row.id, mapping)
        updated = await mapping_service.create_client_for_mapping(db, ctx, row.id, mapping_row.id)
        return mapping_out(updated, updated.external_org_name, 0)

    out = run(lambda: with_tenant(tenant, _do))
    emit_json(out) if json_out else console.print(f"{out.external_org_name} → client {out.client_id}")


async def _resolve_mapping(db: AsyncSession, ctx: TenantContext, integration_id: Any, ref: str) -> Any:
    import uuid

    from sqlalchemy import select

    from rmmbridge.errors import NotFound
    from rmmbridge.storage.models import RmmOrganizationMapping as M

    query = select(M).where(M.tenant_id == ctx.tenant_id, M.integration_id == integration_id)
    try:
        found = await db.scalar(query.where(M.id == uuid.UUID(ref)))
    except ValueError:
        found = None
    found = found or await db.scalar(query.where(M.external_org_id == ref))
    if found is None:
        raise NotFound(f"no organization mapping '{ref}'")
    return found


async def _resolve_client(db: AsyncSession, ctx: TenantContext, ref: str) -> Any:
    import uuid

    from rmmbridge.clients import repository as clients_repo
    from rmmbridge.errors import NotFound

    try:
        client = await clients_repo.get(db, ctx, uuid.UUID(ref))
    except ValueError:
        client = await clients_repo.find_live_by_name(db, ctx, ref)
    if client is None:
        raise NotFound(f"no client '{ref}'")
    return client.id


@integrations_app.command("webhook-templates")
def webhook_templates(integration: str, tenant: str = TenantOpt, json_out: bool = JsonOpt) -> None:
    """The RMM's alert templates (read live) for `provision-webhook --template`: active, default,
    the mapped scopes each applies to; `*` marks the default choice."""
    from dataclasses import asdict

    from rmmbridge.errors import WrongState
    from rmmbridge.integrations import provisioning

    from .context import outside_transaction

    async def _do(state: AppState, ctx: TenantContext) -> provisioning.TemplatePicker:
        async with unit_of_work(state.sessionmaker, read_only=True) as db:
            row = await resolve_integration(db, ctx, integration)
        picker = await provisioning.template_picker(state, ctx, row.id)
        if picker is None:
            raise WrongState(provisioning.NO_TEMPLATES_TO_PICK)
        return picker

    picker = run(lambda: outside_transaction(tenant, _do))
    if json_out:
        emit_json({
            "templates": [{**asdict(c), "preselected": c.preselected} for c in picker.choices],
            "error": picker.error, "fix": picker.fix,
        })  # fmt: skip
    else:
        for c in picker.choices:
            applies = "unknown" if c.applies_to is None else (
                ", ".join(picker.scope_names.get(s, s) for s in c.applies_to) or "none")
            flags = ", ".join(f for f in ("active" if c.active else "inactive", "default" if c.default else "") if f)
            action = "rmmbridge's" if c.ours else (c.action or "none")
            console.print(f"{'*' if c.preselected else ' '} {c.id:>5}  {c.name}  ({flags}; applies to: {applies}; "
                          f"failure action: {action})", highlight=False)  # fmt: skip
        if picker.error:
            console.print(f"could not read the alert templates: {picker.error}", highlight=False)
            if picker.fix:
                console.print(f"fix: {picker.fix}", highlight=False)
    raise typer.Exit(1 if picker.error else 0)


@integrations_app.command("provision-webhook")
def provision_webhook(
    integration: str,
    templates: list[str] = typer.Option(
        [], "--template", help="the RMM alert template id to attach to (repeatable; default: every active one that "
        "applies to a mapped client — see `webhook-templates`)"
    ),
    no_test: bool = typer.Option(False, "--no-test", help="do not send a test alert through the RMM"),
    tenant: str = TenantOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Configure the RMM's alert webhook through its API (idempotent), then send a test alert."""
    from rmmbridge.integrations import provisioning

    from .context import outside_transaction

    async def _do(state: AppState, ctx: TenantContext) -> dict[str, Any]:
        async with unit_of_work(state.sessionmaker, read_only=True) as db:
            row = await resolve_integration(db, ctx, integration)
        return await provisioning.provision(
            state, ctx, row.id, template_ids=templates or None, send_test=not no_test
        )

    report = run(lambda: outside_transaction(tenant, _do))
    if json_out:
        emit_json(report)
    else:
        for step in report["steps"]:
            detail = f": {step['detail']}" if step["detail"] else ""
            console.print(f"{step['outcome']:>9}  {step['item']}{detail}", highlight=False)
            if step.get("fix"):
                console.print(f"           fix: {step['fix']}", highlight=False)
        if report["test_delivered"] is not None:
            console.print(("test alert: " if report["test_delivered"] else "test alert FAILED: ")
                          + str(report["test_detail"]), highlight=False)  # fmt: skip
    raise typer.Exit(0 if report["ok"] and report["test_delivered"] is not False else 1)
