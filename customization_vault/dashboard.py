"""The review dashboard's numbers, computed from what the catalog already records (no sampler runs).

Queue size and the oldest case's age *over time* are reconstructed from each case's own timestamps:
a case waits from its creation until its first decision (or its closing), and again from its appeal
until the appeal's decision. The aggregations are pure functions of those facts and `now`, so tests
walk them on hand-made histories; `ReviewStats` only reads the facts and calls them.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from customization_vault.catalog import CaseTimes, Catalog, DecisionFact, MatchCount
from customization_vault.clock import Clock, system_clock

__all__ = [
    "AppealRate",
    "DashboardData",
    "DayCounts",
    "Latency",
    "ReviewStats",
    "Sample",
    "decision_category",
    "decisions_by_day",
    "decisions_by_kind",
    "latency",
    "overturn_rate",
    "queue_samples",
    "waiting_intervals",
]

_FAR = datetime.max


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    value: float


@dataclass(frozen=True, slots=True)
class DayCounts:
    day: date
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class AppealRate:
    decided: int
    overturned: int

    @property
    def rate(self) -> float | None:
        return None if self.decided == 0 else self.overturned / self.decided


@dataclass(frozen=True, slots=True)
class Latency:
    """Seconds from an order leaving "open" to its purge receipt."""

    count: int
    p50: float | None
    p95: float | None
    max: float | None


@dataclass(frozen=True, slots=True)
class DashboardData:
    now: datetime
    queue_size: list[Sample]
    oldest_age_hours: list[Sample]
    decisions_per_day: list[DayCounts]
    decisions_by_kind: dict[str, dict[str, int]]
    top_matches: list[MatchCount]
    appeals: AppealRate
    purge_latency: Latency
    purge_latency_per_day: list[tuple[date, Latency]]
    queue_days: int
    decision_days: int
    match_days: int
    appeal_days: int
    purge_days: int


def waiting_intervals(case: CaseTimes) -> list[tuple[datetime, datetime | None]]:
    """The spans during which a case waited for a decision (None: still waiting).

    A blocked item's appeal opens a case that never had a first instance: it waits from its appeal.
    """
    out: list[tuple[datetime, datetime | None]] = []
    first_end = case.decided_at
    if first_end is None and case.appealed_at is not None:
        first_end = case.appealed_at
    if first_end is None:
        first_end = case.closed_at
    if first_end is None or first_end > case.created_at:
        out.append((case.created_at, first_end))
    if case.appealed_at is not None:
        end = case.appeal_decided_at or case.closed_at
        if end is None or end > case.appealed_at:
            out.append((case.appealed_at, end))
    return out


def queue_samples(
    cases: Sequence[CaseTimes], start: datetime, end: datetime, step: timedelta
) -> tuple[list[Sample], list[Sample]]:
    """(cases waiting, hours the oldest of them had waited) at start, start + step, ..., end.

    A sweep over sorted starts and ends: O((cases + samples) log cases), not cases x samples.
    """
    spans = sorted(
        (s, e if e is not None else _FAR.replace(tzinfo=s.tzinfo))
        for c in cases
        for s, e in waiting_intervals(c)
    )
    starts = [s for s, _ in spans]
    ends = sorted(e for _, e in spans)
    active: list[tuple[datetime, datetime]] = []  # (start, end), a heap by start
    sizes: list[Sample] = []
    oldest: list[Sample] = []
    pushed = 0
    t = start
    while t <= end:
        while pushed < len(spans) and spans[pushed][0] <= t:
            heapq.heappush(active, spans[pushed])
            pushed += 1
        while active and active[0][1] <= t:  # time only moves forward: an ended span never returns
            heapq.heappop(active)
        size = bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t)
        sizes.append(Sample(t, float(size)))
        age = (t - active[0][0]).total_seconds() / 3600 if active else 0.0
        oldest.append(Sample(t, round(age, 2)))
        t += step
    return sizes, oldest


def decision_category(d: DecisionFact) -> str:
    """approve | reject:<reason> | escalate (the dashboard's colours)."""
    if d.outcome == "reject":
        return f"reject:{d.reason or 'other'}"
    return d.outcome


def decisions_by_day(facts: Sequence[DecisionFact], first_day: date, days: int) -> list[DayCounts]:
    out = [DayCounts(first_day + timedelta(days=i), {}) for i in range(days)]
    for d in facts:
        i = (d.at.date() - first_day).days
        if 0 <= i < days:
            cat = decision_category(d)
            out[i].counts[cat] = out[i].counts.get(cat, 0) + 1
    return out


def decisions_by_kind(facts: Sequence[DecisionFact]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = {}
    for d in facts:
        out.setdefault(d.kind or "unknown", Counter())[decision_category(d)] += 1
    return {k: dict(v) for k, v in sorted(out.items())}


def overturn_rate(facts: Sequence[DecisionFact]) -> AppealRate:
    """Appeals decided, and how many of them released the item (the first decision did not stand)."""
    appeals = [d for d in facts if d.appeal]
    return AppealRate(len(appeals), sum(1 for d in appeals if d.outcome == "approve"))


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (no interpolation: every value shown is one that happened)."""
    rank = max(1, math.ceil(len(sorted_values) * q))
    return sorted_values[rank - 1]


def latency(pairs: Sequence[tuple[datetime, datetime]]) -> Latency:
    values = sorted(max(0.0, (b - a).total_seconds()) for a, b in pairs)
    if not values:
        return Latency(0, None, None, None)
    return Latency(len(values), _quantile(values, 0.5), _quantile(values, 0.95), values[-1])


class ReviewStats:
    """Reads the facts the dashboard needs in one unit of work and aggregates them."""

    def __init__(self, catalog: Catalog, clock: Clock = system_clock) -> None:
        self._catalog = catalog
        self._clock = clock

    def snapshot(
        self,
        *,
        queue_days: int = 7,
        decision_days: int = 14,
        match_days: int = 7,
        appeal_days: int = 30,
        purge_days: int = 14,
        top: int = 10,
    ) -> DashboardData:
        now = self._clock()
        hour = now.replace(minute=0, second=0, microsecond=0)
        queue_start = hour - timedelta(days=queue_days)
        first_day = now.date() - timedelta(days=decision_days - 1)
        day_start = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
        longest = max(decision_days, appeal_days)
        with self._catalog.unit() as u:
            cases = u.reviews.times_since(queue_start)
            facts = u.reviews.decisions_since(now - timedelta(days=longest))
            top_matches = u.findings.top_entries(now - timedelta(days=match_days), limit=top)
            purges = u.orders.purge_times(now - timedelta(days=purge_days))
        sizes, oldest = queue_samples(cases, queue_start, hour, timedelta(hours=1))
        if sizes[-1].at != now:  # the last point is now, not the last full hour
            more_sizes, more_oldest = queue_samples(cases, now, now, timedelta(hours=1))
            sizes += more_sizes
            oldest += more_oldest
        recent = [d for d in facts if d.at >= day_start]
        appeal_since = now - timedelta(days=appeal_days)
        per_day: dict[date, list[tuple[datetime, datetime]]] = {}
        for a, b in purges:
            per_day.setdefault(b.date(), []).append((a, b))
        purge_first = now.date() - timedelta(days=purge_days - 1)
        return DashboardData(
            now=now,
            queue_size=sizes,
            oldest_age_hours=oldest,
            decisions_per_day=decisions_by_day(recent, first_day, decision_days),
            decisions_by_kind=decisions_by_kind(recent),
            top_matches=top_matches,
            appeals=overturn_rate([d for d in facts if d.at >= appeal_since]),
            purge_latency=latency(purges),
            purge_latency_per_day=[
                (purge_first + timedelta(days=i), latency(per_day.get(purge_first + timedelta(days=i), [])))
                for i in range(purge_days)
            ],
            queue_days=queue_days,
            decision_days=decision_days,
            match_days=match_days,
            appeal_days=appeal_days,
            purge_days=purge_days,
        )
