"""Small SVG charts, laid out here in plain numbers: the template writes the elements, no script draws.

Every chart has a one-line summary (its accessible name and the caption a reader sees first), axes
with a few round ticks, and CSS classes for colour, so the page's style sheet (not inline styles, which
the Content-Security-Policy forbids) paints it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from customization_vault.catalog import MatchCount
from customization_vault.dashboard import DayCounts, Latency, Sample

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 10, 10, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    key: str  # element ids: "chart-<key>"
    title: str
    summary: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    line: str | None = None  # polyline points
    bars: tuple[Bar, ...] = ()
    legend: tuple[tuple[str, str], ...] = ()  # (css class, label)
    # One geometry for every chart: the template reads it from here.
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_w: int = PLOT_W
    plot_h: int = PLOT_H


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^n at or above `value` (at least 1): round tick labels."""
    if value <= 1:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 5, 10):
        if m * exp >= value:
            return float(m * exp)
    return float(10 * exp)  # pragma: no cover - the loop always returns


def _num(v: float) -> str:
    return f"{v:g}" if v < 1000 else f"{v / 1000:g}k"


def _y_ticks(top: float) -> list[Tick]:
    return [Tick(TOP + PLOT_H - PLOT_H * f, _num(top * f)) for f in (0.0, 0.5, 1.0)]


def line_chart(key: str, title: str, samples: Sequence[Sample], unit: str, now_words: str) -> Chart:
    values = [s.value for s in samples]
    top = nice_ceiling(max(values, default=0.0))
    n = max(1, len(samples) - 1)
    points = " ".join(
        f"{LEFT + PLOT_W * i / n:.1f},{TOP + PLOT_H - PLOT_H * v / top:.1f}" for i, v in enumerate(values)
    )
    x_ticks = [
        Tick(LEFT + PLOT_W * i / n, s.at.strftime("%a %d"))
        for i, s in enumerate(samples)
        if s.at.hour == 0 and s.at.minute == 0
    ]
    peak = max(values, default=0.0)
    summary = f"{title}: {now_words} now; highest {peak:g} {unit} in the period shown."
    return Chart(key, title, summary, x_ticks, _y_ticks(top), line=points)


DECISION_CLASSES: tuple[tuple[str, str, str], ...] = (
    # (category, css class, legend label)
    ("approve", "c-approve", "approved"),
    ("reject:trademark", "c-trademark", "rejected: trademark"),
    ("reject:copyright", "c-copyright", "rejected: copyright"),
    ("reject:offensive", "c-offensive", "rejected: offensive"),
    ("reject:restricted", "c-restricted", "rejected: restricted"),
    ("reject:other", "c-other", "rejected: other"),
    ("escalate", "c-escalate", "escalated"),
)


def stacked_days(key: str, title: str, days: Sequence[DayCounts]) -> Chart:
    top = nice_ceiling(max((d.total for d in days), default=0))
    slot = PLOT_W / max(1, len(days))
    bars: list[Bar] = []
    for i, d in enumerate(days):
        y = float(TOP + PLOT_H)
        for category, css, label in DECISION_CLASSES:
            count = d.counts.get(category, 0)
            if not count:
                continue
            h = PLOT_H * count / top
            y -= h
            bars.append(
                Bar(LEFT + i * slot + slot * 0.15, y, slot * 0.7, h, css, f"{d.day}: {count} {label}")
            )
    x_ticks = [
        Tick(LEFT + i * slot + slot / 2, d.day.strftime("%d")) for i, d in enumerate(days) if i % 2 == 0
    ]
    total = sum(d.total for d in days)
    summary = f"{title}: {total} decisions in {len(days)} days, {days[-1].total if days else 0} today."
    legend = tuple((css, label) for _, css, label in DECISION_CLASSES)
    return Chart(key, title, summary, x_ticks, _y_ticks(top), bars=tuple(bars), legend=legend)


def duration_unit(seconds: float) -> tuple[float, str]:
    if seconds >= 2 * 3600:
        return 3600.0, "h"
    if seconds >= 120:
        return 60.0, "min"
    return 1.0, "s"


def latency_days(key: str, title: str, days: Sequence[tuple[object, Latency]], overall: Latency) -> Chart:
    """Median purge latency per day (bars) with each day's slowest as a thin bar behind it."""
    worst = max((lat.max or 0.0 for _, lat in days), default=0.0)
    scale, unit = duration_unit(worst)
    top = nice_ceiling(worst / scale)
    slot = PLOT_W / max(1, len(days))
    bars: list[Bar] = []
    for i, (day, lat) in enumerate(days):
        if lat.count == 0 or lat.max is None or lat.p50 is None:
            continue
        x = LEFT + i * slot
        h_max = PLOT_H * (lat.max / scale) / top
        h_med = PLOT_H * (lat.p50 / scale) / top
        bars.append(
            Bar(
                x + slot * 0.42,
                TOP + PLOT_H - h_max,
                slot * 0.16,
                h_max,
                "c-max",
                f"{day}: slowest {lat.max:.0f} s",
            )
        )
        bars.append(
            Bar(
                x + slot * 0.2,
                TOP + PLOT_H - h_med,
                slot * 0.6,
                h_med,
                "c-median",
                f"{day}: median {lat.p50:.0f} s of {lat.count}",
            )
        )
    x_ticks = [Tick(LEFT + i * slot + slot / 2, f"{day:%d}") for i, (day, _) in enumerate(days) if i % 2 == 0]
    if overall.count:
        assert overall.p50 is not None
        assert overall.p95 is not None
        summary = (
            f"{title}: {overall.count} orders purged; median {overall.p50:.0f} s, "
            f"95th percentile {overall.p95:.0f} s, slowest {overall.max or 0:.0f} s."
        )
    else:
        summary = f"{title}: no order was purged in the period shown."
    ticks = [Tick(t.pos, f"{t.label} {unit}") for t in _y_ticks(top)]
    legend = (("c-median", "median"), ("c-max", "slowest"))
    return Chart(key, title, summary, x_ticks, ticks, bars=tuple(bars), legend=legend)


@dataclass(frozen=True, slots=True)
class MatchBar:
    label: str
    detail: str
    items: int
    width: float  # share of the widest bar, 0-100 (an SVG rect's width in %)


def match_bars(matches: Sequence[MatchCount]) -> list[MatchBar]:
    most = max((m.items for m in matches), default=1)
    return [
        MatchBar(
            label=m.label or m.entry,
            detail=f"{m.kind} · {m.entry} · {m.list_ref}" + (f" · {m.category}" if m.category else ""),
            items=m.items,
            width=round(100 * m.items / most, 2),
        )
        for m in matches
    ]
