"""Exponential backoff with a cap: the one retry schedule the purge and webhook delivery both follow."""

from __future__ import annotations

from datetime import timedelta


def backoff_delay(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """base, 2·base, 4·base … capped at `max_seconds`; `attempts` counts failures so far (>= 1).

    The cap keeps a long outage from pushing the next try days away once the other side is back; the
    exponent is bounded so a huge attempt count cannot overflow the float.

    >>> [backoff_delay(n, base_seconds=5, max_seconds=60).seconds for n in (1, 2, 3, 4, 5)]
    [5, 10, 20, 40, 60]
    """
    exponent = min(max(attempts, 1) - 1, 30)
    return timedelta(seconds=min(base_seconds * (2**exponent), max_seconds))
