"""When a failed delivery is tried again: a fixed ladder with jitter, or the receiver's Retry-After.

The ladder spans 32 h 36 min (more than the 24 h a receiver may be down for maintenance over a
weekend night); after its last step the delivery is given up. A subscription that has failed
without a success for ``DISABLE_AFTER`` is disabled (see sender.py).
"""

from __future__ import annotations

import random
from datetime import timedelta

LADDER_S: tuple[int, ...] = (5, 60, 300, 1800, 7200, 21600, 43200, 43200)
MAX_ATTEMPTS = len(LADDER_S) + 1
DISABLE_AFTER = timedelta(days=3)
# Longest Retry-After honoured as given (a receiver asking for more is asked again after a day).
MAX_RETRY_AFTER_S = 86400.0
JITTER = 0.2  # ± a fifth: receivers recovering from an outage are not hit by every sender at once


def retry_delay(attempts_done: int, retry_after_s: float | None, rng: random.Random | None = None) -> float | None:
    """Seconds until the next attempt after ``attempts_done`` failed ones; ``None``: give up."""
    if attempts_done >= MAX_ATTEMPTS:
        return None
    if retry_after_s is not None:
        return min(max(retry_after_s, 1.0), MAX_RETRY_AFTER_S)
    base = LADDER_S[attempts_done - 1]
    r = (rng or random).uniform(-JITTER, JITTER)
    return base * (1 + r)
