"""When to try a request again, and how long to wait first.

Retrying is safe here because every request the client sends is idempotent: reads, the order's
`PUT`, fulfilment and cancellation (the first wins, repeats are harmless), and uploads, which always
carry an `Idempotency-Key` (the same key on every attempt, so the service stores the item once).
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

__all__ = ["NO_RETRY", "RetryPolicy", "parse_retry_after"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`attempts` tries in all (the first included). Between tries: the answer's `Retry-After` when it
    has one (up to `max_retry_after`; a longer one is not waited for: the error is raised), else
    exponential backoff from `backoff` seconds, capped at `max_backoff`, with jitter."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy makes at least one attempt")

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed attempt number `attempt` (from 1), or None: give up."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        step = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return random.uniform(step / 2, step) if self.jitter else step  # noqa: S311 - not a secret


NO_RETRY = RetryPolicy(attempts=1)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds to wait: delta-seconds or an HTTP date; None when absent or unreadable.

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0)
    6.0
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
