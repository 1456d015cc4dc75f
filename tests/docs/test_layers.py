"""The import rules of docs/architecture.md hold for every module under src/rmmbridge."""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs.layers import CLASSIFY, LAYERS, SRC, Edge, all_imports, layer_of, violations

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_every_module_has_a_layer() -> None:
    for path in (SRC / "rmmbridge").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        layer_of(".".join(parts[:-1] if parts[-1] == "__init__" else parts))  # raises for an unplaced module


def test_no_import_breaks_the_layers() -> None:
    assert violations(all_imports()) == []


def test_the_checker_sees_a_breach() -> None:
    # The rules bite: an ingestion module importing a sync module, a provider importing storage.
    assert violations([Edge("rmmbridge.ingestion.devices", "rmmbridge.sync.runs", 1)])
    assert violations([Edge("rmmbridge.providers.tanium.gateway", "rmmbridge.storage.db", 1)])
    assert violations([Edge("rmmbridge.sync.runner", "rmmbridge.web.deps", 1)])
    assert not violations([Edge("rmmbridge.sync.runner", "rmmbridge.ingestion.devices", 1)])


def test_the_documented_table_matches_the_checker() -> None:
    """docs/architecture.md lists every layer, lowest first, with the patterns this checker uses."""
    text = DOC.read_text()
    section = text.split("<!-- layers:begin -->", 1)[1].split("<!-- layers:end -->", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| layer")]
    documented = [re.findall(r"`([^`]+)`", row.split("|")[1])[0] for row in rows]
    assert documented == LAYERS
    for row in rows:
        layer = re.findall(r"`([^`]+)`", row.split("|")[1])[0]
        patterns = set(re.findall(r"`([^`]+)`", row.split("|")[2]))
        assert patterns == {p for p, lay in CLASSIFY if lay == layer}, layer
