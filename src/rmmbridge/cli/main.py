"""Entry point: ``rmmbridge …``."""

from __future__ import annotations

import typer

from . import admin, demo, integrations, inventory, schedules, server, simulate, sync

app = typer.Typer(
    name="rmmbridge",
    help="rmmbridge: RMM fleets as PSA assets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
@app.callback()
def _configure() -> None:
    """Logs go to stderr (stdout stays clean for --json), at WARNING unless RMMBRIDGE_LOG_LEVEL says."""
    import os

    from rmmbridge.kit.logging import configure_logging

    configure_logging(os.environ.get("RMMBRIDGE_LOG_LEVEL", "WARNING").upper(),
                      os.environ.get("RMMBRIDGE_LOG_FORMAT", "console"))


app.command("serve")(server.serve)
app.command("worker")(server.worker)
app.command("config")(server.config_table)
app.command("demo")(demo.demo)
app.add_typer(server.db_app, name="db")
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.user_app, name="user")
app.add_typer(admin.token_app, name="token")
integrations.integrations_app.command("schedule")(schedules.schedule)
app.add_typer(integrations.integrations_app, name="integrations")
app.add_typer(integrations.mappings_app, name="mappings")
app.add_typer(sync.sync_app, name="sync")
app.add_typer(sync.runs_app, name="runs")
app.add_typer(inventory.clients_app, name="clients")
app.add_typer(inventory.assets_app, name="assets")
app.add_typer(simulate.simulate_app, name="simulate")


def main() -> None:
    app()
