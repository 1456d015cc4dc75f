"""``rmmbridge simulate PROVIDER``: run a provider's simulator on a loopback port."""

from __future__ import annotations

import typer

simulate_app = typer.Typer(help="Run an RMM simulator (for trying rmmbridge without a real RMM).", no_args_is_help=True)


@simulate_app.command("tacticalrmm")
def tacticalrmm(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8010, "--port"),
    clients: int = typer.Option(20, "--clients", min=1),
    agents: int = typer.Option(2000, "--agents", min=0),
    seed: int = typer.Option(1, "--seed"),
    close_connections: bool = typer.Option(
        True,
        "--close-connections/--keep-connections",
        help="Close each kept-alive connection after its response, as Tactical's uWSGI does (the next request "
        "sent on it is lost unread).",
    ),
) -> None:
    """Tactical RMM 1.5 API simulator (prints its URL and credentials)."""
    from rmmbridge.simulators.tacticalrmm import serve

    serve(host=host, port=port, seed=seed, clients=clients, agents=agents, close_connections=close_connections)


@simulate_app.command("tanium")
def tanium(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8020, "--port"),
    groups: int = typer.Option(8, "--groups", min=1),
    endpoints: int = typer.Option(2000, "--endpoints", min=0),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Tanium Gateway + Asset API simulator (prints its URL and token)."""
    from rmmbridge.simulators.tanium import serve

    serve(host=host, port=port, seed=seed, groups=groups, endpoints=endpoints)
