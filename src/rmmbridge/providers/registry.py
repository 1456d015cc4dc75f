"""The provider registry: filled by ``@register_provider`` at import, frozen at start-up."""

from __future__ import annotations

from collections.abc import Iterator

from rmmbridge.errors import NotFound

from .base import Provider


class ProviderRegistry:
    def __init__(self) -> None:
        self._providers: dict[str, type[Provider]] = {}
        self._frozen = False

    def register(self, cls: type[Provider]) -> type[Provider]:
        if self._frozen:
            raise RuntimeError(f"provider registry is frozen; cannot register {cls.key!r} after start-up")
        if cls.key in self._providers and self._providers[cls.key] is not cls:
            raise RuntimeError(f"provider key {cls.key!r} registered twice")
        for attr in ("key", "display_name", "capabilities", "config_model"):
            if not hasattr(cls, attr):
                raise TypeError(f"provider {cls.__name__} lacks {attr}")
        self._providers[cls.key] = cls
        return cls

    def freeze(self) -> ProviderRegistry:
        self._frozen = True
        return self

    @property
    def frozen(self) -> bool:
        return self._frozen

    def copy(self) -> ProviderRegistry:
        """An unfrozen copy (tests add their own providers to it)."""
        new = ProviderRegistry()
        new._providers = dict(self._providers)
        return new

    def get(self, key: str) -> type[Provider]:
        try:
            return self._providers[key]
        except KeyError:
            raise NotFound(f"no provider '{key}'; known: {', '.join(sorted(self._providers)) or 'none'}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._providers

    def __iter__(self) -> Iterator[type[Provider]]:
        return iter(sorted(self._providers.values(), key=lambda p: p.display_name.lower()))

    def keys(self) -> list[str]:
        return sorted(self._providers)


_builtin = ProviderRegistry()


def register_provider(cls: type[Provider]) -> type[Provider]:
    """Class decorator: add a provider to the built-in registry."""
    return _builtin.register(cls)


def builtin_registry() -> ProviderRegistry:
    """The built-in providers (importing their modules registers them), as an unfrozen copy."""
    import importlib

    for module in ("rmmbridge.providers.tacticalrmm", "rmmbridge.providers.tanium", "rmmbridge.providers.ninjaone"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a provider that exists but fails to import is a real error
                raise
    return _builtin.copy()
