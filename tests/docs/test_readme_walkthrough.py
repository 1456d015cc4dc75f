"""The README's commands, in the README's order, on a fresh clone, succeed as written
(`scripts/check_readme.sh`: its own data directory, simulator and ports in a temporary folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_commands_succeed_on_a_fresh_clone() -> None:
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True, text=True)
    if inside.returncode != 0:
        pytest.skip("not a git checkout: the script clones the repository")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RMMBRIDGE_")}
    env["PYTHON_ENV"] = sys.prefix  # this environment's packages; the clone's own sources
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "check_readme.sh")], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "README commands: all succeeded" in done.stdout
