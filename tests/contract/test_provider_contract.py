"""The contract every registered provider must pass, over HTTP against its simulator."""

from __future__ import annotations

import inspect
from datetime import datetime

import pytest
from pydantic import SecretStr

from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.base import (
    AlertEvent,
    Capability,
    CheckResult,
    DeviceSnapshot,
    InvalidRecord,
    Provider,
    ProviderConfig,
    ProviderError,
    RemoteScope,
)
from tests.conftest import build_test_registry

from . import harnesses

REGISTRY = build_test_registry()
KEYS = [k for k in REGISTRY.keys() if k != "tinypull"]  # tinypull is tinyrmm with fewer flags
METHOD_OF = {
    Capability.connection_test: "test_connection", Capability.scope_sync: "list_scopes",
    Capability.device_sync: "iter_device_pages", Capability.device_refresh: "fetch_device",
    Capability.alert_polling: "iter_alerts", Capability.software_inventory: "iter_software",
    Capability.alert_webhook: "parse_webhook",
    Capability.alert_actions: "resolve_alerts", Capability.webhook_provisioning: "provision_webhook",
}


def load_harness_modules() -> None:
    import importlib

    for module in ("tests.contract.harness_tacticalrmm", "tests.contract.harness_tanium", "tests.contract.harness_ninjaone"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


load_harness_modules()


@pytest.fixture(params=KEYS)
async def harness(request):
    if request.param not in harnesses.HARNESSES:
        pytest.fail(f"provider {request.param!r} is registered but has no contract harness")
    h = await harnesses.HARNESSES[request.param](RoutedTransport())
    yield h
    await h.provider.aclose()


def test_every_registered_provider_has_a_harness():
    assert set(KEYS) <= set(harnesses.HARNESSES), set(KEYS) - set(harnesses.HARNESSES)


@pytest.mark.parametrize("key", KEYS)
def test_declaration(key):
    cls = REGISTRY.get(key)
    assert cls.key == key and cls.display_name
    assert cls.capabilities and cls.capabilities <= set(Capability)
    assert issubclass(cls.config_model, ProviderConfig)
    for name in cls.config_model.secret_fields():
        assert cls.config_model.model_fields[name].annotation in (SecretStr, SecretStr | None)
    for capability, method in METHOD_OF.items():
        # Compare the underlying functions: a classmethod is a new bound object on every access.
        mine, base = getattr(cls, method), getattr(Provider, method)
        implemented = getattr(mine, "__func__", mine) is not getattr(base, "__func__", base)
        assert implemented == (capability in cls.capabilities), f"{key}: {capability} vs {method}"
    if Capability.alert_webhook in cls.capabilities:
        assert cls.webhook_header


async def test_connection_checks_pass(harness):
    checks = await harness.provider.test_connection()
    assert checks and all(isinstance(c, CheckResult) for c in checks)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert len({c.name for c in checks}) == len(checks)


async def test_bad_credentials_fail_a_named_check_not_an_exception(harness):
    bad = await harness.bad_credentials()
    try:
        checks = await bad.test_connection()
    finally:
        await bad.aclose()
    failed = [c for c in checks if not c.ok]
    assert failed and failed[0].message


async def test_scopes(harness):
    scopes = await harness.provider.list_scopes()
    assert all(isinstance(s, RemoteScope) and s.name for s in scopes)
    ids = [s.external_id for s in scopes]
    assert len(ids) == len(set(ids))
    assert set(ids) == harness.expected_scopes


async def test_device_listing_is_complete_normalized_and_unique(harness):
    scopes = {s.external_id: s for s in await harness.provider.list_scopes()}
    seen: set[str] = set()
    for scope_id, expected in harness.expected_devices.items():
        listed = []
        async for page in harness.provider.iter_device_pages(scopes[scope_id]):
            assert not page.invalid or all(isinstance(i, InvalidRecord) for i in page.invalid)
            for snap in page.snapshots:
                assert isinstance(snap, DeviceSnapshot)
                assert snap.asset_type in ("workstation", "server", "unknown")
                assert snap.name
                for value in (snap.last_seen_at, snap.boot_time):
                    assert value is None or (isinstance(value, datetime) and value.tzinfo is not None)
                listed.append(snap.external_id)
        assert len(listed) == len(set(listed)), "a device listed twice"
        assert set(listed) == expected, scope_id
        seen |= set(listed)
    assert seen


async def test_single_device_refresh_matches_listing(harness):
    if Capability.device_refresh not in harness.provider.capabilities:
        pytest.skip("provider does not declare device refresh")
    scope_id, _ = next(iter(harness.expected_devices.items()))
    scope = next(s for s in await harness.provider.list_scopes() if s.external_id == scope_id)
    first = None
    async for page in harness.provider.iter_device_pages(scope):
        first = first or (page.snapshots[0] if page.snapshots else None)
    assert first is not None
    fetched = await harness.provider.fetch_device(first.external_id, first.external_ref)
    assert fetched is not None
    assert (fetched.external_id, fetched.name, fetched.realm_id, fetched.serial_number) == (
        first.external_id, first.name, first.realm_id, first.serial_number)
    assert await harness.provider.fetch_device(*harness.unknown_device) is None


async def test_a_broken_listing_raises_instead_of_truncating(harness):
    harness.break_listing()
    scopes = await harness.provider.list_scopes()
    with pytest.raises(ProviderError):
        for scope in scopes:
            async for _page in harness.provider.iter_device_pages(scope):
                pass


async def test_webhook_parsing(harness):
    if Capability.alert_webhook not in harness.provider.capabilities:
        pytest.skip("provider has no webhooks")
    event = harness.provider.parse_webhook(harness.webhook_ok)
    assert isinstance(event, AlertEvent) and event.external_alert_id
    assert event.severity in ("info", "warning", "error", "critical") and event.status in ("active", "resolved")
    for bad in harness.webhook_bad:
        with pytest.raises(InvalidRecord):
            harness.provider.parse_webhook(bad)


def test_normalization_is_pure():
    """normalize modules do no I/O: they import neither httpx nor the database layer."""
    import importlib

    for key in KEYS:
        module_name = f"rmmbridge.providers.{key}.normalize"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        source = inspect.getsource(module)
        for forbidden in ("import httpx", "sqlalchemy", "AsyncSession", "await "):
            assert forbidden not in source, f"{module_name} contains {forbidden!r}"
