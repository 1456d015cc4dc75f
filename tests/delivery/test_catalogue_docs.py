"""docs/events.md lists every event type of the catalogue and every old name it maps."""

from __future__ import annotations

from pathlib import Path

from rmmbridge.events import catalogue

DOC = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()


def test_every_type_and_old_name_is_documented():
    for event_type in catalogue.EVENT_TYPES:
        assert f"`{event_type}`" in DOC, event_type
    for old in catalogue.LEGACY_NAMES:
        assert f"`{old}`" in DOC, old
    assert catalogue.CATALOGUE_VERSION in DOC


def test_every_data_field_is_documented():
    for event_type, schema in catalogue.DATA_SCHEMAS.items():
        row = next(line for line in DOC.splitlines() if line.startswith(f"| `{event_type}` |"))
        for field in schema["properties"]:
            assert f"`{field}`" in row, (event_type, field)
