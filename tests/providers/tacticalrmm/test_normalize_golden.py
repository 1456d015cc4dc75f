"""Agent normalization is pinned: the snapshots of the simulator's fleets (light and production rows,
legacy WMI layout, list rows and detail objects) and of perturbed copies of their rows (values
spelled the other ways Tactical and old agents send them, junk, wrong types) are exactly those of
the normalizer before the fetch-CPU pass (issue #12 item 3). Any change to what is stored changes
the digest: if it is meant, say so in docs/decisions.md and update it."""

from __future__ import annotations

import copy
import hashlib
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from rmmbridge.providers.base import InvalidRecord
from rmmbridge.providers.tacticalrmm import normalize as n
from rmmbridge.simulators.tacticalrmm import generate_fleet
from rmmbridge.simulators.tacticalrmm.serializers import agent_detail, agent_row

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# Computed with the normalizer before the pass (commit 4fb386c); see the module docstring.
EXPECTED = {
    "light": "02d934fc53fa37924724e7ae02306dfd6294e7734b67ab22478bf05ef1ab0649",
    "production": "c29d4bca788b0919c351e3ac17254b0f370f210d3af1104bf6b95e250352756f",
}

# Other spellings of the values a row carries, as Tactical, old agents and odd hardware send them.
_RESPELL: dict[str, list[Any]] = {
    "mac": ["a4-c3-f0-12-34-56", "A4C3F0123456", " a4:c3:f0:12:34:56 ", "00:00:00:00:00:00", "FF-FF-FF-FF-FF-FF",
            "A4:C3:F0:12:34", "A4:C3-F0:12:34:56", "", None, 17, "A4:C3:F0:12:34:56\n", "ＡＡ:BB:CC:DD:EE:FF"],
    "ip": ["010.0.0.1", "10.0.0.1/24", " 10.0.0.1 ", "127.0.0.1", "169.254.3.4", "0.0.0.0", "224.0.0.1",
           "fe80::1%12", "FE80::1", "2001:db8::1", "::1", "2001:0db8:0000::0001/64", "not-an-ip", "", None, 5,
           "256.1.1.1", "10.0.0.１", "1.2.3.4\n", "::ffff:10.0.0.1"],
    "size": ["476.3G", "476.3 GB", " 626.7 kB ", "12 TiB", "0 B", "5.", ".5G", "1e3G", "3 XB", "", None, 12345,
             -4, 2.5, True, "７G", "4\n"],
    "text": ["None", " none ", "To Be Filled By O.E.M.", "to be filled by o.e.m. (x)", "  Dell Inc.  ", "0", 0, 1.5,
             True, None, ["x"], {"a": 1}, "n/a", "x" * 300, "Default string", "ＯＥＭ"],
    "epoch": [0, -1, 1.7e9, 1e20, "1700000000", True, None, float("nan")],
    "iso": ["2025-11-22T10:58:03.407861Z", "2025-11-22T10:58:03+02:00", "2025-11-22 10:58:03", "garbage", "",
            None, 5, " 2025-11-22T10:58:03z "],
    "int": [8, "8", "8.0", 8.7, None, True, "x", -3, 0],
}


def _respell(rng: random.Random, kind: str) -> Any:
    return rng.choice(_RESPELL[kind])


def _instances(wmi: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = []
    for inst in wmi.get(key) or []:
        for part in inst if isinstance(inst, list) else [inst]:
            if isinstance(part, dict):
                found.append(part)
    return found


def _perturb(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy of ``row`` with a few values respelled (each with probability ~1/3)."""
    row = copy.deepcopy(row)
    maybe = lambda: rng.random() < 0.35  # noqa: E731
    for key, kind in (("public_ip", "ip"), ("version", "text"), ("goarch", "text"), ("boot_time", "epoch"),
                      ("last_seen", "iso"), ("patches_last_installed", "iso"), ("total_ram", "int"),
                      ("offline_time", "int"), ("logged_in_username", "text")):
        if maybe():
            row[key] = _respell(rng, kind)
    for disk in row.get("disks") or []:
        for key in ("total", "used", "free"):
            if maybe():
                disk[key] = _respell(rng, "size")
        if maybe():
            disk["percent"] = _respell(rng, "int")
    wmi = row.get("wmi_detail")
    if isinstance(wmi, dict):
        for adapter in _instances(wmi, "network_config") + _instances(wmi, "network_adapter"):
            if maybe() and "MACAddress" in adapter:
                adapter["MACAddress"] = _respell(rng, "mac")
            if maybe() and isinstance(adapter.get("IPAddress"), list):
                adapter["IPAddress"] = [_respell(rng, "ip") for _ in range(rng.randint(0, 3))]
        for key, field in (("bios", "SerialNumber"), ("comp_sys", "Model"), ("comp_sys_prod", "Vendor"),
                           ("comp_sys_prod", "UUID"), ("os", "Caption"), ("cpu", "Name"), ("comp_sys", "Domain")):
            for inst in _instances(wmi, key)[:1]:
                if maybe():
                    inst[field] = _respell(rng, "text")
        for key in ("local_ips",):
            if maybe() and isinstance(wmi.get(key), list):
                wmi[key] = [_respell(rng, "ip") for _ in range(rng.randint(0, 3))]
        for key in ("make_model", "serialnumber"):
            if maybe() and key in wmi:
                wmi[key] = _respell(rng, "text")
    return row


def _outcome(row: Any, sites: dict[int, n.SiteInfo], client_id: int, pk: int | None = None) -> str:
    try:
        return repr(n.agent_snapshot(row, sites, pk=pk, client_id=client_id))
    except InvalidRecord as exc:
        return f"invalid {exc!r} {exc.args!r}"


def fleet_digest(profile: str, agents: int = 800) -> str:
    """sha256 over every outcome (the snapshot's ``repr``: every field, types and time zones included)."""
    digest = hashlib.sha256()
    for seed in (1, 2):
        fleet = generate_fleet(seed=seed, clients=4, agents=agents, now=NOW)
        fleet.row_profile = profile  # type: ignore[assignment]
        sites = {s.id: n.SiteInfo(s.id, s.client_id, s.name) for s in fleet.sites.values()}
        rng = random.Random(seed)
        for agent in fleet.agents.values():
            row = agent_row(fleet, agent)
            client_id = fleet.client_id_of(agent)
            for outcome in (
                _outcome(row, sites, client_id),
                _outcome(agent_detail(fleet, agent, NOW), sites, client_id, pk=agent.pk),
                _outcome(_perturb(row, rng), sites, client_id),
                _outcome(_perturb(row, rng), {}, client_id),
            ):
                digest.update(outcome.encode())
                digest.update(b"\n")
    return digest.hexdigest()


@pytest.mark.parametrize("profile", ["light", "production"])
def test_agent_snapshots_are_unchanged(profile: str) -> None:
    assert fleet_digest(profile) == EXPECTED[profile]
