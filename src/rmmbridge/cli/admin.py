"""Admin commands: tenants, users, API tokens."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.storage.models import Tenant
from rmmbridge.tenancy import service
from rmmbridge.tenancy.schemas import TenantOut, UserOut

from .common import console, emit_json, read_secret, run, with_db

tenant_app = typer.Typer(help="Tenants (MSP organizations).", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@tenant_app.command("create")
def tenant_create(name: str, json_out: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Create a tenant."""

    async def _do(db: AsyncSession) -> TenantOut:
        return TenantOut.model_validate(await service.create_tenant(db, name))

    out = run(lambda: with_db(_do))
    emit_json(out) if json_out else console.print(f"created tenant [bold]{out.name}[/] ({out.id})")


@tenant_app.command("list")
def tenant_list(json_out: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List tenants."""

    async def _do(db: AsyncSession) -> list[TenantOut]:
        return [TenantOut.model_validate(t) for t in await db.scalars(select(Tenant).order_by(Tenant.name))]

    rows = run(lambda: with_db(_do))
    if json_out:
        emit_json(rows)
        return
    table = Table("id", "name", "created")
    for t in rows:
        table.add_row(str(t.id), t.name, t.created_at.isoformat(timespec="seconds"))
    console.print(table)


@user_app.command("create")
def user_create(
    tenant: str = typer.Option(..., "--tenant", help="tenant name or id"),
    email: str = typer.Option(..., "--email"),
    role: str = typer.Option("admin", "--role", help="admin | technician | viewer"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
    json_out: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Create a user; the password comes from a prompt or stdin."""

    async def _do(db: AsyncSession) -> UserOut:
        t = await service.find_tenant(db, tenant)
        return UserOut.model_validate(await service.create_user(db, t.id, email, password, role))

    # Validate cheap things before prompting so a typo does not cost a password entry.
    from rmmbridge.tenancy.permissions import parse_role

    from .common import fail

    try:
        parse_role(role)
    except ValueError as exc:
        fail(str(exc))

    async def _tenant_exists(db: AsyncSession) -> None:
        await service.find_tenant(db, tenant)

    run(lambda: with_db(_tenant_exists))
    password = read_secret("Password", password_stdin)
    out = run(lambda: with_db(_do))
    emit_json(out) if json_out else console.print(f"created {out.role.value} [bold]{out.email}[/] ({out.id})")


@token_app.command("create")
def token_create(
    email: str = typer.Option(..., "--email", help="the user the token acts as"),
    name: str = typer.Option(..., "--name", help="what the token is for"),
    json_out: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Create an API token for a user and print it once."""

    async def _do(db: AsyncSession) -> service.IssuedToken:
        user = await service.find_user_by_email(db, email)
        return await service.issue_api_token(db, user, name)

    issued = run(lambda: with_db(_do))
    if json_out:
        emit_json(issued)
        return
    console.print(issued.token, highlight=False)
    console.print(f"[dim]token '{issued.info.name}' ({issued.info.id}); shown once, store it now[/]", highlight=False)


@token_app.command("revoke")
def token_revoke(
    token_id: str = typer.Argument(None, help="the token's id (from `token create --json`)"),
    stdin: bool = typer.Option(False, "--stdin", help="read the token value itself from stdin"),
) -> None:
    """Revoke an API token, by id or by its value on stdin."""
    import uuid

    from .common import fail

    async def _do(db: AsyncSession) -> str:
        if stdin:
            row = await service.revoke_api_token_by_value(db, read_secret("Token", True))
        else:
            try:
                tid = uuid.UUID(str(token_id))
            except ValueError:
                fail(f"'{token_id}' is not a token id")
            from rmmbridge.storage.models import ApiToken

            found = await db.scalar(select(ApiToken).where(ApiToken.id == tid))
            if found is None:
                fail(f"no API token {token_id}")
            row = await service.revoke_api_token(db, found.tenant_id, found.id)
        return f"revoked token '{row.name}' (…{row.last4})"

    if not stdin and not token_id:
        fail("give a token id, or --stdin with the token value")
    console.print(run(lambda: with_db(_do)))
