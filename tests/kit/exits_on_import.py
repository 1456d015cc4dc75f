"""Imported by a decode worker as it starts (tests/kit/test_offload.py): the worker dies there, as
one that cannot start would (no memory, a ``__main__`` a spawned interpreter cannot import)."""

import os

os._exit(3)
