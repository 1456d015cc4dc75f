"""Tanium normalization (pure): value hygiene, OS-based type, status inputs, the owner rule, Asset API rows."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rmmbridge.providers.base import InvalidRecord, SoftwareItem
from rmmbridge.providers.tanium import normalize as n
from rmmbridge.providers.tanium.normalize import KnownDevice, StatusPolicy

NOW = datetime(2026, 4, 14, 17, 0, tzinfo=UTC)
POLICY = StatusPolicy(offline_after_s=30 * 60, overdue_after_s=24 * 3600)
GIB = 2**30

# Reference §4.8, one node.
NODE: dict[str, Any] = {
    "id": "12323",
    "name": "WS-0001",
    "computerID": "2411559221",
    "systemUUID": "4C4C4544-0052-3410-8044-B4C04F5A4E32",
    "serialNumber": "5CG1234XYZ",
    "manufacturer": "HP",
    "model": "EliteBook 840 G8",
    "chassisType": "Notebook",
    "domainName": "corp.local",
    "isVirtual": False,
    "eidFirstSeen": "2025-01-07T09:12:44Z",
    "eidLastSeen": "2026-04-14T16:58:11Z",
    "ipAddress": "10.1.2.3",
    "ipAddresses": ["10.1.2.3", "fe80::1"],
    "macAddresses": ["00:11:22:33:44:55"],
    "lastLoggedInUser": "CORP\\jdoe",
    "primaryUser": {"name": "Jane Doe", "email": "jdoe@corp.example"},
    "os": {
        "name": "Windows 11 Enterprise",
        "platform": "Windows",
        "generation": "Windows 11",
        "windows": {"releaseId": "23H2"},
    },
    "memory": {"total": "16384 MB"},
    "processor": {"cpu": "Intel(R) Core(TM) i7-1185G7", "logicalProcessors": 8},
    "disks": [{"name": "C:", "total": "476 GB", "free": "210 GB", "usedPercentage": "56%"}],
}


def node(**changes: Any) -> dict[str, Any]:
    return {**NODE, **changes}


def snap(**changes: Any):  # type: ignore[no-untyped-def]
    return n.endpoint_snapshot(node(**changes), "42", POLICY, NOW)


# ----------------------------------------------------------------------------- endpoint fields


def test_reference_example_maps_every_field() -> None:
    s = snap()
    assert (s.external_id, s.realm_id, s.name, s.asset_type) == ("12323", "42", "WS-0001", "workstation")
    assert s.external_ref == "2411559221"  # computerID: the join key to Asset API rows
    assert s.hardware_uuid == "4C4C4544-0052-3410-8044-B4C04F5A4E32"
    assert (s.serial_number, s.manufacturer, s.model) == ("5CG1234XYZ", "HP", "EliteBook 840 G8")
    assert (s.os_name, s.os_version, s.platform) == ("Windows 11 Enterprise", "Windows 11 23H2", "windows")
    assert s.cpu_model == "Intel(R) Core(TM) i7-1185G7"
    assert (s.cpu_threads, s.cpu_cores) == (8, None)  # logical processors only; Tanium has no core count
    assert s.ram_bytes == 16 * GIB
    assert s.domain == "corp.local"
    assert (s.current_user, s.last_user) == ("CORP\\jdoe", "CORP\\jdoe")
    assert s.lan_ips == ("10.1.2.3",) and s.primary_ip == "10.1.2.3"
    assert s.mac_addresses == ("00:11:22:33:44:55",)
    assert s.last_seen_at == datetime(2026, 4, 14, 16, 58, 11, tzinfo=UTC)
    assert (s.offline_after_s, s.overdue_after_s) == (1800, 86400)
    (disk,) = s.volumes
    assert (disk.device, disk.total_bytes, disk.free_bytes, disk.percent_used) == ("C:", 476 * GIB, 210 * GIB, 56)
    assert disk.used_bytes == 266 * GIB
    assert s.wan_ip is None and s.boot_time is None  # optional enrichments are not part of the inventory


@pytest.mark.parametrize(
    "value",
    [
        "Error: No inventory has been collected",
        "error: anything",
        "TSE-Error: Sensor timed out",
        "[no results]",
        "[current result unavailable]",
        "[results currently unavailable]",
        "Unknown",
        "N/A",
        "none",
        "",
        "   ",
        None,
        42,
    ],
)
def test_pseudo_values_become_none(value: Any) -> None:
    assert n.clean(value) is None
    s = snap(manufacturer=value, serialNumber=value, model=value, primaryUser={"name": value}, lastLoggedInUser="")
    assert s.manufacturer is None and s.serial_number is None and s.model is None and s.current_user is None


@pytest.mark.parametrize("value", ["Unknown Vendor Inc.", "None Such Ltd", "Errorless"])
def test_only_whole_pseudo_values_are_dropped(value: str) -> None:
    assert n.clean(value) == value


@pytest.mark.parametrize(
    "serial", ["0", "To Be Filled By O.E.M.", "Default string", "System Serial Number", "not specified", " 0 "]
)
def test_serial_junk_is_none_never_empty(serial: str) -> None:
    assert snap(serialNumber=serial).serial_number is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16384 MB", 16 * GIB),
        ("48 GB", 48 * GIB),
        ("15.7 GB", round(15.7 * GIB)),  # fractional GB → whole bytes, never a float
        ("995G", 995 * GIB),  # macOS df style: the unit letter alone is enough
        ("20G", 20 * GIB),
        ("1.8 TB", round(1.8 * 1024 * GIB)),
        ("512 KiB", 512 * 1024),
        ("2 gib", 2 * GIB),
        ("16384", None),  # bare number: ambiguous unit
        ("lots", None),
        ("", None),
        ("Error: No inventory has been collected", None),
        (None, None),
    ],
)
def test_sizes_parse_as_binary_units(text: Any, expected: int | None) -> None:
    value = n.parse_size(text)
    assert value == expected
    assert value is None or isinstance(value, int)


def test_fractional_ram_is_an_integer() -> None:
    ram = snap(memory={"total": "15.7 GB"}).ram_bytes
    assert isinstance(ram, int) and ram == round(15.7 * GIB)
    assert snap(memory={"total": "16384"}).ram_bytes is None


def test_disks_keep_what_parses() -> None:
    disks = [
        {"name": "/", "total": "995G", "free": "20G", "usedPercentage": "39%"},
        {"name": "D:", "total": "500", "free": "100 GB", "usedPercentage": "80%"},  # bare total: dropped
        {"name": "E:", "total": "2 TB", "free": "", "usedPercentage": ""},  # free and percent may be null
        {"name": "", "total": "1 TB", "free": "1 GB", "usedPercentage": "1%"},  # nameless: dropped
        {"name": "F:", "total": "1 GB", "free": "5 GB", "usedPercentage": "120%"},  # free > total: dropped
    ]
    vols = snap(disks=disks).volumes
    assert [v.device for v in vols] == ["/", "E:", "F:"]
    assert (vols[0].total_bytes, vols[0].free_bytes, vols[0].percent_used) == (995 * GIB, 20 * GIB, 39)
    assert (vols[1].free_bytes, vols[1].used_bytes, vols[1].percent_used) == (None, None, None)
    assert (vols[2].free_bytes, vols[2].percent_used) == (None, None)


def test_network_hygiene() -> None:
    s = snap(
        ipAddress="73.12.4.9",  # public: not the LAN address
        ipAddresses=["73.12.4.9", "10.20.1.5", "fe80::abcd:1", "169.254.3.4", "127.0.0.1", "10.20.1.5", "2001:db8::5"],
        macAddresses=["00-11-22-AA-BB-CC", "00:11:22:aa:bb:cc", "00:00:00:00:00:00", "bogus", "3C:52:82:01:02:03"],
    )
    assert s.lan_ips == ("73.12.4.9", "10.20.1.5", "2001:db8::5")
    assert s.primary_ip == "10.20.1.5"
    assert s.mac_addresses == ("00:11:22:aa:bb:cc", "3c:52:82:01:02:03")
    cgnat = snap(ipAddress="100.72.1.2", ipAddresses=["100.72.1.2"])
    assert cgnat.primary_ip == "100.72.1.2"
    assert snap(ipAddress="", ipAddresses=["fe80::1", "8.8.8.8"]).primary_ip is None


def test_users_and_domain() -> None:
    assert snap(lastLoggedInUser="", primaryUser={"name": "Jane Doe"}).current_user == "Jane Doe"
    fallback = snap(lastLoggedInUser="", primaryUser={"name": "Error: No inventory has been collected"})
    assert fallback.current_user is None and fallback.last_user is None
    assert snap(primaryUser=None).current_user == "CORP\\jdoe"
    assert snap(domainName="No Domain").domain is None
    assert snap(domainName="WORKGROUP").domain is None


def test_os_version_and_platform() -> None:
    mac = snap(os={"name": "macOS (26.3.1 (a))", "platform": "Mac", "generation": "macOS 26", "windows": None})
    assert (mac.os_name, mac.os_version, mac.platform) == ("macOS (26.3.1 (a))", "macOS 26", "darwin")
    unknown = snap(os={"name": "", "platform": "Unknown", "generation": ""})
    assert (unknown.os_name, unknown.os_version, unknown.platform) == (None, None, None)


def test_time_values() -> None:
    assert n.parse_time("2026-04-14T17:03:11Z") == datetime(2026, 4, 14, 17, 3, 11, tzinfo=UTC)
    assert n.parse_time("2026-04-14T17:03:11.123Z") == datetime(2026, 4, 14, 17, 3, 11, 123000, tzinfo=UTC)
    assert n.parse_time("2026-04-14T19:03:11+02:00") == datetime(2026, 4, 14, 17, 3, 11, tzinfo=UTC)
    for bad in ("", "yesterday", None, 1713114191):
        assert n.parse_time(bad) is None
    seen = snap(eidLastSeen="2026-04-14T16:59:00.500Z").last_seen_at
    assert seen is not None and seen.tzinfo is not None


def test_status_inputs_from_last_seen() -> None:
    none = snap(eidLastSeen=None)
    assert (none.last_seen_at, none.offline_after_s, none.overdue_after_s) == (None, None, None)
    future = snap(eidLastSeen=(NOW + timedelta(minutes=10)).isoformat())
    assert future.last_seen_at == NOW + timedelta(minutes=10)
    assert (future.offline_after_s, future.overdue_after_s) == (None, None)  # → status "unknown"
    skew = snap(eidLastSeen=(NOW + timedelta(minutes=4)).isoformat())
    assert (skew.offline_after_s, skew.overdue_after_s) == (1800, 86400)  # within the 5 min allowance
    custom = n.endpoint_snapshot(NODE, "42", StatusPolicy(600, 3600), NOW)
    assert (custom.offline_after_s, custom.overdue_after_s) == (600, 3600)


def test_node_without_id_is_invalid_and_nameless_node_gets_a_name() -> None:
    with pytest.raises(InvalidRecord):
        n.endpoint_snapshot(node(id=""), "1", POLICY, NOW)
    with pytest.raises(InvalidRecord):
        n.endpoint_snapshot({"name": "x"}, "1", POLICY, NOW)
    assert snap(name="").name == "Tanium endpoint 12323"


# ----------------------------------------------------------------------------- type from the OS


@pytest.mark.parametrize(
    ("platform", "os_name", "chassis", "expected"),
    [
        ("Windows", "Windows Server 2022 Datacenter", "Rack Mount Chassis", "server"),
        ("Windows", "Windows 11 Enterprise", "Notebook", "workstation"),
        ("Windows", "Windows 10 Pro", "Rack Mount Chassis", "workstation"),  # the OS decides on Windows
        ("Windows", "Microsoft Windows Serverless Edition", "Desktop", "workstation"),  # \bserver\b only
        ("Mac", "macOS Sonoma (14.6.1)", "Laptop", "workstation"),
        ("Mac", "Mac OS X Server 10.6", "Desktop", "server"),
        ("Linux", "Ubuntu 24.04 LTS", "Notebook", "workstation"),
        ("Linux", "Fedora Linux 40", "Portable", "workstation"),
        ("Linux", "Ubuntu 22.04.4 LTS", "Rack Mount Chassis", "server"),
        ("Linux", "Debian GNU/Linux 12 (bookworm)", "Other", "server"),
        ("Linux", "RHEL 9", "", "server"),
        ("AIX", "AIX 7.2", "Rack Mount Chassis", "server"),
        ("Solaris", "Oracle Solaris 11.4", "", "server"),
        ("Unknown", "", "", "workstation"),
        ("Unknown", "", "Rack Mount Chassis", "server"),
        ("", "", "Laptop", "workstation"),
    ],
)
def test_asset_type_comes_from_the_os(platform: str, os_name: str, chassis: str, expected: str) -> None:
    assert n.asset_type(platform, os_name, chassis) == expected


@pytest.mark.parametrize("hostname", ["STUDIOS-01", "BIOS-LAB", "IOS-BUILD", "MOBILE-KIOSK-03", "SERVERROOM-DISPLAY"])
def test_hostnames_never_decide_the_type(hostname: str) -> None:
    assert snap(name=hostname).asset_type == "workstation"
    linux_laptop = snap(name=hostname, chassisType="Laptop", os={"name": "Ubuntu 24.04 LTS", "platform": "Linux"})
    assert linux_laptop.asset_type == "workstation"


def test_simulated_fleet_normalizes_with_the_documented_type_rule() -> None:
    """Every endpoint of a simulated fleet normalizes; the type follows the reference rule.

    The simulator's ``expected_type`` differs in two documented places: an "Unknown" OS (the contract has
    no "unknown" type: workstation unless the chassis is a server chassis) and Linux servers on
    "Tower"/"Desktop" chassis (the §4.5 rule calls those workstations).
    """
    from rmmbridge.simulators.tanium import generate_fleet
    from rmmbridge.simulators.tanium.gateway import EndpointView, RequestContext

    fleet = generate_fleet(seed=5, groups=4, endpoints=400, now=NOW)
    ctx = RequestContext(sim=_FakeSim(fleet), token=None, now=NOW)  # type: ignore[arg-type]
    fields = (
        "id name computerID systemUUID serialNumber manufacturer model chassisType domainName isVirtual "
        "eidFirstSeen eidLastSeen ipAddress ipAddresses macAddresses lastLoggedInUser primaryUser os memory "
        "processor disks"
    ).split()
    for ep in fleet.endpoints.values():
        view = EndpointView(ep, ctx)
        raw = {f: _resolved(getattr(view, f)) for f in fields}
        s = n.endpoint_snapshot(raw, "9", POLICY, NOW)
        assert s.asset_type in ("workstation", "server")
        assert s.name and s.serial_number != ""
        if ep.expected_type == "unknown":
            continue
        linux_desk_server = ep.os.platform == "Linux" and ep.chassis_type.lower() in ("tower", "desktop")
        if linux_desk_server and ep.expected_type == "server":
            assert s.asset_type == "workstation"
            continue
        assert s.asset_type == ep.expected_type, (ep.name, ep.os.name, ep.chassis_type)


def _resolved(value: Any) -> Any:
    """A view value with its lazily resolved leaves (callables, as graphql-core calls them) resolved."""
    if callable(value):
        return value(None)
    if isinstance(value, dict):
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


class _FakeSim:
    def __init__(self, fleet: Any) -> None:
        from rmmbridge.simulators.tanium.state import SimModes

        self.fleet = fleet
        self.modes = SimModes()


# ----------------------------------------------------------------------------- software


def test_installed_software() -> None:
    apps = [
        {"name": "Google Chrome", "version": "124.0.6367.61"},
        {"name": "google  chrome", "version": "124.0.6367.61"},  # same normalized name and version
        {"name": "Google Chrome", "version": "123.0"},
        {"name": "", "version": "1.0.0"},
        {"name": "7-Zip 23.01 (x64)", "version": ""},
        "junk",
    ]
    assert n.installed_software(apps) == [
        SoftwareItem("Google Chrome", "", "124.0.6367.61"),
        SoftwareItem("Google Chrome", "", "123.0"),
        SoftwareItem("7-Zip 23.01 (x64)", "", None),
    ]
    assert n.installed_software(None) == []


# ----------------------------------------------------------------------------- the owner rule (§3.3)


def test_owner_rule_numeric_ids_across_digit_boundaries() -> None:
    assert n.owner_group(["10", "9"], ["9", "10"]) == "9"  # numerically, not "10" < "9" bytewise
    assert n.owner_group(["100", "20", "3"], None) == "3"
    assert n.owner_group(["42", "57"], ["57"]) == "57"  # only mapped groups are candidates
    assert n.owner_group(["42"], ["57"]) is None
    assert n.order_groups(["100", "9", "10", "abc", "Abc", "1"]) == ["1", "9", "10", "100", "Abc", "abc"]
    assert n.order_groups(["7", "07"]) == ["07", "7"]  # numerically equal: bytewise decides


def test_owner_rule_priorities_win_over_ids() -> None:
    priorities = {"57": 5, "42": 10}
    assert n.owner_group(["1", "42", "57"], None, priorities) == "57"
    assert n.owner_group(["1", "42"], None, priorities) == "42"  # a group without priority ranks last
    assert n.owner_group(["1", "2"], None, priorities) == "1"


def test_owner_rule_is_independent_of_order() -> None:
    rng = random.Random(3)
    groups = ["1", "2", "9", "10", "13", "100", "27", "x7", "3a"]
    priorities = {"27": 1, "100": 1}
    expected = n.owner_group(groups, groups, priorities)
    assert expected == "27"  # equal priorities: numeric id order
    for perm in itertools.islice(itertools.permutations(groups), 500):
        mapped = list(perm)
        rng.shuffle(mapped)
        assert n.owner_group(perm, mapped, priorities) == expected
        assert n.owner_group(set(perm), tuple(mapped), dict(reversed(list(priorities.items())))) == expected


# ----------------------------------------------------------------------------- Asset API rows (§7)

ASSET_ROW: dict[str, Any] = {
    "id": 101,
    "computer_name": "WS-0107",
    "computer_id": "2411559299",
    "system_uuid": "4c4c4544-0000-1111-2222-333344445555",
    "serial_number": "5CG9999ABC",
    "manufacturer": "HP",
    "model": "EliteBook 840 G6",
    "os_platform": "Windows",
    "operating_system": "Windows 10 Enterprise",
    "os_version": "10.0.19045",
    "ip_address": "10.1.9.7",
    "user_name": "CORP\\asmith",
    "domain_name": "corp.local",
    "chassis_type": "Notebook",
    "ram": 17179869184,
    "uptime": 86400000,
    "cpu_name": "Intel(R) Core(TM) i5-8365U",
    "cpu_core": 4,
    "last_seen_at": "2026-02-02T08:15:00Z",
    "ci_installed_application": [{"id": 9, "name": "Google Chrome", "vendor": "Google LLC", "version": "121.0"}],
    "ci_network_adapter": [{"name": "Ethernet", "mac_address": "00:11:22:33:44:99", "ipv4_address": "10.1.9.7"}],
    "ci_logical_disk": [{"name": "C:", "size": 511101108224, "free_space": 200000000000}],
}


def test_asset_record_and_snapshot() -> None:
    record = n.asset_record(ASSET_ROW)
    assert record is not None and record.asset_id == 101
    known = KnownDevice("12999", "42", computer_id="2411559299", name="WS-0107")
    index = n.KnownDeviceIndex([known, KnownDevice("1", "57", computer_id="1")])
    assert index.match(record) is known
    s = n.asset_snapshot(record, known, POLICY, NOW)
    assert (s.external_id, s.realm_id, s.name) == ("12999", "42", "WS-0107")  # the known id and owner, not row id
    assert s.external_ref == "2411559299"
    assert (s.asset_type, s.platform, s.os_name, s.os_version) == (
        "workstation",
        "windows",
        "Windows 10 Enterprise",
        "10.0.19045",
    )
    assert (s.ram_bytes, s.cpu_cores, s.cpu_model) == (16 * GIB, 4, "Intel(R) Core(TM) i5-8365U")
    assert s.mac_addresses == ("00:11:22:33:44:99",) and s.primary_ip == "10.1.9.7"
    assert s.last_seen_at == datetime(2026, 2, 2, 8, 15, tzinfo=UTC)
    assert s.boot_time == datetime(2026, 2, 1, 8, 15, tzinfo=UTC)
    (vol,) = s.volumes
    assert (vol.total_bytes, vol.free_bytes) == (511101108224, 200000000000)
    newer = KnownDevice("12999", "42", computer_id="2411559299", last_seen_at=datetime(2026, 3, 1, tzinfo=UTC))
    assert n.asset_snapshot(record, newer, POLICY, NOW).last_seen_at == datetime(2026, 3, 1, tzinfo=UTC)


def test_asset_correlation_order_and_ambiguity() -> None:
    record = n.asset_record({**ASSET_ROW, "computer_id": "nope"})
    assert record is not None
    by_uuid = KnownDevice("2", "9", system_uuid="4C4C4544-0000-1111-2222-333344445555")
    assert n.KnownDeviceIndex([by_uuid]).match(record) is by_uuid  # case-insensitive UUID
    by_serial_name = KnownDevice("3", "9", serial_number="5cg9999abc", name="ws-0107")
    assert n.KnownDeviceIndex([by_serial_name]).match(record) is by_serial_name
    serial_only = KnownDevice("4", "9", serial_number="5CG9999ABC", name="OTHER")
    assert n.KnownDeviceIndex([serial_only]).match(record) is None  # both must match
    twins = [
        KnownDevice("5", "9", system_uuid=by_uuid.system_uuid),
        KnownDevice("6", "10", system_uuid=by_uuid.system_uuid),
    ]
    assert n.KnownDeviceIndex(twins).match(record) is None  # ambiguous: never guess an owner
    assert n.KnownDeviceIndex([]).match(record) is None
    assert n.asset_record({"computer_name": "no id"}) is None


def test_known_device_rows() -> None:
    row = {
        "external_id": "12323",
        "rmm_organization_id": "42",
        "external_ref": "2411559221",
        "hardware_uuid": "ABC",
        "serial_number": "To Be Filled By O.E.M.",
        "name": "WS-1",
        "last_seen_at": datetime(2026, 1, 1),  # naive (SQLite): UTC by convention
    }
    device = n.known_device(row)
    assert device == KnownDevice("12323", "42", "2411559221", "ABC", None, "WS-1", datetime(2026, 1, 1, tzinfo=UTC))
    assert n.known_device({"external_id": "1"}) is None
    assert n.known_device(device) is device  # type: ignore[arg-type]
