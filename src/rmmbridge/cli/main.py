"""Entry point: ``rmmbridge …``."""

from __future__ import annotations

import typer

from . import admin, config, demo, integrations, inventory, schedules, server, simulate, sync
from . import alerts as alerts_cli
from . import identity as identity_cli
from .delivery import delivery_app


def _hide_flag_types() -> None:
    """Typer's help shows ``<bool>`` beside every switch (``--json <bool>``), as if it took a value;
    a switch takes none, so its type column stays empty."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag else shown(self, ctx)  # type: ignore[arg-type]

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()

app = typer.Typer(
    name="rmmbridge",
    help="rmmbridge: RMM fleets as PSA assets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _configure(
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="log INFO on stderr (-vv: DEBUG); default: warnings only"
    ),
) -> None:
    """Logs go to stderr (stdout stays clean for --json).

    An operator command logs warnings only unless -v: RMMBRIDGE_LOG_LEVEL is the *service's* level
    (the documented default INFO would print Alembic's and httpx's per-request lines on every
    command). ``serve``, ``worker`` and ``demo`` re-apply RMMBRIDGE_LOG_LEVEL themselves.
    """
    import os

    from rmmbridge.kit.logging import configure_logging

    level = "DEBUG" if verbose >= 2 else "INFO" if verbose == 1 else "WARNING"
    configure_logging(level, os.environ.get("RMMBRIDGE_LOG_FORMAT", "console"))


app.command("serve")(server.serve)
app.command("worker")(server.worker)
app.add_typer(config.config_app, name="config")
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
app.add_typer(alerts_cli.alerts_app, name="alerts")
app.add_typer(inventory.clients_app, name="clients")
app.add_typer(inventory.assets_app, name="assets")
app.add_typer(simulate.simulate_app, name="simulate")
app.add_typer(identity_cli.identity_app, name="identity")
app.add_typer(delivery_app, name="delivery")


def main() -> None:
    from rmmbridge.kit.crypto import DecryptionError, MasterKeyError

    from .common import KEY_FIX, fail

    # The last net under every command: a key problem is one line naming the variable, never a
    # traceback (commands going through `common.run` already say so in their own words).
    try:
        app()
    except MasterKeyError as exc:
        try:
            fail(f"the master key is not usable: it {exc}. Fix RMMBRIDGE_SECRET_KEY, or unset it to use the "
                 "key file (RMMBRIDGE_SECRET_KEY_FILE)", 2)  # fmt: skip
        except typer.Exit as done:
            raise SystemExit(done.exit_code) from None
    except DecryptionError:
        try:
            fail(f"stored secrets do not open with this master key; {KEY_FIX}", 2)
        except typer.Exit as done:
            raise SystemExit(done.exit_code) from None
