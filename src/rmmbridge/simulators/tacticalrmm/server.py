"""``serve()``: run a simulated Tactical API on a loopback port for demos and manual testing."""

from __future__ import annotations

from datetime import UTC, datetime

from .app import create_app
from .auth import SimCredentials, credentials_for_seed, default_users
from .fleet import generate_fleet
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


def serve(host: str = "127.0.0.1", port: int = 8010, seed: int = 1, clients: int = 20, agents: int = 2000) -> None:
    """Build a fleet and a simulator from ``seed``, print its URL and credentials, run uvicorn."""
    import uvicorn

    creds = credentials_for_seed(seed)
    fleet = generate_fleet(seed=seed, clients=clients, agents=agents)
    app = create_app(fleet, api_key=creds.api_key, users=default_users(creds), live_agents=True, stop_share=0.03)
    print(banner(f"http://{host}:{port}", creds, datetime.now(UTC)), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


if __name__ == "__main__":
    serve()
