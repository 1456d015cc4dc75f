"""Entry point: ``rmmbridge …``."""

from __future__ import annotations

import typer

from . import admin, server

app = typer.Typer(
    name="rmmbridge",
    help="rmmbridge: RMM fleets as PSA assets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(server.serve)
app.command("config")(server.config_table)
app.add_typer(server.db_app, name="db")
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.user_app, name="user")
app.add_typer(admin.token_app, name="token")


def main() -> None:
    app()
