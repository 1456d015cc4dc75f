"""Structured logging (structlog): JSON for machines, console for people."""

from __future__ import annotations

import logging
import sys

import structlog


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
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # force: the CLI configures WARNING first; ``serve`` then re-configures at the service's level.
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s", force=True)
    # aiosqlite logs every call with its arguments at DEBUG: statement parameters (session and
    # CSRF tokens, password hashes) would reach the log. The engine hides parameters itself
    # (storage/db.py, hide_parameters).
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLevelName(level)))
