"""A pull-only variant of TinyRMM: no webhooks, no software, no single-device refresh.

Used to prove that capability flags are enforced by the runner, the API and the UI.
"""

from __future__ import annotations

from typing import ClassVar

from rmmbridge.providers.base import Capability

from .tinyrmm import TinyProvider


class TinyPullProvider(TinyProvider):
    key: ClassVar[str] = "tinypull"
    display_name: ClassVar[str] = "TinyPull"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.connection_test, Capability.scope_sync, Capability.device_sync}
    )
    webhook_header: ClassVar[str | None] = None
