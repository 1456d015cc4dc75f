"""A snapshot's content digest: made once where the snapshot is made, from every content field."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

from rmmbridge.providers.base import DeviceSnapshot, IdentityEvidence, Volume

BASE = DeviceSnapshot(
    "agent-1", "client-1", "PC-1", "workstation", serial_number="SN1", lan_ips=("10.0.0.5",),
    volumes=(Volume("C:", "NTFS", 100, 50),), last_seen_at=datetime(2026, 1, 1, tzinfo=UTC),
    identity=IdentityEvidence(hardware_uuid="4C4C4544-0000-1000-8000-000000000001"),
)  # fmt: skip


def test_every_content_field_moves_the_digest_and_a_copy_gets_its_own() -> None:
    changes = {
        "name": "PC-2", "serial_number": "SN2", "lan_ips": ("10.0.0.6",), "volumes": (Volume("C:", "NTFS", 100, 49),),
        "last_seen_at": datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), "needs_reboot": True,
        "identity": IdentityEvidence(hardware_uuid="4C4C4544-0000-1000-8000-000000000002"),
    }  # fmt: skip
    for field, value in changes.items():
        changed = dataclasses.replace(BASE, **{field: value})
        assert changed.content_digest != BASE.content_digest, field
        assert changed.content_hash("c") != BASE.content_hash("c"), field
    same = dataclasses.replace(BASE)
    assert same.content_digest == BASE.content_digest and same == BASE
    assert BASE.content_hash("client-a") != BASE.content_hash("client-b")  # the target client counts


def test_a_pickled_snapshot_keeps_its_fields_and_digest() -> None:
    again = pickle.loads(pickle.dumps(BASE))
    assert again == BASE and again.content_digest == BASE.content_digest
    assert [getattr(again, f.name) for f in dataclasses.fields(again)] == [
        getattr(BASE, f.name) for f in dataclasses.fields(BASE)
    ]
