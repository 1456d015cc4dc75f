"""``rmmbridge config``: the RMMBRIDGE_* variables, and the deployment-wide public base URL."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.config import Settings
from rmmbridge.deployment import public_url
from rmmbridge.deployment.public_url import PublicUrl

from .common import console, emit_json, fail, run, settings, with_db
from .context import public_url_noted

config_app = typer.Typer(
    help="Configuration: RMMBRIDGE_* variables (no subcommand) and the public base URL.",
    invoke_without_command=True,
)


@config_app.callback()
def config_table(ctx: typer.Context) -> None:
    """Print every RMMBRIDGE_* variable with its default and meaning."""
    if ctx.invoked_subcommand is not None:
        return
    from pathlib import Path

    from rich.table import Table

    table = Table("variable", "default", "meaning")
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = field.default_factory()  # type: ignore[call-arg]
        else:
            default = field.default if field.default not in (None, "", Path("")) else ""
        table.add_row(f"RMMBRIDGE_{name.upper()}", str(default), field.description or "")
    console.print(table)
    # Where this shell's commands look, resolved the way every command resolves it.
    s = settings()
    key = "RMMBRIDGE_SECRET_KEY (environment)" if s.secret_key is not None else str(s.secret_key_file)
    typer.echo(f"data directory: {s.data_dir}")
    typer.echo(f"database:       {s.database_url}")
    typer.echo(f"master key:     {key}")


SOURCES = {
    "serve": "published by `rmmbridge serve` from its RMMBRIDGE_BASE_URL",
    "cli": "set with `rmmbridge config set-base-url`",
    "environment": "not stored yet: this shell's RMMBRIDGE_BASE_URL",
    "default": "not stored yet: the built-in default",
}


def _as_json(url: PublicUrl) -> dict[str, object]:
    return {"base_url": url.base, "source": url.source, "stored": url.stored}


@config_app.command("base-url")
def base_url(json_out: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Show the public base URL that webhook URLs are built from, and where it comes from."""

    async def _do(db: AsyncSession) -> PublicUrl:
        return await public_url_noted(db, settings())

    url = run(lambda: with_db(_do))
    if json_out:
        emit_json(_as_json(url))
        return
    typer.echo(url.base)
    console.print(f"[dim]{SOURCES[url.source]}[/]", highlight=False)


@config_app.command("set-base-url")
def set_base_url(
    url: str = typer.Argument(..., help="the URL RMMs reach this service at, e.g. https://psa.example.com"),
    json_out: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Store the public base URL for every process (UI, API, CLI).

    A service started with RMMBRIDGE_BASE_URL publishes that value again when it starts.
    """
    from rmmbridge.kit.urls import check_public_base_url

    try:
        check_public_base_url(url)
    except ValueError as exc:
        fail(f"the base URL {exc}")

    async def _do(db: AsyncSession) -> PublicUrl:
        await public_url.store(db, url, "cli")
        return await public_url.current(db, settings())

    stored = run(lambda: with_db(_do))
    if json_out:
        emit_json(_as_json(stored))
        return
    typer.echo(stored.base)
    console.print(
        "[dim]stored; webhook URLs use it now. A service started with RMMBRIDGE_BASE_URL publishes that "
        "value again when it starts.[/]",
        highlight=False,
    )

