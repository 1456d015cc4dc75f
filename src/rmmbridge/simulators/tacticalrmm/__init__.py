"""A faithful Tactical RMM 1.5.x simulator: deterministic fleets, the real API's shapes and quirks.

``generate_fleet`` builds a fleet, ``create_app`` serves it as an ASGI app (API or dashboard host),
``serve`` runs one on a loopback port, ``status_of`` is Tactical's agent status rule.
"""

from .app import TacticalSimulator, create_app
from .auth import (
    API_KEY_USER,
    DEFAULT_API_KEY,
    DEFAULT_CREDENTIALS,
    SUPERUSER_ROLE,
    ApiKey,
    Role,
    SimCredentials,
    TacticalUser,
    credentials_for_seed,
    default_users,
)
from .computed import status_of
from .fleet import AgentRecord, Alert, Client, Site, TacticalFleet, generate_fleet
from .server import serve
from .totp import totp, verify_totp

__all__ = [
    "API_KEY_USER",
    "DEFAULT_API_KEY",
    "DEFAULT_CREDENTIALS",
    "SUPERUSER_ROLE",
    "AgentRecord",
    "Alert",
    "ApiKey",
    "Client",
    "Role",
    "SimCredentials",
    "Site",
    "TacticalFleet",
    "TacticalSimulator",
    "TacticalUser",
    "create_app",
    "credentials_for_seed",
    "default_users",
    "generate_fleet",
    "serve",
    "status_of",
    "totp",
    "verify_totp",
]
