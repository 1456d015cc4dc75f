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
    real_server_model: bool = typer.Option(
        False, "--real-server-model", help="Answer as slowly as a real Tactical server (per request, per row)."
    ),
    workers: int = typer.Option(4, "--workers", min=1, help="With --real-server-model: requests served at once."),
    load: float = typer.Option(
        1.0, "--load", min=0.0, help="With --real-server-model: row-cost factor (1 = idle server, ~3.6 = loaded)."
    ),
    shared_fleet: int | None = typer.Option(
        None, "--shared-fleet", help="Share machines with other simulators started with this seed."
    ),
    overlap: float = typer.Option(0.6, "--overlap", min=0.0, max=1.0, help="With --shared-fleet: share of machines."),
    url_action_test_run: bool = typer.Option(
        True,
        "--url-action-test-run/--no-url-action-test-run",
        help="Off: act as an older Tactical without POST /core/urlaction/run/test/ (\"Send test alert\" then falls "
        "back to a synthetic delivery).",
    ),
) -> None:
    """Tactical RMM 1.5 API simulator (prints its URL and credentials)."""
    from rmmbridge.simulators.tacticalrmm import serve
    from rmmbridge.simulators.tacticalrmm.serving_cost import ServingCostModel

    from .common import check_port

    check_port(host, port, "--port")

    model = ServingCostModel(workers=workers, load=load) if real_server_model else None
    serve(host=host, port=port, seed=seed, clients=clients, agents=agents, close_connections=close_connections,
          serving_cost=model, shared_fleet=shared_fleet, overlap=overlap, url_action_test_run=url_action_test_run)


@simulate_app.command("tanium")
def tanium(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8020, "--port"),
    groups: int = typer.Option(8, "--groups", min=1),
    endpoints: int = typer.Option(2000, "--endpoints", min=0),
    seed: int = typer.Option(1, "--seed"),
    shared_fleet: int | None = typer.Option(
        None, "--shared-fleet", help="Share machines with other simulators started with this seed."
    ),
    overlap: float = typer.Option(0.6, "--overlap", min=0.0, max=1.0, help="With --shared-fleet: share of machines."),
) -> None:
    """Tanium Gateway + Asset API simulator (prints its URL and token)."""
    from rmmbridge.simulators.tanium import serve

    from .common import check_port

    check_port(host, port, "--port")
    serve(host=host, port=port, seed=seed, groups=groups, endpoints=endpoints, shared_fleet=shared_fleet,
          overlap=overlap)


@simulate_app.command("ninjaone")
def ninjaone(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8030, "--port"),
    organizations: int = typer.Option(6, "--organizations", min=1),
    devices: int = typer.Option(600, "--devices", min=0),
    seed: int = typer.Option(1, "--seed"),
    close_connections: bool = typer.Option(
        True, "--close-connections/--keep-connections",
        help="Close each kept-alive connection after its response (the next request sent on it is lost unread).",
    ),
) -> None:
    """NinjaOne API v2 simulator: every region on one port, OAuth2 (prints its URL and credentials)."""
    from rmmbridge.simulators.ninjaone import serve

    from .common import check_port

    check_port(host, port, "--port")
    serve(host=host, port=port, seed=seed, orgs=organizations, devices=devices, close_connections=close_connections)
