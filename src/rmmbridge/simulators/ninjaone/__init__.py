"""NinjaOne simulator: every regional instance, OAuth2 (both grants, PKCE, rotation), bare-array
``after`` lists, expiring query cursors, alerts, webhook configuration and delivery, faults.

See ``reference/ninjaone.md`` §9. ``create_app(generate_fleet(...))`` in tests; ``serve()`` on a port.
"""

from .app import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INSTANCE,
    WEB_CLIENT_ID,
    WEB_CLIENT_SECRET,
    create_app,
    parse_df,
    serve,
)
from .fleet import AGENT_CLASSES, FUTURE_CLASS, NODE_CLASSES, NinjaFleet, generate_fleet
from .state import INSTANCES, Modes, NinjaSimulator

__all__ = [
    "AGENT_CLASSES",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_INSTANCE",
    "FUTURE_CLASS",
    "INSTANCES",
    "NODE_CLASSES",
    "WEB_CLIENT_ID",
    "WEB_CLIENT_SECRET",
    "Modes",
    "NinjaFleet",
    "NinjaSimulator",
    "create_app",
    "generate_fleet",
    "parse_df",
    "serve",
]
