"""``serve()``: run a simulated Tactical API on a loopback port for demos and manual testing."""

from __future__ import annotations

from datetime import UTC, datetime

from ..connections import ConnectionPolicy, protocol_for
from .app import create_app
from .auth import SimCredentials, credentials_for_seed, default_users
from .fleet import generate_fleet
from .serving_cost import ServingCostModel
from .totp import totp


def banner(url: str, creds: SimCredentials, now: datetime) -> str:
    return "\n".join((
        "Simulated Tactical RMM 1.5.x API",
        f"  URL:            {url}",
        f"  X-API-KEY:      {creds.api_key}",
        f"  user (no 2FA):  {creds.username} / {creds.password}",
        f"  user (TOTP):    {creds.totp_username} / {creds.totp_password}",
        f"  TOTP secret:    {creds.totp_secret}  (code now: {totp(creds.totp_secret, now)})",
        f"  control API:    {url}/_sim/state",
    ))


def serve(
    host: str = "127.0.0.1",
    port: int = 8010,
    seed: int = 1,
    clients: int = 20,
    agents: int = 2000,
    close_connections: bool = True,
    serving_cost: ServingCostModel | None = None,
    shared_fleet: int | None = None,
    overlap: float = 0.6,
    url_action_test_run: bool = True,
) -> None:
    """Build a fleet and a simulator from ``seed``, print its URL and credentials, run uvicorn.

    ``close_connections``: close each kept-alive connection after its response, as the uWSGI in
    front of a real Tactical does (see :mod:`rmmbridge.simulators.connections`).
    ``serving_cost``: answer as slowly as the real server does (``serving_cost.py``).
    ``url_action_test_run`` off: a server older than ``POST /core/urlaction/run/test/`` (HTML 404).
    """
    import uvicorn

    creds = credentials_for_seed(seed)
    fleet = generate_fleet(seed=seed, clients=clients, agents=agents)
    if shared_fleet is not None:  # machines shared with other simulators started with the same seed
        from .shared import apply_shared_fleet

        apply_shared_fleet(fleet, shared_fleet, overlap)
    app = create_app(fleet, api_key=creds.api_key, users=default_users(creds), live_agents=True, stop_share=0.03,
                     serving_cost=serving_cost, url_action_test_run=url_action_test_run)
    print(banner(f"http://{host}:{port}", creds, datetime.now(UTC)), flush=True)
    if serving_cost is not None:
        print(f"  serving cost:   {serving_cost.request_s * 1000:g} ms per request + per row, "
              f"{serving_cost.workers} workers", flush=True)
    http = protocol_for(ConnectionPolicy()) if close_connections else "auto"
    uvicorn.run(app, host=host, port=port, log_level="info", http=http)


if __name__ == "__main__":
    serve()
