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

    out = run(lambda: with_db(_do, create=True))  # the first command of a deployment may start it
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
        from rmmbridge.tenancy import users
        from rmmbridge.tenancy.auth import system_context

        t = await service.find_tenant(db, tenant)
        return UserOut.model_validate(await users.add_user(db, system_context(t.id, "cli"), email, password, role))

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
        from rmmbridge.tenancy import users
        from rmmbridge.tenancy.auth import system_context

        user = await service.find_user_by_email(db, email)
        issued = await service.issue_api_token(db, user, name)
        await users.audit(db, system_context(user.tenant_id, "cli"), "api_token.created", "api_token",
                          issued.info.id, issued.info.name, owner=user.email)  # fmt: skip
        return issued

    issued = run(lambda: with_db(_do))
    if json_out:
        emit_json(issued)
        return
    console.print(issued.token, highlight=False)
    console.print(f"[dim]token '{issued.info.name}' ({issued.info.id}); shown once, store it now[/]", highlight=False)


@token_app.command("revoke")
def token_revoke(
    token_id: str = typer.Argument(None, help="the token's id or a unique prefix of it (`rmmbridge token list`)"),
    stdin: bool = typer.Option(False, "--stdin", help="read the token value itself from stdin"),
    tenant: str = typer.Option(
        None, "--tenant", "-t", envvar="RMMBRIDGE_TENANT", help="tenant name or id (for a prefix)"
    ),
) -> None:
    """Revoke an API token, by id (or unique prefix) or by its value on stdin."""
    import uuid

    from rmmbridge.storage.models import ApiToken

    from .common import fail

    async def _do(db: AsyncSession) -> str:
        if stdin:
            row = await service.revoke_api_token_by_value(db, read_secret("Token", True))
        else:
            from rmmbridge.tenancy import users
            from rmmbridge.tenancy.auth import system_context

            from .context import resolve_tenant

            ref = str(token_id).strip().lower()
            found = None
            try:
                found = await db.scalar(select(ApiToken).where(ApiToken.id == uuid.UUID(ref)))
            except ValueError:
                pass
            if found is None:
                hexits = ref.replace("-", "")
                if not hexits or any(c not in "0123456789abcdef" for c in hexits):
                    fail(f"'{token_id}' is not a token id; `rmmbridge token list` shows them")
                if len(ref) < 4:
                    fail(f"no API token '{token_id}' (give its id, or at least 4 characters of it)")
                tenant_row = await resolve_tenant(db, tenant)
                found = await users.find_token(db, system_context(tenant_row.id, "cli"), ref)
            row = await service.revoke_api_token(db, found.tenant_id, found.id)
            await users.audit(db, system_context(row.tenant_id, "cli"), "api_token.revoked", "api_token", row.id,
                              row.name)  # fmt: skip
        return f"revoked token '{row.name}' (…{row.last4})"

    if not stdin and not token_id:
        fail("give a token id, or --stdin with the token value")
    console.print(run(lambda: with_db(_do)))


# --------------------------------------------------------------------------- user and token management

TenantRef = typer.Option(
    None, "--tenant", "-t", envvar="RMMBRIDGE_TENANT", help="tenant name or id (default: the only one)"
)


def _print_users(rows: list[UserOut], wide: bool) -> None:
    from .tables import Col, print_table

    cols = [Col("id", ident=True), Col("email"), Col("role"), Col("status", drop=1), Col("last sign-in", drop=2)]
    print_table(cols, [
        [str(u.id), u.email, u.role.value, "active" if u.is_active else "disabled",
         u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never"]
        for u in rows
    ], title=f"{len(rows)} users", wide=wide)  # fmt: skip


async def _user_ctx(db: AsyncSession, email: str) -> tuple[object, object]:
    """The user named by e-mail and a CLI context (admin of that user's tenant) to act in."""
    from rmmbridge.tenancy.auth import system_context

    user = await service.find_user_by_email(db, email)
    return user, system_context(user.tenant_id, "cli")


@user_app.command("list")
def user_list(
    tenant: str = TenantRef,
    wide: bool = typer.Option(False, "--wide", help="every column at full width"),
    json_out: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """List the tenant's users (ids, roles, status, last sign-in)."""
    from rmmbridge.tenancy import users
    from rmmbridge.tenancy.auth import system_context

    from .context import resolve_tenant

    async def _do(db: AsyncSession) -> list[UserOut]:
        t = await resolve_tenant(db, tenant)
        return [users.user_out(u) for u in await db.scalars(users.users_query(system_context(t.id, "cli")))]

    rows = run(lambda: with_db(_do))
    emit_json(rows) if json_out else _print_users(rows, wide)


def _user_change(email: str, change: str, json_out: bool, **kwargs: object) -> None:
    from rmmbridge.tenancy import users

    async def _do(db: AsyncSession) -> UserOut:
        user, ctx = await _user_ctx(db, email)
        if change == "role":
            row = await users.set_role(db, ctx, user.id, str(kwargs["role"]))  # type: ignore[arg-type,attr-defined]
        elif change == "active":
            row = await users.set_active(db, ctx, user.id, bool(kwargs["active"]))  # type: ignore[arg-type,attr-defined]
        else:
            row = await users.reset_password(db, ctx, user.id, str(kwargs["password"]))  # type: ignore[arg-type,attr-defined]
        return users.user_out(row)

    out = run(lambda: with_db(_do))
    if json_out:
        emit_json(out)
    elif change == "role":
        console.print(f"{out.email} is now {out.role.value}", highlight=False)
    elif change == "active":
        console.print(f"{out.email} is {'active' if out.is_active else 'disabled (sessions and API tokens stopped)'}",
                      highlight=False)  # fmt: skip
    else:
        console.print(f"password of {out.email} set; their sessions ended", highlight=False)


@user_app.command("set-role")
def user_set_role(
    email: str = typer.Argument(..., help="the user's e-mail"),
    role: str = typer.Argument(..., help="admin | technician | viewer"),
    json_out: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Change a user's role (the tenant's last active admin cannot be demoted)."""
    _user_change(email, "role", json_out, role=role)


@user_app.command("disable")
def user_disable(email: str, json_out: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Disable a user: sign-in, sessions and API tokens stop (never the last active admin)."""
    _user_change(email, "active", json_out, active=False)


@user_app.command("enable")
def user_enable(email: str, json_out: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Enable a disabled user again."""
    _user_change(email, "active", json_out, active=True)


@user_app.command("reset-password")
def user_reset_password(
    email: str,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the new password from stdin"),
    json_out: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Set a user's password (an admin's reset; their UI sessions end)."""
    password = read_secret("New password", password_stdin)
    _user_change(email, "password", json_out, password=password)


@user_app.command("passwd")
def user_passwd(
    email: str,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the current then the new password from stdin (one per line)"
    ),
) -> None:
    """Change your own password: the current one is asked for first."""
    from rmmbridge.tenancy import users
    from rmmbridge.tenancy.auth import user_context

    current = read_secret("Current password", password_stdin)
    if password_stdin:
        new = read_secret("New password", True)
    else:
        new = typer.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)

    async def _do(db: AsyncSession) -> str:
        user = await service.find_user_by_email(db, email)
        row = await users.change_own_password(db, user_context(user), current, new)
        return row.email

    console.print(f"password of {run(lambda: with_db(_do))} changed; other sessions ended", highlight=False)


@token_app.command("list")
def token_list(
    tenant: str = TenantRef,
    email: str = typer.Option(None, "--email", help="only this user's tokens"),
    revoked: bool = typer.Option(False, "--revoked", help="include revoked tokens"),
    wide: bool = typer.Option(False, "--wide", help="every column at full width"),
    json_out: bool = typer.Option(False, "--json", help="print JSON (the REST API's token items)"),
) -> None:
    """List API tokens: id (what `token revoke` takes), name, owner, created, last used."""
    from rmmbridge.tenancy import users
    from rmmbridge.tenancy.auth import system_context
    from rmmbridge.tenancy.schemas import TokenListItem

    from .context import resolve_tenant

    async def _do(db: AsyncSession) -> list[TokenListItem]:
        t = await resolve_tenant(db, tenant)
        rows = await db.execute(users.tokens_query(system_context(t.id, "cli"), include_revoked=revoked))
        items = [users.token_row(tok, mail) for tok, mail in rows]
        return [
            TokenListItem(**r.token.model_dump(), owner_id=r.owner_id, owner_email=r.owner_email)
            for r in items if email is None or r.owner_email == email.strip().lower()
        ]  # fmt: skip

    rows = run(lambda: with_db(_do))
    if json_out:
        emit_json(rows)
        return
    from .tables import Col, print_table

    cols = [Col("id", ident=True), Col("name"), Col("owner", drop=1), Col("created", drop=3),
            Col("last used", drop=2)]  # fmt: skip
    if revoked:
        cols.append(Col("revoked"))
    table_rows = []
    for r in rows:
        cells = [str(r.id), f"{r.name} (…{r.last4})", r.owner_email, r.created_at.isoformat(timespec="minutes"),
                 r.last_used_at.isoformat(timespec="minutes") if r.last_used_at else "never"]  # fmt: skip
        if revoked:
            cells.append(r.revoked_at.isoformat(timespec="minutes") if r.revoked_at else "")
        table_rows.append(cells)
    print_table(cols, table_rows, title=f"{len(rows)} API tokens", wide=wide)
