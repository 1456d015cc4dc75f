"""Junk identity values are never evidence; real ones are normalized so two RMMs agree."""

from __future__ import annotations

import pytest

from rmmbridge.providers.base import DeviceSnapshot, IdentityEvidence
from rmmbridge.providers.identity_evidence import conflict, evidence_of, host_key, keys_of, physical_macs, vendor_token
from rmmbridge.providers.identity_junk import (
    is_junk_mac,
    is_junk_serial,
    is_junk_uuid,
    is_virtual_adapter,
    normalize_mac,
    normalize_serial,
    normalize_uuid,
)


@pytest.mark.parametrize(
    "serial",
    [
        "To Be Filled By O.E.M.",
        "TO BE FILLED BY OEM",
        "Default string",
        "System Serial Number",
        "0",
        "None",
        "Not Specified",
        "123456789",
        "0123456789",
        "00000000",
        "XXXXXXXXXX",
        "",
        "  ",
        "N/A",
        "n/a",
        "Chassis Serial Number",
        "1",
        "abc",
    ],
)
def test_junk_serials(serial: str) -> None:
    assert is_junk_serial(serial) and normalize_serial(serial) is None


@pytest.mark.parametrize("serial", ["5CG1234XYZ", "PF2ABC12", "C02XK0AAJGH5", "VMware-42 1f 8b", "G6VYHLB"])
def test_real_serials(serial: str) -> None:
    assert normalize_serial(f"  {serial.lower()} ") == serial.upper()


@pytest.mark.parametrize(
    "value",
    [
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "03000200-0400-0500-0006-000700080009",  # cloned template / OEM board
        "not-a-uuid",
        "",
        "1234",
    ],
)
def test_junk_uuids(value: str) -> None:
    assert is_junk_uuid(value) and normalize_uuid(value) is None


def test_uuid_normalized_across_spellings() -> None:
    a = normalize_uuid("4c4c4544-0031-3510-8052-b3c04f4a4d32")
    assert a == normalize_uuid("{4C4C4544-0031-3510-8052-B3C04F4A4D32}") == "4C4C4544-0031-3510-8052-B3C04F4A4D32"


@pytest.mark.parametrize(
    "mac",
    [
        "00:00:00:00:00:00",
        "FF:FF:FF:FF:FF:FF",
        "02:42:ac:11:00:02",  # Docker (locally administered)
        "DA:A1:19:5E:22:01",  # randomised Wi-Fi (locally administered bit)
        "01:00:5E:00:00:FB",  # multicast
        "00:15:5D:01:02:03",  # Hyper-V
        "00:50:56:AA:BB:CC",
        "00:0C:29:11:22:33",  # VMware
        "08:00:27:12:34:56",  # VirtualBox
        "00:09:0F:AA:00:01",  # Fortinet VPN adapter
        "garbage",
        "00:11:22:33:44",
    ],
)
def test_junk_macs(mac: str) -> None:
    assert is_junk_mac(mac) and normalize_mac(mac) is None


def test_physical_mac_normalized() -> None:
    assert normalize_mac("3c-52-82-0a-0b-0c") == normalize_mac("3C:52:82:0A:0B:0C") == "3C:52:82:0A:0B:0C"


@pytest.mark.parametrize(
    "name",
    [
        "Hyper-V Virtual Ethernet Adapter",
        "vEthernet (WSL)",
        "VMware Virtual Ethernet Adapter for VMnet8",
        "VirtualBox Host-Only Ethernet Adapter",
        "docker0",
        "TAP-Windows Adapter V9",
        "Fortinet SSL VPN Virtual Ethernet Adapter",
        "Bluetooth Device (Personal Area Network)",
        "WAN Miniport (IP)",
        "Wintun Userspace Tunnel",
        "Tailscale Tunnel",
        "Cisco AnyConnect Secure Mobility Client Virtual Miniport Adapter for Windows x64",
    ],
)
def test_virtual_adapters(name: str) -> None:
    assert is_virtual_adapter(name)


@pytest.mark.parametrize(
    "name", ["Intel(R) Ethernet Connection (7) I219-LM", "Realtek PCIe GbE Family Controller", "eth0"]
)
def test_physical_adapters(name: str) -> None:
    assert not is_virtual_adapter(name)


def test_physical_macs_drop_virtual_adapters() -> None:
    macs = physical_macs(
        [
            ("Intel(R) Ethernet I219-LM", "3C:52:82:0A:0B:0C"),
            ("Bluetooth Device (PAN)", "3C:52:82:0A:0B:0D"),
            ("x", None),
        ]
    )
    assert macs == ("3C:52:82:0A:0B:0C",)


def test_vendor_tokens_agree() -> None:
    assert vendor_token("Dell Inc.") == vendor_token("Dell") == "dell"
    assert vendor_token("Hewlett-Packard") == vendor_token("HP") == "hp"
    assert vendor_token("To Be Filled By O.E.M.") == vendor_token(None) == ""


def test_keys_of_a_snapshot() -> None:
    snap = DeviceSnapshot(
        "a",
        "r",
        "PC-1.corp.example",
        "workstation",
        serial_number="Default string",
        manufacturer="Dell Inc.",
        hardware_uuid="03000200-0400-0500-0006-000700080009",
        mac_addresses=("02:42:ac:11:00:02", "3C:52:82:0A:0B:0C"),
    )
    assert [(k.kind, k.value) for k in keys_of(evidence_of(snap))] == [("mac", "3C:52:82:0A:0B:0C"), ("host", "pc-1")]
    assert host_key("PC-1", "corp.example") == host_key("pc-1.corp.example") == "pc-1"
    own = IdentityEvidence(hardware_uuid="4C4C4544-0031-3510-8052-B3C04F4A4D32", macs=())
    assert [k.kind for k in keys_of(evidence_of(DeviceSnapshot("a", "r", "n", "workstation", identity=own)))] == [
        "uuid",
        "host",
    ]


def test_conflicts() -> None:
    u1, u2 = {("U1", "")}, {("U2", "")}
    assert conflict({"uuid": u1}, {"uuid": u2}) == "different hardware UUIDs"
    assert conflict({"serial": {("S1", "dell")}}, {"serial": {("S2", "dell")}}) == "different serial numbers"
    assert conflict({"serial": {("S1", "dell")}}, {"serial": {("S1", "hp")}}) == "same serial, different manufacturers"
    assert conflict({"serial": {("S1", "dell")}}, {"serial": {("S1", "")}}) is None
    # A shared UUID outweighs vendor spellings, not a different serial (cloned VMs).
    assert conflict({"uuid": u1, "serial": {("S1", "asus")}}, {"uuid": u1, "serial": {("S1", "dell")}}) is None
    assert (
        conflict({"uuid": u1, "serial": {("S1", "")}}, {"uuid": u1, "serial": {("S2", "")}})
        == "different serial numbers"
    )
    assert conflict({"uuid": u1}, {"serial": {("S1", "")}}) is None
