"""Structured logging (structlog): JSON for machines, console for people."""

from __future__ import annotations

import logging
import sys

import structlog


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written, not when logging was configured: a CLI
    command run in-process (Typer's test runner, an embedding program) swaps ``sys.stderr`` for a
    stream it closes afterwards, and every later log line must not hit that closed stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The standard library's side of the same rule (like ``logging.lastResort``)."""

    def __init__(self) -> None:
        super().__init__(_CurrentStderr())  # type: ignore[arg-type]


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        level = "INFO"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    # force: the CLI configures WARNING first; ``serve`` then re-configures at the service's level.
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # aiosqlite logs every call with its arguments at DEBUG: statement parameters (session and
    # CSRF tokens, password hashes) would reach the log. The engine hides parameters itself
    # (storage/db.py, hide_parameters).
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLevelName(level)))
