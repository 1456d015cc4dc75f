"""Benchmarks (``python -m bench.<name> … --json``): stdout carries only the result.

The service's code logs through structlog, which writes to stdout until something configures it;
a benchmark's ``--json`` line must be the only thing there, so logging goes to stderr at WARNING
(``BENCH_LOG_LEVEL=DEBUG`` to see the runs' events). A simulator started by a benchmark
(``bench.support``) configures its own logging, as ``rmmbridge simulate`` does.
"""

import os

from rmmbridge.kit.logging import configure_logging

configure_logging(os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
