"""Time-ordered UUIDs (RFC 9562 version 7).

Primary keys are uuid7 so that inserts land at the right-hand edge of B-tree indexes, which
keeps bulk ingestion into PostgreSQL fast; Python 3.11's ``uuid`` module has no uuid7 yet.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 68) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)
