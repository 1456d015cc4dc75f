"""Tactical RMM provider: importing this package registers it (``@register_provider``)."""

from .config import TacticalConfig, normalize_instance_url
from .provider import TacticalProvider

__all__ = ["TacticalConfig", "TacticalProvider", "normalize_instance_url"]
