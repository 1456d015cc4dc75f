"""Tanium provider: importing this package registers it (``@register_provider``)."""

from .config import TaniumConfig, normalize_instance_url, normalize_instance_url_with_note
from .normalize import KnownDevice, owner_group
from .provider import TaniumProvider

__all__ = [
    "KnownDevice",
    "TaniumConfig",
    "TaniumProvider",
    "normalize_instance_url",
    "normalize_instance_url_with_note",
    "owner_group",
]
