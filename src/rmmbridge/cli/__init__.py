"""The ``rmmbridge`` command line: one Typer app with a sub-app per domain."""

from __future__ import annotations

from .main import app, main

__all__ = ["app", "main"]
