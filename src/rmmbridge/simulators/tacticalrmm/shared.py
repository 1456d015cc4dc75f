"""Tactical's side of a shared fleet (simulators/shared_fleet.py): which agents run on shared machines."""

from __future__ import annotations

from datetime import timedelta

from ..shared_fleet import JUNK_CLONES, Manifest, junk_clone, private_machine, shared_count, shared_machine
from .fleet import AgentRecord, TacticalFleet

PROVIDER = "tacticalrmm"


def _eligible(fleet: TacticalFleet) -> list[AgentRecord]:
    # Windows agents that have checked in carry WMI (serial, SMBIOS UUID, MACs): the machines whose
    # identity Tactical can report.
    return [a for _pk, a in sorted(fleet.agents.items()) if a.is_windows and a.last_seen is not None]


def apply_shared_fleet(fleet: TacticalFleet, seed: int, overlap: float) -> Manifest:
    """Put the first ``overlap`` share of the eligible agents on pool machines 0, 1, …; add the stale
    duplicates of STALE_DUPLICATE machines and JUNK_CLONES template clones. Returns the manifest."""
    manifest = Manifest(seed, overlap)
    eligible = _eligible(fleet)
    k = shared_count(len(eligible), overlap)
    for i, agent in enumerate(eligible[:k]):
        machine = shared_machine(seed, i)
        fleet.identities[agent.index] = machine
        agent.hostname = machine.hostname
        manifest.machines[agent.agent_id] = machine
    for j, agent in enumerate(eligible[k : k + JUNK_CLONES]):
        machine = junk_clone(seed, PROVIDER, j)
        fleet.identities[agent.index] = machine
        agent.hostname = machine.hostname
        manifest.machines[agent.agent_id] = machine
    for agent in list(fleet.agents.values()):
        if agent.agent_id not in manifest.machines:
            manifest.machines[agent.agent_id] = private_machine(seed, PROVIDER, agent.pk)
    for agent in eligible[:k]:
        machine = fleet.identities[agent.index]
        if machine.stale_duplicate:  # an earlier install's agent, dead for 40 days, still listed
            old = fleet.add_agent(
                agent.site_id,
                kind=agent.kind,
                hostname=machine.hostname,
                last_seen=fleet.now - timedelta(days=40),
                when=fleet.now - timedelta(days=400),
            )
            fleet.identities[old.index] = machine
            manifest.machines[old.agent_id] = machine
    return manifest


def reinstall_agent(fleet: TacticalFleet, pk: int, manifest: Manifest | None = None) -> AgentRecord:
    """Uninstall an agent and install a new one on the same machine: new pk and agent_id, same
    hardware identity and hostname (what a re-deployed Tactical agent looks like)."""
    old = fleet.agents[pk]
    machine = fleet.identities.get(old.index)
    new = fleet.add_agent(old.site_id, kind=old.kind, hostname=old.hostname, last_seen=fleet.now)
    if machine is not None:
        fleet.identities[new.index] = machine
    # The new install reports the old one's WMI hardware (same machine) even without a pool identity.
    new.hw, new.os_index, new.legacy_wmi, new.total_ram = old.hw, old.os_index, old.legacy_wmi, old.total_ram
    fleet.delete_agent(pk)
    if manifest is not None:
        m = manifest.machines.pop(old.agent_id, None)
        if m is not None:
            manifest.machines[new.agent_id] = m
    return new
