"""Log lines go to the stderr of the moment they are written: a CLI command run in-process
(Typer's runner swaps ``sys.stderr`` for a stream it closes afterwards) must not leave logging
bound to a closed stream, or every later warning in the process raises
``ValueError: I/O operation on closed file`` (as the whole test session did after one such test)."""

from __future__ import annotations

import logging

import structlog
from typer.testing import CliRunner

from rmmbridge.kit.logging import configure_logging


def test_logging_survives_the_stream_it_was_configured_under(capsys) -> None:  # type: ignore[no-untyped-def]
    with CliRunner().isolation() as (_out, err, *_):
        configure_logging("WARNING")  # what the CLI's callback does, here under the runner's stderr
        structlog.get_logger("t").warning("inside", n=1)
        assert b"inside" in err.getvalue()
    # The runner's stream is closed now; the lines go to the stderr of this moment.
    structlog.get_logger("t").warning("after_cli", n=1)
    logging.getLogger("t.stdlib").warning("stdlib after cli")
    got = capsys.readouterr().err
    assert "after_cli" in got and "n=1" in got
    assert "stdlib after cli" in got
