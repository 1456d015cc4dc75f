"""Per-call CPU of the identity helpers ingestion runs per device (issue #19), over bench/fleet.py's
shared-fleet snapshots (both integrations of ``--devices``, half the machines shared).

    python -m bench.identity_cpu --devices 20000 --json

Run it against another checkout's code with ``PYTHONPATH=<that checkout>/src:$PWD`` to compare.
Caches (if the code under test has any) are emptied before every repeat, and the evidence pass
walks the pages as ingestion does (a new device is keyed while planning and again while writing
its index rows), so cached and uncached code are measured on the same work. Prints one JSON object:
nanoseconds per call (best of ``--repeat``) for each helper, and ``keys_pass_us_per_device``.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from rmmbridge.kit import ids
from rmmbridge.providers import identity_evidence, identity_junk
from rmmbridge.providers.base import DeviceSnapshot
from rmmbridge.providers.identity_evidence import conflict, evidence_of, keys_of

from .fleet import shared_pages


def _clear_caches() -> None:
    for module in (identity_junk, identity_evidence):
        for value in vars(module).values():
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()


def _best_ns(fn: Callable[[], object], calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        _clear_caches()
        started = time.perf_counter_ns()
        fn()
        best = min(best, time.perf_counter_ns() - started)
    return best / calls


def _mac_spellings(snaps: Sequence[DeviceSnapshot]) -> list[str]:
    """The fleet's MACs as RMMs spell them (upper with colons, lower with dashes, bare), plus junk:
    locally administered, virtual vendors, zeros."""
    rng = random.Random(19)
    out: list[str] = []
    for s in snaps:
        mac = s.mac_addresses[0]
        roll = rng.random()
        if roll < 0.6:
            out.append(mac)
        elif roll < 0.8:
            out.append(mac.lower().replace(":", "-"))
        elif roll < 0.9:
            out.append(mac.replace(":", ""))
        else:
            out.append(rng.choice(["02:42:AC:11:00:02", "00:15:5D:01:02:03", "00:00:00:00:00:00", "DA:A1:19:5E:22:01"]))
    return out


def _keys_pass(pages: Sequence[Sequence[DeviceSnapshot]]) -> None:
    for page in pages:
        for _ in range(2):  # correlation's plan, then its evidence rows
            for snap in page:
                keys_of(evidence_of(snap))


def main(devices: int, repeat: int) -> dict[str, Any]:
    pages = [page for side in (0, 1) for page in shared_pages(devices, max(1, devices // 100), 0.5, side)]
    snaps = [s for page in pages for s in page]
    macs = _mac_spellings(snaps)
    uuids = [s.hardware_uuid or "" for s in snaps]
    serials = [s.serial_number or "" for s in snaps]
    strong = [{k.kind: {(k.value, k.vendor)} for k in keys_of(evidence_of(s)) if k.strong} for s in snaps]
    # Pairs as correlation compares them: half the same machine (no conflict), half two machines.
    pairs = [(strong[i], strong[i if i % 2 else (i + 1) % len(strong)]) for i in range(len(strong))]
    n = len(snaps)
    figures = {
        "uuid7_ns": _best_ns(lambda: [ids.uuid7() for _ in range(n)], n, repeat),
        "normalize_mac_ns": _best_ns(lambda: [identity_junk.normalize_mac(m) for m in macs], n, repeat),
        "normalize_uuid_ns": _best_ns(lambda: [identity_junk.normalize_uuid(u) for u in uuids], n, repeat),
        "normalize_serial_ns": _best_ns(lambda: [identity_junk.normalize_serial(s) for s in serials], n, repeat),
        "evidence_of_ns": _best_ns(lambda: [evidence_of(s) for s in snaps], n, repeat),
        "conflict_ns": _best_ns(lambda: [conflict(a, b) for a, b in pairs], n, repeat),
        "keys_pass_us_per_device": _best_ns(lambda: _keys_pass(pages), n, repeat) / 1000,
    }
    return {"devices": n, "repeat": repeat, **{k: round(v, 1) for k, v in figures.items()}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = main(args.devices, args.repeat)
    if not args.json:
        for key, value in result.items():
            print(f"{key:>26}: {value}")
    print(json.dumps(result))
