"""Counterpart shapes of every real capture in reference/captures/ninjaone (written for this project,
not copied): omitted keys, nine-decimal epoch seconds, millisecond webhook params, a VMware host
without os/system, a stale embedded webhook device, the auth error bodies — each normalizes (or is
classified) correctly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmmbridge.providers.base import DeviceActivity, InvalidRecord, WebhookRequest
from rmmbridge.providers.ninjaone import NinjaOneProvider
from rmmbridge.providers.ninjaone import normalize as n

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2025, 6, 15, 16, 0, tzinfo=UTC)


def load(name: str):  # type: ignore[no-untyped-def]
    return json.loads((FIXTURES / name).read_text())


def test_fixtures_keep_nine_decimal_seconds_as_printed() -> None:
    assert "1750000100.744000000" in (FIXTURES / "devices_detailed.json").read_text()
    assert "1749500000.000000000" in (FIXTURES / "devices_detailed.json").read_text()


def test_basic_devices_with_omitted_keys() -> None:
    host, server = (n.device_snapshot(row, NOW) for row in load("devices.json"))
    assert host.asset_type == "server" and host.name == "10.20.30.41"  # displayName can be an IP
    assert host.last_seen_at == datetime.fromtimestamp(1750000000.125, tz=UTC)
    assert server.name == "FILESRV-LONGNAM"  # no displayName (omitted, not null): systemName
    assert server.offline_after_s == 0  # NinjaOne says offline: offline now
    assert "serial_number" not in (server.reported or ())  # absent is "no change", never "empty"


def test_devices_detailed_inventory() -> None:
    snap = n.device_snapshot(load("devices_detailed.json")[0], NOW)
    assert snap.realm_id == "8" and snap.site_id == "12" and snap.site_name == "DC West"
    assert snap.serial_number == "VMware-42 1a 2b 3c" and snap.ram_bytes == 34359738368
    assert snap.os_name == "Windows Server 2022 Standard" and snap.os_version == "21H2 20348"
    assert snap.boot_time == datetime(2025, 6, 9, 20, 13, 20, tzinfo=UTC)
    assert snap.primary_ip == "10.8.0.77" and snap.wan_ip == "198.51.100.7"
    assert snap.mac_addresses == ("00:50:56:aa:bb:77",)  # repeated and uppercase in real data
    assert [v.device for v in snap.volumes] == ["C:"] and snap.volumes[0].percent_used == 50
    assert snap.cpu_model and snap.cpu_cores == 4 and snap.current_user == "CORP\\svc-rds"


def test_vmware_host_top_level_shape() -> None:
    snap = n.device_snapshot(load("device_vmhost.json"), NOW)
    assert snap.asset_type == "server" and snap.os_name == "VMware ESXi 7.0.3 build-20328353"
    assert snap.manufacturer == "Dell Inc." and snap.ram_bytes == 274877906944 and snap.cpu_threads == 32
    assert snap.mac_addresses == ("aa:bb:cc:00:00:41", "aa:bb:cc:00:00:42")
    assert snap.primary_ip == "10.20.30.41" and "fe80::aa:bbff:fecc:41" in snap.lan_ips


def test_alert_without_severity_or_priority() -> None:
    event = n.alert_event(load("alerts.json")[0])
    assert event.external_alert_id == "9a8b7c6d-0000-4000-8000-0000000000a1" and event.severity == "info"
    assert event.raised_at == datetime.fromtimestamp(1749985200, tz=UTC)
    assert event.attributes["condition"] == "5e6f7a8b-0000-4000-8000-0000000000c1:1074"


def test_webhook_with_millisecond_params_and_stale_device() -> None:
    body = (FIXTURES / "webhook_trigger.json").read_bytes()
    event = NinjaOneProvider.parse_webhook(WebhookRequest({}, body))
    assert event.external_alert_id == "1f2e3d4c-0000-4000-8000-0000000000b1" and event.status == "active"
    assert event.raised_at == datetime.fromtimestamp(1750000500.311, tz=UTC)  # activityTime, seconds
    assert event.external_device_id == "41"
    # The embedded device is stale and used to find the device only: nothing in the event comes from it.
    assert "last_seen_at" not in event.attributes and event.attributes["activity_id"] == 203311
    for status_code, refresh in (("NODE_UPDATED", True), ("CLIENT_UPDATED", False), ("FUTURE_THING", False)):
        payload = {**json.loads(body), "statusCode": status_code, "activityType": "SYSTEM"}
        with pytest.raises(DeviceActivity) as info:
            NinjaOneProvider.parse_webhook(WebhookRequest({}, json.dumps(payload).encode()))
        assert info.value.refresh is refresh
    with pytest.raises(InvalidRecord):
        NinjaOneProvider.parse_webhook(WebhookRequest({}, b"<html>"))


def test_milliseconds_at_top_level_are_a_counted_bug_signal() -> None:
    before = n.UNITS.millis_seen
    assert n.epoch_seconds(1750000500311) == datetime.fromtimestamp(1750000500.311, tz=UTC)
    assert n.UNITS.millis_seen == before + 1
