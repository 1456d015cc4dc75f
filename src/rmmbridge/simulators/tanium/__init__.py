"""Tanium simulator: API Gateway (GraphQL) and Asset REST API over a deterministic fleet, with fault
injection.

See ``reference/tanium.md`` §9 for what it reproduces. Typical use in a test::

    fleet = generate_fleet(seed=3, groups=4, endpoints=500, now=NOW)
    app = create_app(fleet, clock=lambda: NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=...) as client: ...
"""

from rmmbridge.simulators.tanium.app import (
    ASSET_PREFIX,
    DEFAULT_CURSOR_TTL_S,
    DEFAULT_MAX_PAGE_SIZE,
    GATEWAY_PATH,
    SESSION_VALIDATE_PATH,
    create_app,
    serve,
)
from rmmbridge.simulators.tanium.fleet import (
    ALL_COMPUTERS_ID,
    ComputerGroup,
    Endpoint,
    IdChange,
    TaniumFleet,
    generate_fleet,
    installed_applications,
)
from rmmbridge.simulators.tanium.schema import GATEWAY_SDL
from rmmbridge.simulators.tanium.state import SimModes, TaniumSimulator
from rmmbridge.simulators.tanium.tokens import DEFAULT_TOKEN

__all__ = [
    "ALL_COMPUTERS_ID",
    "ASSET_PREFIX",
    "DEFAULT_CURSOR_TTL_S",
    "DEFAULT_MAX_PAGE_SIZE",
    "DEFAULT_TOKEN",
    "GATEWAY_PATH",
    "GATEWAY_SDL",
    "SESSION_VALIDATE_PATH",
    "ComputerGroup",
    "Endpoint",
    "IdChange",
    "SimModes",
    "TaniumFleet",
    "TaniumSimulator",
    "create_app",
    "generate_fleet",
    "installed_applications",
    "serve",
]
