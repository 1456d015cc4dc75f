"""The long-running processes' heap, settled once at start-up.

CPython's cyclic garbage collector runs a full pass over every tracked object each time enough
new container objects survived; a service imports ~125,000 of them (SQLAlchemy, FastAPI, pydantic
models, the Temporal SDK) that live as long as the process. A first device sync of 20,000 devices
allocates millions of short-lived dicts and tuples and triggered 17 full passes, each walking all
of those modules' objects again: about a quarter of the sync's client CPU (7.8 → 5.5 s measured
in one run window with ``bench.ingest --overlap 0.5``). ``gc.freeze()`` moves what exists after
start-up into a permanent generation the collector skips; cycles created later are still found.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect what start-up left behind, then exempt the survivors from later full passes."""
    gc.collect()
    gc.freeze()
