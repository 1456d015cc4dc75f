"""Tanium's side of a shared fleet (simulators/shared_fleet.py): which endpoints are shared machines."""

from __future__ import annotations

from ..shared_fleet import JUNK_CLONES, Manifest, junk_clone, private_machine, shared_count, shared_machine
from .fleet import Endpoint, TaniumFleet

PROVIDER = "tanium"


def _wear(ep: Endpoint, machine: object, *, name: str) -> None:
    ep.serial_number = machine.serial  # type: ignore[attr-defined]
    ep.manufacturer = machine.vendor_tanium  # type: ignore[attr-defined]
    ep.system_uuid = machine.uuid  # type: ignore[attr-defined]
    ep.mac_addresses = [machine.mac.lower()]  # type: ignore[attr-defined]
    ep.name = name


def apply_shared_fleet(fleet: TaniumFleet, seed: int, overlap: float) -> Manifest:
    """Put the first ``overlap`` share of the Gateway's endpoints (by id) on pool machines 0, 1, …;
    RENAMED machines keep their old name here; JUNK_CLONES endpoints become template clones."""
    manifest = Manifest(seed, overlap)
    eligible = [fleet.endpoints[eid] for eid in sorted(fleet.endpoints, key=lambda e: (len(e), e))]
    k = shared_count(len(eligible), overlap)
    for i, ep in enumerate(eligible[:k]):
        machine = shared_machine(seed, i)
        _wear(ep, machine, name=f"{machine.hostname}-OLD" if machine.renamed else machine.hostname)
        manifest.machines[ep.eid] = machine
    for j, ep in enumerate(eligible[k : k + JUNK_CLONES]):
        machine = junk_clone(seed, PROVIDER, j)
        _wear(ep, machine, name=machine.hostname)
        manifest.machines[ep.eid] = machine
    for ep in eligible[k + JUNK_CLONES :]:
        manifest.machines[ep.eid] = private_machine(seed, PROVIDER, int(ep.eid) if ep.eid.isdigit() else 0)
        if ep.name.upper().startswith("PC-SHARED"):
            ep.name = f"{ep.name}-T"
    return manifest
