"""NinjaOne provider: importing this package registers it (``@register_provider``)."""

from .config import REGION_HOSTS, NinjaOneConfig
from .provider import HEADER, NinjaOneProvider

__all__ = ["HEADER", "REGION_HOSTS", "NinjaOneConfig", "NinjaOneProvider"]
