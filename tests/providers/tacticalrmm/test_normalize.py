"""Pure normalisation: Tactical rows (reference examples and simulator output) → rmmbridge records."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from rmmbridge.providers.base import InvalidRecord, WebhookRequest
from rmmbridge.providers.tacticalrmm import normalize as n
from rmmbridge.providers.tacticalrmm import webhook as wh
from rmmbridge.providers.tacticalrmm.provider import TacticalProvider
from rmmbridge.simulators.tacticalrmm import generate_fleet
from rmmbridge.simulators.tacticalrmm.serializers import agent_detail, agent_row, alert_json, software_row

from . import NOW

GIB = 1024**3
SITES = n.sites_map([{"id": 7, "client": 5, "name": "Headquarters"}, {"id": 8, "client": 6, "name": "Headquarters"}])

# --------------------------------------------------------------------------- reference §3.9 rows


def windows_row() -> dict[str, Any]:
    return {
        "id": 812, "created_by": None, "created_time": "2025-03-02T09:14:07.118722Z", "modified_by": None,
        "modified_time": "2025-11-20T08:01:44.902113Z", "version": "2.11.0",
        "operating_system": "Microsoft Windows 11 Pro, 64 bit v23H2 (build 22631.4460)",
        "plat": "windows", "goarch": "amd64", "hostname": "ACME-LT-0142",
        "agent_id": "kQmPzWbVhYtRnXcLdEfGsAoJuIiKlMnBvCxZaSdF", "last_seen": "2025-11-22T10:58:03.407861Z",
        "services": [{"pid": 2824, "name": "Spooler", "status": "running"}],
        "public_ip": "203.0.113.24", "total_ram": 16,
        "disks": [{"free": "180.2G", "used": "295.9G", "total": "476.1G", "device": "C:", "fstype": "NTFS",
                   "percent": 62}],
        "boot_time": 1763622011.2331, "logged_in_username": "jsmith", "last_logged_in_user": "jsmith",
        "monitoring_type": "workstation", "description": "", "mesh_node_id": None,
        "overdue_email_alert": False, "overdue_text_alert": False, "overdue_dashboard_alert": True,
        "offline_time": 4, "overdue_time": 30, "check_interval": 120, "needs_reboot": False, "choco_installed": True,
        "wmi_detail": {
            "os": [[{"Caption": "Microsoft Windows 11 Pro", "Version": "10.0.22631", "BuildNumber": "22631",
                     "OSArchitecture": "64-bit", "ProductType": 1}]],
            "cpu": [[{"Name": "13th Gen Intel(R) Core(TM) i7-1365U", "NumberOfCores": 10,
                      "NumberOfLogicalProcessors": 12}]],
            "mem": [[{"Capacity": 8589934592}], [{"Capacity": 8589934592}]],
            "bios": [[{"SerialNumber": "5CG3311XYZ", "Manufacturer": "HP", "SMBIOSBIOSVersion": "V70 Ver. 01.05.00"}]],
            "disk": [[{"Caption": "SAMSUNG MZVL2512HCJQ-00BH1", "Size": 512105932800, "InterfaceType": "SCSI"}]],
            "comp_sys": [[{"Manufacturer": "HP", "Model": "HP EliteBook 840 G10 Notebook PC", "Domain": "acme.local",
                           "PCSystemType": 2}]],
            "comp_sys_prod": [[{"Vendor": "HP", "IdentifyingNumber": "5CG3311XYZ",
                                "UUID": "4C4C4544-0042-3510-8052-B4C04F4E3332", "Version": ""}]],
            "base_board": [[{"Manufacturer": "HP", "Product": "8B41"}]],
            "graphics": [[{"Caption": "Intel(R) Iris(R) Xe Graphics"}]],
            "network_config": [
                [{"Description": "Intel(R) Wi-Fi 6E AX211 160MHz", "IPEnabled": True,
                  "IPAddress": ["192.168.10.57", "fe80::1c2:3ff:fe44:5566"], "MACAddress": "A4:C3:F0:12:34:56",
                  "DefaultIPGateway": ["192.168.10.1"]}],
                [{"Description": "Bluetooth Device (Personal Area Network)", "IPEnabled": False,
                  "IPAddress": None, "MACAddress": "A4:C3:F0:12:34:5A"}],
            ],
        },
        "patches_last_installed": "2025-11-12T03:12:40.118000Z", "time_zone": None, "maintenance_mode": False,
        "block_policy_inheritance": False, "default_shell": "use_global", "default_shell_custom": "",
        "alert_template": None, "site": 7, "policy": None,
    }  # fmt: skip


def linux_row() -> dict[str, Any]:
    row = windows_row()
    row.update({
        "id": 901, "version": "2.11.0", "operating_system": "Ubuntu 22.04 x86_64 5.15.0-126-generic",
        "plat": "linux", "goarch": "amd64", "hostname": "web-acme-01", "services": None,
        "agent_id": "LinuxAgentIdLinuxAgentIdLinuxAgentIdLinu",
        "public_ip": "198.51.100.7", "total_ram": 8,
        "disks": [{"free": "31.2 GB", "used": "17.7 GB", "total": "48.9 GB", "device": "/dev/sda1", "fstype": "ext4",
                   "percent": 36}],
        "boot_time": 1761990001, "logged_in_username": "None", "last_logged_in_user": "root",
        "monitoring_type": "server", "choco_installed": False, "patches_last_installed": None,
        "wmi_detail": {"cpus": ["AMD EPYC 7302P 16-Core Processor"], "gpus": ["Matrox Electronics Systems Ltd. G200eW3"],
                       "disks": ["Micron 5300 PRO 480GB SSD sda 447.1 GB"],
                       "local_ips": ["10.20.0.15/24", "fe80::5054:ff:fe12:3456/64"],
                       "make_model": "Dell Inc. PowerEdge R6515", "serialnumber": "8XK2QF3"},
    })  # fmt: skip
    return row


def mac_row() -> dict[str, Any]:
    row = linux_row()
    row.update({
        "id": 902, "agent_id": "MacAgentIdMacAgentIdMacAgentIdMacAgentId", "hostname": "Marys-MacBook-Air",
        "operating_system": "Darwin 14.5 arm64 23.5.0", "plat": "darwin", "goarch": "arm64",
        "monitoring_type": "workstation", "logged_in_username": "mary",
        "wmi_detail": {"cpus": ["Apple M1"], "gpus": [], "disks": ["APPLE SSD AP0256Q 251.0 GB"],
                       "local_ips": ["192.168.1.23/24"], "make_model": "Macmini9,1", "serialnumber": "C02ZK1YJMD6R"},
    })  # fmt: skip
    return row


def legacy(wmi: dict[str, Any]) -> dict[str, Any]:
    """The older agents' layout: every instance as many single-key dicts."""
    out: dict[str, Any] = {}
    for key, insts in wmi.items():
        out[key] = [[{k: v} for d in inst for k, v in d.items()] for inst in insts]
    return out


def test_windows_reference_row() -> None:
    snap = n.agent_snapshot(windows_row(), SITES)
    assert snap.external_id == "kQmPzWbVhYtRnXcLdEfGsAoJuIiKlMnBvCxZaSdF" and len(snap.external_id) == 40
    assert snap.external_ref == "812"
    assert (snap.realm_id, snap.site_id, snap.site_name) == ("5", "7", "Headquarters")
    assert snap.name == "ACME-LT-0142" and snap.asset_type == "workstation"
    assert snap.serial_number == "5CG3311XYZ"
    assert (snap.manufacturer, snap.model) == ("HP", "HP EliteBook 840 G10 Notebook PC")
    assert snap.hardware_uuid == "4C4C4544-0042-3510-8052-B4C04F4E3332"
    assert (snap.os_name, snap.os_version, snap.platform, snap.architecture) == (
        "Microsoft Windows 11 Pro",
        "10.0.22631",
        "windows",
        "amd64",
    )
    assert (snap.cpu_model, snap.cpu_cores, snap.cpu_threads) == ("13th Gen Intel(R) Core(TM) i7-1365U", 10, 12)
    assert snap.ram_bytes == 16 * GIB  # Σ mem[*].Capacity
    assert snap.physical_disks == ("SAMSUNG MZVL2512HCJQ-00BH1 477GB SCSI",)
    assert snap.gpu == "Intel(R) Iris(R) Xe Graphics" and snap.domain == "acme.local"
    (vol,) = snap.volumes
    assert vol.device == "C:" and vol.fstype == "NTFS" and vol.percent_used == 62
    assert vol.total_bytes == round(476.1 * GIB) and vol.free_bytes == round(180.2 * GIB)
    assert snap.lan_ips == ("192.168.10.57",) and snap.primary_ip == "192.168.10.57"
    assert snap.mac_addresses == ("A4:C3:F0:12:34:56", "A4:C3:F0:12:34:5A")
    assert snap.wan_ip == "203.0.113.24"
    assert snap.current_user == "jsmith" and snap.last_user == "jsmith"
    assert snap.boot_time == datetime.fromtimestamp(1763622011.2331, UTC)
    assert snap.last_seen_at == datetime(2025, 11, 22, 10, 58, 3, 407861, tzinfo=UTC)  # microseconds kept
    assert (snap.offline_after_s, snap.overdue_after_s) == (240, 1800)
    assert snap.needs_reboot is False and snap.agent_version == "2.11.0"
    assert snap.patches_last_installed_at == datetime(2025, 11, 12, 3, 12, 40, 118000, tzinfo=UTC)


def test_both_wmi_layouts_give_the_same_snapshot() -> None:
    row = windows_row()
    old = copy.deepcopy(row)
    old["wmi_detail"] = legacy(row["wmi_detail"])
    assert n.agent_snapshot(old, SITES) == n.agent_snapshot(row, SITES)
    # The legacy layout's serial is found even though Tactical's own serial_number reads bios[0][0] only.
    assert n.agent_snapshot(old, SITES).serial_number == "5CG3311XYZ"


def test_detail_object_gives_the_list_snapshot_with_the_pk_passed_in() -> None:
    row = windows_row()
    detail = {
        k: v
        for k, v in row.items()
        if k
        not in (
            "id",
            "created_by",
            "created_time",
            "modified_by",
            "modified_time",
            "default_shell",
            "default_shell_custom",
        )
    }
    detail.update({"status": "online", "serial_number": "", "local_ips": "192.168.10.57", "make_model": "x"})
    assert n.agent_snapshot(detail, SITES, pk=812) == n.agent_snapshot(row, SITES)
    with pytest.raises(InvalidRecord):
        n.agent_snapshot(detail, SITES)  # no id and no pk


def test_linux_reference_row() -> None:
    snap = n.agent_snapshot(linux_row(), SITES)
    assert snap.asset_type == "server" and snap.platform == "linux"
    assert snap.serial_number == "8XK2QF3"
    assert (snap.manufacturer, snap.model) == (None, "Dell Inc. PowerEdge R6515")
    assert (snap.os_name, snap.os_version) == ("Ubuntu", "22.04")
    assert snap.cpu_model == "AMD EPYC 7302P 16-Core Processor" and snap.cpu_cores is None
    assert snap.ram_bytes == 8 * GIB
    assert snap.physical_disks == ("Micron 5300 PRO 480GB SSD sda 447.1 GB",)
    assert snap.lan_ips == ("10.20.0.15",) and snap.primary_ip == "10.20.0.15"
    assert snap.mac_addresses == ()  # posix agents report none
    assert snap.current_user is None and snap.last_user == "root"  # "None" = nobody
    assert snap.boot_time == datetime.fromtimestamp(1761990001, UTC)
    assert snap.volumes[0].total_bytes == round(48.9 * GIB)


def test_mac_row() -> None:
    snap = n.agent_snapshot(mac_row(), SITES)
    assert (snap.manufacturer, snap.model, snap.serial_number) == ("Apple", "Macmini9,1", "C02ZK1YJMD6R")
    assert (snap.os_name, snap.os_version, snap.architecture) == ("macOS", "14.5", "arm64")
    assert snap.gpu is None and snap.asset_type == "workstation" and snap.current_user == "mary"


@pytest.mark.parametrize(
    "junk",
    ["To Be Filled By O.E.M.", "Default string", "System Serial Number", "Not Specified", "None", "0",
     "0123456789", "", "   "],
)  # fmt: skip
def test_junk_serials_fall_back_or_become_null(junk: str) -> None:
    row = windows_row()
    row["wmi_detail"]["bios"][0][0]["SerialNumber"] = junk
    assert n.agent_snapshot(row, SITES).serial_number == "5CG3311XYZ"  # comp_sys_prod.IdentifyingNumber
    row["wmi_detail"]["comp_sys_prod"][0][0]["IdentifyingNumber"] = junk
    assert n.agent_snapshot(row, SITES).serial_number is None
    posix = linux_row()
    posix["wmi_detail"]["serialnumber"] = junk
    assert n.agent_snapshot(posix, SITES).serial_number is None


def test_posix_serial_na_and_missing() -> None:
    row = linux_row()
    row["wmi_detail"]["serialnumber"] = "n/a"
    assert n.agent_snapshot(row, SITES).serial_number is None
    del row["wmi_detail"]["serialnumber"]  # old agents
    assert n.agent_snapshot(row, SITES).serial_number is None
    row["wmi_detail"]["make_model"] = ""
    assert n.agent_snapshot(row, SITES).model is None


def test_make_model_rules() -> None:
    row = windows_row()
    wmi = row["wmi_detail"]
    wmi["comp_sys"][0][0]["Model"] = "To be filled by O.E.M."
    wmi["base_board"][0][0].update({"Manufacturer": "ASUSTeK COMPUTER INC.", "Product": "PRIME B460M-A"})
    snap = n.agent_snapshot(row, SITES)
    assert (snap.manufacturer, snap.model) == ("ASUSTeK COMPUTER INC.", "PRIME B460M-A")

    row = windows_row()
    wmi = row["wmi_detail"]
    wmi["comp_sys_prod"][0][0]["Vendor"] = "LENOVO"
    wmi["comp_sys"][0][0].update({"Model": "21AHCTO1WW", "SystemFamily": "ThinkPad T14 Gen 3"})
    assert n.agent_snapshot(row, SITES).model == "ThinkPad T14 Gen 3"
    wmi["comp_sys"][0][0]["SystemFamily"] = "To be filled by O.E.M."
    assert n.agent_snapshot(row, SITES).model == "21AHCTO1WW"

    row = windows_row()
    wmi = row["wmi_detail"]
    del wmi["comp_sys"]
    wmi["comp_sys_prod"][0][0]["Version"] = "ThinkCentre M70q"
    snap = n.agent_snapshot(row, SITES)
    assert (snap.manufacturer, snap.model) == (None, "ThinkCentre M70q")  # the Version fallback
    wmi["comp_sys_prod"][0][0]["Version"] = "None"
    snap = n.agent_snapshot(row, SITES)
    assert (snap.manufacturer, snap.model) == (None, None)


def test_upstream_fallback_strings_are_unknown() -> None:
    row = linux_row()
    row["wmi_detail"] = {"cpus": ["unknown cpu model"], "disks": ["unknown disk"], "make_model": "unknown make/model",
                         "local_ips": [], "gpus": []}  # fmt: skip
    snap = n.agent_snapshot(row, SITES)
    assert snap.cpu_model is None and snap.physical_disks == () and snap.model is None and snap.lan_ips == ()


def test_never_checked_in_agent() -> None:
    row = windows_row()
    row.update({"last_seen": None, "wmi_detail": None, "disks": None, "boot_time": None, "total_ram": None,
                "operating_system": None, "logged_in_username": None, "public_ip": None, "goarch": None})  # fmt: skip
    snap = n.agent_snapshot(row, SITES)
    assert snap.last_seen_at is None and snap.boot_time is None and snap.ram_bytes is None
    assert snap.serial_number is None and snap.volumes == () and snap.lan_ips == () and snap.os_name is None
    assert snap.asset_type == "workstation" and snap.current_user is None


@pytest.mark.parametrize(
    ("monitoring_type", "operating_system", "product_type", "expected"),
    [
        ("server", "Microsoft Windows 11 Pro, 64 bit", 1, "server"),  # declared intent wins
        ("workstation", "Microsoft Windows Server 2022 Standard", 3, "workstation"),
        ("", "Microsoft Windows 11 Pro", 3, "server"),  # ProductType breaks the tie
        ("unknown", "Microsoft Windows Server 2022", 1, "workstation"),
        (None, "Microsoft Windows Server 2022 Datacenter", None, "server"),  # then the OS string
        ("bogus", "Microsoft Windows 10 Pro", None, "workstation"),
        (None, "Ubuntu 22.04 x86_64 5.15.0-126-generic", None, "workstation"),
    ],
)
def test_classification(monitoring_type: Any, operating_system: str, product_type: Any, expected: str) -> None:
    row = windows_row()
    row["monitoring_type"] = monitoring_type
    row["operating_system"] = operating_system
    if product_type is None:
        del row["wmi_detail"]["os"][0][0]["ProductType"]
    else:
        row["wmi_detail"]["os"][0][0]["ProductType"] = product_type
    assert n.agent_snapshot(row, SITES).asset_type == expected


def test_lan_ip_rules() -> None:
    row = windows_row()
    row["wmi_detail"]["network_config"] = [
        [{"IPAddress": ["10.212.134.9", "fe80::1"], "MACAddress": "00:09:0F:AA:00:01", "DefaultIPGateway": None}],
        [{"IPAddress": ["127.0.0.1", "169.254.3.4", "192.168.10.57", "2001:db8::57", "fe80::2"],
          "MACAddress": "a4-c3-f0-12-34-56", "DefaultIPGateway": ["192.168.10.1"]}],
        [{"IPAddress": None, "MACAddress": "", "DefaultIPGateway": None}],
        [{"IPAddress": ["192.168.10.57"], "MACAddress": "00:00:00:00:00:00"}],
    ]  # fmt: skip
    row["wmi_detail"]["network_adapter"] = [
        [{"MACAddress": "a4:c3:f0:12:34:56"}],
        [{"MACAddress": "bc:24:11:aa:bb:cc"}],
    ]
    snap = n.agent_snapshot(row, SITES)
    assert snap.lan_ips == ("10.212.134.9", "192.168.10.57", "2001:db8::57")
    assert snap.primary_ip == "192.168.10.57"  # the adapter with a default gateway, not the VPN listed first
    assert snap.mac_addresses == ("00:09:0F:AA:00:01", "A4:C3:F0:12:34:56", "BC:24:11:AA:BB:CC")

    posix = linux_row()
    posix["wmi_detail"]["local_ips"] = ["127.0.0.1/8", "172.17.0.1/16", "10.20.0.15/24", "fe80::1/64",
                                        "2001:db8::15/64", "169.254.1.1/16", "not an ip"]  # fmt: skip
    snap = n.agent_snapshot(posix, SITES)
    assert snap.lan_ips == ("172.17.0.1", "10.20.0.15", "2001:db8::15") and snap.primary_ip == "172.17.0.1"


def test_realm_comes_from_the_site_and_falls_back_to_the_listed_client() -> None:
    row = windows_row()
    row["site"] = 8
    assert n.agent_snapshot(row, SITES).realm_id == "6"
    row["site"] = 99  # a site created after the site list was read
    snap = n.agent_snapshot(row, SITES, client_id=5)
    assert snap.realm_id == "5" and snap.site_id == "99" and snap.site_name is None
    with pytest.raises(InvalidRecord, match="site"):
        n.agent_snapshot(row, SITES)


@pytest.mark.parametrize("field", ["agent_id", "hostname"])
def test_unusable_rows_are_invalid_records(field: str) -> None:
    row = windows_row()
    row[field] = None
    with pytest.raises(InvalidRecord):
        n.agent_snapshot(row, SITES)


def test_missing_thresholds_use_tacticals_defaults_not_zero() -> None:
    row = windows_row()
    del row["offline_time"], row["overdue_time"]
    snap = n.agent_snapshot(row, SITES)
    assert (snap.offline_after_s, snap.overdue_after_s) == (240, 1800)
    row.update({"offline_time": 0, "overdue_time": 1440})
    snap = n.agent_snapshot(row, SITES)
    assert (snap.offline_after_s, snap.overdue_after_s) == (0, 86400)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("476.3G", round(476.3 * GIB)), ("476.3 GB", round(476.3 * GIB)), ("626.7 kB", round(626.7 * 1024)),
     ("1.2T", round(1.2 * 1024**4)), ("0 B", 0), ("12", 12), ("abc", None), (None, None), ("5 XB", None)],
)  # fmt: skip
def test_parse_size(text: Any, expected: int | None) -> None:
    assert n.parse_size(text) == expected


# --------------------------------------------------------------------------- simulator rows


@pytest.fixture(scope="module")
def fleet() -> Any:
    return generate_fleet(seed=3, clients=4, agents=300, now=NOW)


def test_every_simulated_agent_normalizes_and_matches_the_detail_view(fleet: Any) -> None:
    sites = n.sites_map([{"id": s.id, "client": s.client_id, "name": s.name} for s in fleet.sites.values()])
    kinds = set()
    for agent in fleet.agents.values():
        row = agent_row(fleet, agent)
        detail = agent_detail(fleet, agent, NOW)
        snap = n.agent_snapshot(row, sites)
        assert n.agent_snapshot(detail, sites, pk=agent.pk) == snap  # list and detail agree
        assert snap.external_ref == str(agent.pk) and snap.external_id == agent.agent_id
        assert snap.realm_id == str(fleet.client_id_of(agent))
        kinds.add((agent.plat, agent.legacy_wmi))
        # Computed fields equal what Tactical's detail view says, wherever that is real data.
        if detail["serial_number"] and not n.is_junk(detail["serial_number"]):
            assert snap.serial_number == detail["serial_number"].strip()
        elif agent.legacy_wmi and row["wmi_detail"]:
            assert snap.serial_number or n.is_junk(row["wmi_detail"]["bios"][0][0].get("SerialNumber", ""))
        if not n.is_junk(detail["make_model"]):
            made = " ".join(x for x in (snap.manufacturer, snap.model) if x) if agent.plat == "windows" else snap.model
            if not any(n.is_junk(p) for p in detail["make_model"].split(" ", 1)):
                assert made == detail["make_model"]
        if "error" not in detail["local_ips"]:
            v4 = [ip.strip().split("/")[0] for ip in detail["local_ips"].split(",") if ":" not in ip]
            assert [ip for ip in snap.lan_ips if ":" not in ip] == v4
        if agent.plat == "windows" and detail["physical_disks"] != ["unknown disk"]:
            assert list(snap.physical_disks) == detail["physical_disks"]
        if snap.cpu_model:
            assert detail["cpu_model"][0].startswith(snap.cpu_model)
        assert snap.current_user != "None" and snap.last_user != "None"
    assert {("windows", False), ("windows", True), ("linux", False), ("darwin", False)} <= kinds


def test_alert_objects(fleet: Any) -> None:
    events = [n.alert_event(alert_json(fleet, a)) for a in fleet.alerts.values()]
    by_id = {e.external_alert_id: e for e in events}
    for alert in fleet.alerts.values():
        ev = by_id[str(alert.id)]
        assert ev.severity == alert.severity  # info / warning / error kept
        assert ev.status == ("resolved" if alert.resolved else "active")
        assert ev.raised_at == alert.alert_time
        if alert.agent_pk is None:  # custom alerts omit hostname/agent_id/client/site
            assert ev.external_device_id is None and ev.device_ref is None
        else:
            assert ev.external_device_id == fleet.agents[alert.agent_pk].agent_id
            assert ev.device_ref == str(alert.agent_pk)
        assert ev.attributes["native_severity"] == alert.severity
    assert {e.alert_type for e in events} >= {"availability", "check", "custom"}


@pytest.mark.parametrize(
    ("native", "mapped"),
    [("info", "info"), ("warning", "warning"), ("error", "error"), ("ERROR", "error"), ("critical", "warning"),
     ("None", "warning"), (None, "warning"), ("", "warning")],
)  # fmt: skip
def test_one_severity_mapping_for_poll_and_webhook(native: Any, mapped: str) -> None:
    assert n.map_severity(native) == mapped
    polled = n.alert_event({"id": 1, "severity": native, "agent_id": "a" * 40, "resolved": False})
    hooked = wh.parse_webhook(WebhookRequest({}, json.dumps({"alert_id": "1", "agent_id": "a" * 40,
                                                              "severity": native}).encode()))  # fmt: skip
    assert polled.severity == hooked.severity == mapped
    assert polled.external_alert_id == hooked.external_alert_id == "1"


def test_software_rows(fleet: Any) -> None:
    rows = [software_row(fleet, a) for a in fleet.agents.values()]
    rows = [r for r in rows if r is not None]
    seen_minimal = seen_unknown_date = seen_zero = False
    for row in rows:
        device = n.device_software(row)
        assert device.external_ref == str(row["agent"]) and device.external_id is None
        assert len(device.software) == len(row["software"])  # repeated names are kept
        for raw, item in zip(row["software"], device.software, strict=True):
            assert item.name == raw["name"].strip()
            assert item.publisher == raw.get("publisher", "")
            if "install_date" not in raw:
                seen_minimal = True
                assert item.install_date is None and item.size_bytes is None
            elif raw["install_date"] in ("0001-01-01 00:00:00 +0000 UTC", "01-1-01"):
                seen_unknown_date = True
                assert item.install_date is None
            else:
                assert item.install_date is not None and item.install_date.year >= 1970
            if raw.get("size") == "0 B":
                seen_zero = True
                assert item.size_bytes is None
    assert seen_unknown_date and seen_zero and seen_minimal  # minimal rows: 1.x agents send name/version only


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2019-06-09 00:00:00 +0000 UTC", datetime(2019, 6, 9, tzinfo=UTC)), ("2024-3-07", datetime(2024, 3, 7, tzinfo=UTC)),
     ("0001-01-01 00:00:00 +0000 UTC", None), ("01-1-01", None), ("1969-12-31", None), ("", None),
     ("2024-13-40", None), (None, None)],
)  # fmt: skip
def test_install_dates(raw: Any, expected: datetime | None) -> None:
    assert n.parse_install_date(raw) == expected


def test_software_sizes_and_minimal_items() -> None:
    device = n.device_software({"id": 1, "agent": 812, "software": [
        {"name": "7-Zip 19.00 (x64)", "size": "5.2 MB", "source": "", "version": "19.00", "publisher": "Igor Pavlov",
         "install_date": "2019-06-09 00:00:00 +0000 UTC"},
        {"name": "SP2", "size": "0 B", "version": "13.2.5026.0", "publisher": "", "install_date": "0001-01-01 00:00:00 +0000 UTC"},
        {"name": "Old Agent App", "version": "1.0"},
        {"name": "  ", "version": "x"},
        {"version": "nameless"},
    ]})  # fmt: skip
    assert [s.name for s in device.software] == ["7-Zip 19.00 (x64)", "SP2", "Old Agent App"]
    assert device.software[0].size_bytes == round(5.2 * 1024**2)
    assert device.software[1].size_bytes is None and device.software[2].publisher == ""
    assert device.external_ref == "812"
    with pytest.raises(InvalidRecord):
        n.device_software({"id": 1, "agent": None, "software": []})


# --------------------------------------------------------------------------- webhooks


def hook(body: bytes | str, headers: dict[str, str] | None = None) -> Any:
    raw = body.encode() if isinstance(body, str) else body
    return TacticalProvider.parse_webhook(WebhookRequest(headers or {}, raw))


RENDERED = {
    "event": "trigger", "alert_id": "4711", "alert_type": "availability", "severity": "error",
    "alert_time": "2025-11-22 10:58:03.407861+00:00", "agent_id": "kQmPzWbVhYtRnXcLdEfGsAoJuIiKlMnBvCxZaSdF",
    "agent_pk": "812", "hostname": "ACME-LT-0142", "client_id": "5", "site_id": "7", "check_id": "None",
    "task_id": "None", "message": "ACME-LT-0142 in Acme Dental, Headquarters is overdue.",
}  # fmt: skip


def test_webhook_rendered_example() -> None:
    ev = hook(json.dumps(RENDERED))
    assert ev.external_alert_id == "4711" and ev.status == "active" and ev.severity == "error"
    assert ev.external_device_id == RENDERED["agent_id"] and ev.device_ref == "812"
    assert ev.raised_at == datetime(2025, 11, 22, 10, 58, 3, 407861, tzinfo=UTC)
    assert ev.alert_type == "availability" and ev.message.endswith("is overdue.")
    assert ev.attributes["client_id"] == 5 and "check_id" not in ev.attributes  # "None" → null
    resolved = hook(json.dumps({**RENDERED, "event": "resolve", "resolved_on": "2025-11-22 11:30:00+00:00"}))
    assert resolved.status == "resolved" and resolved.external_alert_id == "4711"
    assert resolved.resolved_at == datetime(2025, 11, 22, 11, 30, tzinfo=UTC)


def test_webhook_double_encoded_body_with_a_quote_in_the_message() -> None:
    inner = (
        "{\n"
        + ",\n".join(
            f'  "{k}": "{v}"'
            for k, v in {**RENDERED, "message": 'DC01 has a script check: Script Check: "Backup" that failed.'}.items()
        )
        + "\n}"
    )
    body = json.dumps(inner)  # Tactical's fallback: the rendered text as a JSON string literal
    ev = hook(body)
    assert ev.external_alert_id == "4711" and ev.external_device_id == RENDERED["agent_id"]
    assert ev.message == 'DC01 has a script check: Script Check: "Backup" that failed.'
    assert ev.attributes["payload_repaired"] is True
    # A double-encoded body that parses is not "repaired".
    ev = hook(json.dumps(json.dumps(RENDERED)))
    assert ev.external_alert_id == "4711" and "payload_repaired" not in ev.attributes


def test_webhook_python_style_values_and_no_content_type() -> None:
    agent = RENDERED["agent_id"]
    body = (
        '{"event": "trigger", "alert_id": 4711, "agent_id": "AGENT", "resolved": None, "hidden": True, '
        '"snoozed": False, "alert_time": 2025-11-22 10:58:03.407861+00:00, "severity": "warning"}'
    ).replace("AGENT", agent)
    ev = hook(body, {"content-type": "text/plain"})
    assert ev.external_alert_id == "4711" and ev.severity == "warning" and ev.status == "active"
    assert ev.raised_at == datetime(2025, 11, 22, 10, 58, 3, 407861, tzinfo=UTC)
    body = (
        '{"agent_id": "AGENT", "alert_id": "9", "resolved": "True", "alert_time": '
        '"datetime.datetime(2025, 11, 22, 10, 58, 3, 407861, tzinfo=datetime.timezone.utc)"}'
    ).replace("AGENT", agent)
    ev = hook(body)
    assert ev.status == "resolved" and ev.raised_at == datetime(2025, 11, 22, 10, 58, 3, 407861, tzinfo=UTC)


@pytest.mark.parametrize(
    "when", ["2025-11-22 10:58:03+00:00", "2025-11-22T10:58:03Z", "2025-11-22T10:58:03.000000Z", "1763809083",
             "2025-11-22 10:58:03"],
)  # fmt: skip
def test_webhook_datetime_forms(when: str) -> None:
    ev = hook(json.dumps({**RENDERED, "alert_time": when}))
    assert ev.raised_at == datetime(2025, 11, 22, 10, 58, 3, tzinfo=UTC)


def test_webhook_derived_id_matches_trigger_and_resolve() -> None:
    trigger = hook(json.dumps({**RENDERED, "alert_id": "None", "check_id": "17"}))
    resolve = hook(json.dumps({**RENDERED, "alert_id": "", "check_id": "17", "event": "resolve",
                               "alert_time": "2025-11-22T10:58:03.407861Z"}))  # fmt: skip
    assert trigger.external_alert_id == resolve.external_alert_id
    assert trigger.external_alert_id.startswith("derived-") and trigger.attributes["alert_id_derived"] is True
    assert trigger.status == "active" and resolve.status == "resolved"
    other = hook(json.dumps({**RENDERED, "alert_id": "None", "check_id": "18"}))
    assert other.external_alert_id != trigger.external_alert_id  # another condition, another id


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"", "empty"), (b"not json", "nothing usable"), (b"[1, 2]", "list"), (b'"just a string"', "nothing usable"),
     (b'{"alert_id": "5"}', "agent_id"), (b'{"agent_id": "None", "alert_id": "5"}', "agent_id"),
     (b"x" * (65 * 1024), "larger"),
     # issue #14: huge numbers name their field; only Tactical's own quirks are repaired
     (b'{"agent_id": "a", "alert_id": "' + b"9" * 4301 + b'"}', "alert_id"),
     (b'{"agent_id": "a", "alert_id": ' + b"9" * 60_000 + b"}", "alert_id"),
     (b'{"agent_id": "a", "alert_id": "' + b"9" * 300 + b'"}', "alert_id"),
     (b'{"agent_id": "a", "agent_pk": "' + b"1" * 5000 + b'"}', "agent_pk"),
     (b'{"agent_id": "a", "site_id": 99999999999999999999}', "site_id"),
     (b'{"agent_id": "a", "alert_id": "5", "message": "m"}}}', "nothing usable"),
     (b'{"agent_id": "a", "alert_id": "5", "event": "RESOLVED!!"}', "event must be one of"),
     (b'{"agent_id": "a", "alert_id": "5", "resolved": "yes"}', "resolved must be")],
)  # fmt: skip
def test_webhook_rejections_say_why(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        hook(body)
    assert reason in info.value.cause


def test_webhook_event_rules() -> None:
    base = {"agent_id": RENDERED["agent_id"], "alert_id": "1"}
    assert hook(json.dumps({**base, "event": "RESOLVED"})).status == "resolved"
    assert hook(json.dumps({**base, "event": "trigger", "resolved": "True"})).status == "active"
    assert hook(json.dumps({**base, "resolved": "True"})).status == "resolved"
    assert hook(json.dumps(base)).status == "active"


def test_webhook_templates_use_real_tactical_variables() -> None:
    templates = TacticalProvider.webhook_templates("https://psa.example.com/api/webhooks/tacticalrmm")
    assert {"failure", "resolved"} <= set(templates)
    failure, resolved = templates["failure"], templates["resolved"]
    for var in ("{{alert.id}}", "{{alert.alert_type}}", "{{alert.severity}}", "{{alert.alert_time}}",
                "{{agent.agent_id}}", "{{agent.id}}", "{{agent.hostname}}", "{{client.id}}", "{{site.id}}",
                "{{alert.assigned_check.id}}", "{{alert.assigned_task.id}}", "{{alert.message}}"):  # fmt: skip
        assert var in failure and var in resolved
    assert "{{alert.resolved_on}}" in resolved and "resolved_on" not in failure
    assert '"event": "trigger"' in failure and '"event": "resolve"' in resolved
    assert failure.rstrip().endswith('"message": "{{alert.message}}"\n}')  # message last
    json.loads(failure), json.loads(resolved)  # valid JSON before rendering
    # Without the secret the headers read it from Tactical's key store: paste-ready, nothing to edit.
    assert json.loads(templates["headers"])["X-Webhook-Secret"] == "{{global.RMMBRIDGE_WEBHOOK_SECRET}}"
    assert "<" not in templates["headers"]
    filled = TacticalProvider.webhook_templates("https://psa.example.com/api/webhooks/tacticalrmm", "whs_abc")
    assert json.loads(filled["headers"])["X-Webhook-Secret"] == "whs_abc"
    assert filled["failure"] == failure and filled["resolved"] == resolved
    # A body rendered the way Tactical renders it parses back into the alert.
    substitutions = {"{{alert.id}}": "4711", "{{alert.alert_type}}": "check", "{{alert.severity}}": "info",
                     "{{alert.alert_time}}": "2025-11-22 10:58:03.407861+00:00", "{{agent.agent_id}}": "b" * 40,
                     "{{agent.id}}": "812", "{{agent.hostname}}": "H", "{{client.id}}": "5", "{{site.id}}": "7",
                     "{{alert.assigned_check.id}}": "3", "{{alert.assigned_task.id}}": "None",
                     "{{alert.message}}": "H has a ping check: Ping gateway that failed."}  # fmt: skip
    text = failure
    for var, value in substitutions.items():
        text = text.replace(var, value)
    ev = hook(text)
    assert (ev.external_alert_id, ev.severity, ev.device_ref, ev.status) == ("4711", "info", "812", "active")
    assert ev.attributes["check_id"] == 3 and "task_id" not in ev.attributes
