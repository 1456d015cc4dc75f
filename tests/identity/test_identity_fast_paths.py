"""The faster identity helpers (issue #19) give exactly what the old ones gave, on generated input:
the usual spellings (their fast paths), odd ones (dots, Unicode spaces, braces, stray characters:
the regex fallbacks), junk placeholders, virtual-vendor and locally administered MACs, and
arbitrary text. The old code is kept verbatim in reference_identity.py."""

from __future__ import annotations

import os
import pickle
import time
import uuid

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rmmbridge.kit.ids import uuid7, uuid7s
from rmmbridge.providers import identity_evidence as new_ev
from rmmbridge.providers import identity_junk as new_junk
from rmmbridge.providers.base import DeviceSnapshot, IdentityEvidence

from . import reference_identity as old

MANY = settings(max_examples=1500, deadline=None)

HEX = "0123456789abcdefABCDEF"
# Separators and spaces RMMs (and broken exports) put between digits: \s covers Unicode spaces
# that str.strip also drops (\x1c-\x1f, \x85, \xa0, \u2003, \u3000), which the fast paths leave
# to the regex.
SEPARATORS = [":", "-", ".", "", " ", "\t", "\x1c", "\x85", "\xa0", "\u2003", "\u3000", "_", "/", "{", "}"]
JUNK_MAC_PREFIXES = [*sorted(new_junk.VIRTUAL_OUIS), "024200", "DAA119", "01005E", "FFFFFF", "000000"]


def _spell(draw: st.DrawFn, digits: str, group: int) -> str:
    """``digits`` in ``group``-sized groups, one separator between them, in a random case, maybe
    padded with spaces or a stray character."""
    sep = draw(st.sampled_from(SEPARATORS))
    groups = [digits[i : i + group] for i in range(0, len(digits), group)]
    text = sep.join(groups)
    case = draw(st.sampled_from(["upper", "lower", "as is"]))
    text = text.upper() if case == "upper" else text.lower() if case == "lower" else text
    pad = draw(st.sampled_from(["", " ", "\t", "\u2003", "x", "g", "é", "\n"]))
    where = draw(st.sampled_from(["none", "left", "right", "both"]))
    if where in ("left", "both"):
        text = pad + text
    if where in ("right", "both"):
        text = text + pad
    return text


@st.composite
def macs(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["random", "junk prefix", "same digit", "short", "long", "text"]))
    if kind == "text":
        return draw(st.text(max_size=20))
    length = {"short": 10, "long": 14}.get(kind, 12)
    digits = "".join(draw(st.lists(st.sampled_from(HEX), min_size=length, max_size=length)))
    if kind == "junk prefix":
        digits = draw(st.sampled_from(JUNK_MAC_PREFIXES)) + digits[6:]
    elif kind == "same digit":
        digits = draw(st.sampled_from(HEX)) * 12
    return _spell(draw, digits, draw(st.sampled_from([2, 2, 2, 4, 12])))


@st.composite
def uuids(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["random", "junk", "same digit", "short", "text", "braces", "urn"]))
    if kind == "text":
        return draw(st.text(max_size=40))
    if kind == "junk":
        digits = draw(st.sampled_from(sorted(new_junk.JUNK_UUIDS))).replace("-", "")
    elif kind == "same digit":
        digits = draw(st.sampled_from(HEX)) * 32
    else:
        size = 30 if kind == "short" else 32
        digits = "".join(draw(st.lists(st.sampled_from(HEX), min_size=size, max_size=size)))
    if draw(st.booleans()):
        text = f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
        text = draw(st.sampled_from([text, text.upper(), text.lower()]))
    else:
        text = _spell(draw, digits, draw(st.sampled_from([4, 8, 32])))
    if kind == "braces":
        return "{" + text + "}"
    return "urn:uuid:" + text if kind == "urn" else text


@st.composite
def serials(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["placeholder", "alnum", "punctuated", "text", "repeated"]))
    if kind == "placeholder":
        base = draw(st.sampled_from(new_junk._JUNK_SERIAL_TEXT))
        return draw(st.sampled_from([base, base.upper(), base.lower(), f"  {base} ", base.replace(" ", "_")]))
    if kind == "alnum":
        return draw(st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789abcxyz", min_size=1, max_size=14))
    if kind == "punctuated":
        return draw(st.text(alphabet="AB12 .-_x\t\u2003\xa0é", max_size=14))
    if kind == "repeated":
        return draw(st.sampled_from("0XxF1")) * draw(st.integers(1, 12))
    return draw(st.text(max_size=20))


vendors = st.one_of(
    st.none(),
    st.sampled_from(["Dell Inc.", "Dell", "HP", "Hewlett-Packard", "LENOVO", "VMware, Inc.", "To Be Filled By O.E.M."]),
    st.sampled_from(sorted(new_ev._VENDOR_ALIASES)),
    st.text(max_size=15),
)
hosts = st.one_of(
    st.none(), st.sampled_from(["WS-000001", "ws-000001.corp.example", " PC-1 ", ".", ""]), st.text(max_size=15)
)


@st.composite
def evidence(draw: st.DrawFn) -> IdentityEvidence:
    mac_list = draw(st.lists(macs(), max_size=4))
    if mac_list and draw(st.booleans()):  # the same MAC twice, spelled differently
        mac_list.append(mac_list[0].lower().replace(":", "-"))
    return IdentityEvidence(
        hardware_uuid=draw(st.one_of(st.none(), uuids())),
        serial_number=draw(st.one_of(st.none(), serials())),
        manufacturer=draw(vendors),
        macs=tuple(mac_list),
        hostname=draw(hosts),
        domain=draw(st.one_of(st.none(), st.just("corp.example"))),
        os_install_id=draw(st.one_of(st.none(), st.sampled_from(["", "  ", " ABC-def "]), st.text(max_size=10))),
    )


# Every value tests/identity/test_junk.py and the providers' normalizer tests name.
KNOWN_MACS = [
    "00:00:00:00:00:00",
    "FF:FF:FF:FF:FF:FF",
    "02:42:ac:11:00:02",
    "DA:A1:19:5E:22:01",
    "01:00:5E:00:00:FB",
    "00:15:5D:01:02:03",
    "00:50:56:AA:BB:CC",
    "00:0C:29:11:22:33",
    "08:00:27:12:34:56",
    "00:09:0F:AA:00:01",
    "garbage",
    "00:11:22:33:44",
    "3c-52-82-0a-0b-0c",
    "3C:52:82:0A:0B:0C",
    "3c52.820a.0b0c",
    " 3C 52 82 0A 0B 0C ",
    "A4:C3:F0:12:34:56",
    "a4c3f0123456",
]


@pytest.mark.parametrize("value", KNOWN_MACS)
def test_known_macs(value: str) -> None:
    assert new_junk.normalize_mac(value) == old.normalize_mac(value)
    assert new_junk.is_junk_mac(value) == old.is_junk_mac(value)


@MANY
@given(macs())
@example("3c52.820a.0b0c")
@example("3C\u200352\u200382\u20030A\u20030B\u20030C")
@example("3C:52:82:0A:0B:0C\x1c")
@example("3C:52:82:0A:0B:0G")
@example("3C-52-82-0A-0B-0C-")
def test_mac(value: str) -> None:
    assert new_junk.normalize_mac(value) == old.normalize_mac(value)
    assert new_junk.is_junk_mac(value) == old.is_junk_mac(value)


@MANY
@given(uuids())
@example("{4C4C4544-0031-3510-8052-B3C04F4A4D32}")
@example("4c4c4544-0031-3510-8052-b3c04f4a4d32")
@example("4c4c4544 0031 3510 8052 b3c04f4a4d32")
@example("03000200-0400-0500-0006-000700080009")
@example("4c4c4544-0031-3510-8052-b3c04f4a4d3g")
def test_uuid(value: str) -> None:
    assert new_junk.normalize_uuid(value) == old.normalize_uuid(value)
    assert new_junk.is_junk_uuid(value) == old.is_junk_uuid(value)


@MANY
@given(serials())
@example("To Be Filled By O.E.M.")
@example("TO BE FILLED BY OEM")
@example("VMware-42 1f 8b")
@example("SN\u2003123")
@example("ß")
@example("1")
def test_serial(value: str) -> None:
    assert new_junk.normalize_serial(value) == old.normalize_serial(value)
    assert new_junk.is_junk_serial(value) == old.is_junk_serial(value)


@MANY
@given(vendors)
def test_vendor_token(value: str | None) -> None:
    assert new_ev.vendor_token(value) == old.vendor_token(value)
    assert new_ev.vendor_token(value) == old.vendor_token(value)  # again: from its cache


def test_none_is_no_value() -> None:
    assert new_junk.normalize_mac(None) is new_junk.normalize_uuid(None) is new_junk.normalize_serial(None) is None
    assert new_junk.is_junk_mac(None) and new_junk.is_junk_uuid(None) and new_junk.is_junk_serial(None)


@MANY
@given(evidence())
def test_keys_of(ev: IdentityEvidence) -> None:
    expected = old.keys_of(ev)
    assert new_ev.keys_of(ev) == expected
    assert new_ev.keys_of(IdentityEvidence(**{**old._as_dict(ev), "macs": list(ev.macs)})) == expected  # type: ignore[arg-type]


@settings(max_examples=500, deadline=None)
@given(evidence(), st.booleans(), st.booleans())
def test_evidence_of(ev: IdentityEvidence, own: bool, named: bool) -> None:
    name = ev.hostname or "PC-1"
    if own:  # the snapshot carries its provider's evidence, with or without a hostname
        snap = DeviceSnapshot("a", "r", name, "workstation", identity=ev if named else IdentityEvidence(macs=ev.macs))
    else:
        snap = DeviceSnapshot(
            "a",
            "r",
            name,
            "workstation",
            hardware_uuid=ev.hardware_uuid,
            serial_number=ev.serial_number,
            manufacturer=ev.manufacturer,
            mac_addresses=ev.macs,
            domain=ev.domain,
        )
    assert new_ev.evidence_of(snap) == old.evidence_of(snap)
    assert new_ev.keys_of(new_ev.evidence_of(snap)) == old.keys_of(old.evidence_of(snap))


strong_sets = st.dictionaries(
    st.sampled_from(["uuid", "serial", "mac"]),
    st.sets(st.tuples(st.sampled_from(["V1", "V2", "V3"]), st.sampled_from(["", "dell", "hp"])), max_size=3),
    max_size=3,
)


@settings(max_examples=3000, deadline=None)
@given(strong_sets, strong_sets)
def test_conflict(a: dict[str, set[tuple[str, str]]], b: dict[str, set[tuple[str, str]]]) -> None:
    assert new_ev.conflict(a, b) == old.conflict(a, b)
    assert new_ev.conflict(b, a) == old.conflict(b, a)


def _check_v7(u: uuid.UUID, lo_ms: int, hi_ms: int) -> None:
    assert u.version == 7 and u.variant == uuid.RFC_4122
    assert lo_ms <= u.int >> 80 <= hi_ms
    # What UUID(int=...) would have built: equal, same hash, text, safety flag; survives pickling.
    same = uuid.UUID(int=u.int)
    assert u == same and hash(u) == hash(same) and str(u) == str(same) and u.is_safe == same.is_safe
    assert pickle.loads(pickle.dumps(u)) == u
    assert type(u) is uuid.UUID


def test_uuid7_layout_and_order() -> None:
    lo = time.time_ns() // 1_000_000
    ids = [uuid7() for _ in range(5000)] + uuid7s(5000)
    hi = time.time_ns() // 1_000_000
    for u in ids:
        _check_v7(u, lo, hi)
    assert len({u.int for u in ids}) == len(ids)
    old_style = old.uuid7()
    assert (old_style.version, old_style.variant) == (ids[0].version, ids[0].variant)
    # As before: ids of later milliseconds sort after earlier ones.
    first = uuid7()
    time.sleep(0.002)
    assert uuid7() > first
    # The 74 random bits are random: every one of them takes both values over 5000 ids.
    random_mask = (0xFFF << 64) | ((1 << 62) - 1)
    ored, anded = 0, random_mask
    for u in ids:
        ored |= u.int & random_mask
        anded &= u.int
    assert ored == random_mask and anded & random_mask == 0


def test_uuid7s_is_ascending_and_sized() -> None:
    batch = uuid7s(1000)
    assert len(batch) == 1000 and batch == sorted(batch)
    assert uuid7s(0) == [] and uuid7s(-1) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_does_not_reuse_the_parents_random_bits() -> None:
    uuid7()  # the pool now holds random bits the child would inherit
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, uuid7().int.to_bytes(16, "big"))
        finally:
            os._exit(0)
    os.close(write)
    child = int.from_bytes(os.read(read, 16), "big")
    os.close(read)
    os.waitpid(pid, 0)
    mine = uuid7().int
    low80 = (1 << 80) - 1
    assert child & low80 != mine & low80
