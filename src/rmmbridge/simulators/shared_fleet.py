"""Machines shared between simulators: ``--shared-fleet SEED --overlap 0.6``.

Every simulator started with the same SEED draws its shared machines from one deterministic pool
(machine ``i`` of SEED is the same physical machine everywhere: same serial, SMBIOS UUID, MAC and
hostname), under its own device ids and names. With ``overlap`` x, the first ``round(x * n)`` of a
simulator's eligible devices become pool machines 0, 1, 2, … — so two simulators of the same size
share exactly that many machines. The rest keep their own (private) identities.

On top, so correlation meets what real fleets hold (by pool index, so every simulator agrees):

- ``WEAK`` machines (i % 10 == 3): the RMM side (Tactical) reports no usable serial/UUID (firmware
  placeholders), only the MAC and hostname → a merge *candidate*, never a merge;
- ``RENAMED`` machines (i % 10 == 5): renamed in the RMM, the old name still in Tanium;
- ``STALE_DUPLICATE`` machines (i % 20 == 7, Tactical): a second, long-dead agent of an earlier
  install still listed — the same machine, one asset;
- junk clones: ``JUNK_CLONES`` private devices per simulator imaged from one template: the same
  "To Be Filled By O.E.M." serial and template UUID, different MACs and names — different machines.

Each simulator's fleet records what it did in a :class:`Manifest` (device id → machine key), which
tests use to compute the expected outcome.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

TEMPLATE_UUID = "03000200-0400-0500-0006-000700080009"
JUNK_SERIAL = "To Be Filled By O.E.M."
JUNK_CLONES = 3
# (vendor as WMI says it, as Tanium says it, serial style)
_VENDORS = (
    ("Dell Inc.", "Dell Inc.", "dell"),
    ("HP", "HP", "hp"),
    ("LENOVO", "Lenovo", "lenovo"),
    ("Microsoft Corporation", "Microsoft Corporation", "surface"),
)
# Universally administered OUIs of physical NIC vendors (Intel, Realtek, Broadcom, Dell, HP).
_OUIS = ("3C:52:82", "F8:75:A4", "A4:83:E7", "8C:85:90", "D4:81:D7", "00:1B:21", "B8:CA:3A")
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@dataclass(frozen=True, slots=True)
class Machine:
    key: str  # "shared:<i>" or "<simulator>:<i>"
    serial: str
    vendor_wmi: str
    vendor_tanium: str
    uuid: str
    mac: str
    hostname: str
    weak: bool = False
    renamed: bool = False
    stale_duplicate: bool = False


def _machine(rng: random.Random, key: str, index: int, shared: bool) -> Machine:
    vendor_wmi, vendor_tanium, style = _VENDORS[rng.randrange(len(_VENDORS))]
    if style == "dell":
        serial = "".join(rng.choices(_ALNUM, k=7))
    elif style == "hp":
        serial = "5CG" + "".join(rng.choices(_ALNUM, k=7))
    elif style == "lenovo":
        serial = "PF" + "".join(rng.choices(_ALNUM, k=6))
    else:
        serial = "".join(rng.choices("0123456789", k=12))
    h = f"{rng.getrandbits(128):032X}"
    tail = f"{rng.getrandbits(24):06X}"
    oui = _OUIS[rng.randrange(len(_OUIS))]
    return Machine(
        key=key,
        serial=serial,
        vendor_wmi=vendor_wmi,
        vendor_tanium=vendor_tanium,
        uuid=f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
        mac=f"{oui}:{tail[:2]}:{tail[2:4]}:{tail[4:]}",
        hostname=f"PC-{key.replace(':', '').upper()[:10]}-{index:05d}",
        weak=shared and index % 10 == 3,
        renamed=shared and index % 10 == 5,
        stale_duplicate=shared and index % 20 == 7,
    )


def shared_machine(seed: int, index: int) -> Machine:
    """Machine ``index`` of the pool of ``seed`` (the same in every simulator)."""
    return _machine(random.Random(f"shared-fleet:{seed}:{index}"), f"shared:{index}", index, True)


def private_machine(seed: int, simulator: str, index: int) -> Machine:
    return _machine(random.Random(f"private:{seed}:{simulator}:{index}"), f"{simulator}:{index}", index, False)


def junk_clone(seed: int, simulator: str, index: int) -> Machine:
    base = private_machine(seed, f"{simulator}-clone", index)
    return Machine(
        key=base.key,
        serial=JUNK_SERIAL,
        vendor_wmi="To Be Filled By O.E.M.",
        vendor_tanium="To Be Filled By O.E.M.",
        uuid=TEMPLATE_UUID,
        mac=base.mac,
        hostname=f"CLONE-{simulator[:3].upper()}-{index:03d}",
    )


def shared_count(devices: int, overlap: float) -> int:
    if not 0.0 <= overlap <= 1.0:
        raise ValueError("overlap must be between 0 and 1")
    return round(devices * overlap)


@dataclass
class Manifest:
    """What a simulator's shared-fleet assignment did: device id → machine."""

    seed: int
    overlap: float
    machines: dict[str, Machine] = field(default_factory=dict)

    def keys(self) -> dict[str, str]:
        return {device: m.key for device, m in self.machines.items()}


def expected_assets(*manifests: tuple[str, Manifest]) -> int:
    """Assets correlation must produce for simulators synced into one PSA client: one per machine,
    except that a WEAK machine's RMM device (no strong evidence) stays its own asset (a candidate)."""
    groups: set[object] = set()
    for provider, manifest in manifests:
        for m in manifest.machines.values():
            groups.add((m.key, provider) if m.weak and provider == "tacticalrmm" else m.key)
    return len(groups)


def weak_pairs(*manifests: tuple[str, Manifest]) -> set[str]:
    """Machine keys that should produce exactly one merge candidate (seen weakly by two simulators)."""
    seen: dict[str, set[str]] = {}
    for provider, manifest in manifests:
        for m in manifest.machines.values():
            if m.weak:
                seen.setdefault(m.key, set()).add(provider)
    return {k for k, providers in seen.items() if len(providers) > 1}


__all__ = [
    "JUNK_CLONES",
    "JUNK_SERIAL",
    "TEMPLATE_UUID",
    "Machine",
    "Manifest",
    "expected_assets",
    "junk_clone",
    "private_machine",
    "shared_count",
    "shared_machine",
    "weak_pairs",
]
