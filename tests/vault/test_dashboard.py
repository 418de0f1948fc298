"""The dashboard's numbers: pure aggregations on hand-made histories, then `ReviewStats` over a real
catalog on both backend families (cases decided, appealed and purged under a frozen clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from customization_vault.catalog import CaseTimes, DecisionFact
from customization_vault.clock import FrozenClock
from customization_vault.dashboard import (
    ReviewStats,
    decisions_by_day,
    decisions_by_kind,
    latency,
    overturn_rate,
    queue_samples,
    waiting_intervals,
)
from tests.vault.test_review import R1, R2, desk, seed

T0 = datetime(2026, 11, 20, tzinfo=UTC)
H = timedelta(hours=1)


def case(
    created: int,
    decided: int | None = None,
    appealed: int | None = None,
    appeal_decided: int | None = None,
    closed: int | None = None,
) -> CaseTimes:
    at = lambda h: None if h is None else T0 + h * H  # noqa: E731
    return CaseTimes(T0 + created * H, at(decided), at(appealed), at(appeal_decided), at(closed))


def test_a_case_waits_until_decided_and_again_while_appealed() -> None:
    assert waiting_intervals(case(0, decided=3)) == [(T0, T0 + 3 * H)]
    assert waiting_intervals(case(0)) == [(T0, None)]
    assert waiting_intervals(case(0, decided=2, appealed=5, appeal_decided=6)) == [
        (T0, T0 + 2 * H),
        (T0 + 5 * H, T0 + 6 * H),
    ]
    # A block's appeal opens a case at the appeal: it never waited for a first decision.
    assert waiting_intervals(case(4, appealed=4)) == [(T0 + 4 * H, None)]
    assert waiting_intervals(case(0, closed=1)) == [(T0, T0 + H)]
    assert waiting_intervals(case(0, decided=1, appealed=2, closed=3)) == [
        (T0, T0 + H),
        (T0 + 2 * H, T0 + 3 * H),
    ]


def test_queue_size_and_oldest_age_are_reconstructed_hour_by_hour() -> None:
    cases = [
        case(0, decided=3),  # waits hours 0-2
        case(1),  # still waiting
        case(2, decided=3, appealed=5, appeal_decided=7),  # waits 2, then 5-6 again
    ]
    sizes, oldest = queue_samples(cases, T0, T0 + 8 * H, H)
    assert [s.value for s in sizes] == [1, 2, 3, 1, 1, 2, 2, 1, 1]
    # The oldest waiting case: the first until it is decided at 3, then the one from hour 1.
    assert [s.value for s in oldest] == [0, 1, 2, 2, 3, 4, 5, 6, 7]
    assert [s.at for s in sizes] == [T0 + i * H for i in range(9)]
    empty_sizes, empty_oldest = queue_samples([], T0, T0 + H, H)
    assert [s.value for s in empty_sizes] == [0, 0]
    assert [s.value for s in empty_oldest] == [0, 0]


def fact(
    day: int, outcome: str, reason: str | None = None, kind: str = "trademark", appeal: bool = False
) -> DecisionFact:
    return DecisionFact(T0 + timedelta(days=day, hours=5), kind, outcome, reason, appeal)


def test_decisions_are_counted_per_day_kind_and_reason() -> None:
    facts = [
        fact(0, "approve"),
        fact(0, "reject", "trademark"),
        fact(1, "reject", "offensive", kind="offensive"),
        fact(1, "escalate", kind="image"),
        fact(5, "approve"),  # outside the three days asked for
    ]
    days = decisions_by_day(facts, date(2026, 11, 20), 3)
    assert [d.day for d in days] == [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
    assert [d.counts for d in days] == [
        {"approve": 1, "reject:trademark": 1},
        {"reject:offensive": 1, "escalate": 1},
        {},
    ]
    assert decisions_by_kind(facts[:4]) == {
        "image": {"escalate": 1},
        "offensive": {"reject:offensive": 1},
        "trademark": {"approve": 1, "reject:trademark": 1},
    }


def test_overturn_rate_counts_appeals_that_released_the_item() -> None:
    facts = [
        fact(0, "reject", "trademark"),
        fact(1, "approve", appeal=True),
        fact(1, "reject", "other", appeal=True),
    ]
    rate = overturn_rate(facts)
    assert (rate.decided, rate.overturned, rate.rate) == (2, 1, 0.5)
    assert overturn_rate([]).rate is None


def test_latency_quantiles_are_values_that_happened() -> None:
    pairs = [(T0, T0 + timedelta(seconds=s)) for s in (5, 1, 3, 100, 2)]
    lat = latency(pairs)
    assert (lat.count, lat.p50, lat.p95, lat.max) == (5, 3.0, 100.0, 100.0)
    assert latency([]).count == 0


def test_review_stats_reads_the_catalog(services: Any, clock: FrozenClock) -> None:
    d = desk(services)
    order, _ = seed(services, "D-1")
    clock.advance(2 * H)
    seed(services, "D-2", seller="seller-b")
    clock.advance(H)
    case_1 = d.claim(R1)
    assert case_1 is not None
    d.decide(case_1.id, R1, "reject", reason="trademark")
    d.appeal(order, case_1.item_id, "our own name", actor="fulfilment:k")
    clock.advance(H)
    again = d.claim(R2)
    assert again is not None
    assert again.id == case_1.id
    d.decide(again.id, R2, "approve")
    services.purger.mark(services.vault.orders.get(order.id), "fulfilled", actor="seller")
    clock.advance(timedelta(seconds=30))
    services.purger.run(order.id, actor="seller")
    clock.advance(H)

    stats = ReviewStats(services.catalog, clock).snapshot()
    assert stats.queue_size[-1].value == 1  # D-2 waits
    assert stats.oldest_age_hours[-1].value == 3.01  # D-2, seeded 3 h 30 s ago
    assert max(s.value for s in stats.queue_size) == 2
    today = stats.decisions_per_day[-1]
    assert today.counts == {"reject:trademark": 1, "approve": 1}
    assert (stats.appeals.decided, stats.appeals.overturned) == (1, 1)
    assert (stats.purge_latency.count, stats.purge_latency.p50) == (1, 30.0)
    (top,) = stats.top_matches
    assert (top.entry, top.label, top.items) == ("nike", "Nike", 2)
