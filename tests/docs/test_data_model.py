"""The data-model diagram in docs/architecture.md is the one the models generate today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen_data_model.py"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_data_model", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_diagram_matches_the_models() -> None:
    gen = _generator()
    text = gen.DOC.read_text()
    assert gen.BEGIN in text and gen.END in text, "docs/architecture.md lost its data-model markers"
    committed = gen.BEGIN + text.split(gen.BEGIN, 1)[1].split(gen.END, 1)[0] + gen.END
    assert committed == gen.current_block(), (
        "the data-model diagram is out of date with the models; run "
        "`PYTHONPATH=$PWD/src .venv/bin/python scripts/gen_data_model.py` and commit docs/architecture.md"
    )


def test_every_table_is_drawn() -> None:
    from rmmbridge.storage.models import Base

    block = _generator().current_block()
    for name in Base.metadata.tables:
        assert f"    {name} {{" in block
