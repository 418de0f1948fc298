"""The workbench's view models: how the customer's text is cut around matches, where a region sits,
and the SLA words (pure functions: no app, no browser)."""

from __future__ import annotations

from datetime import timedelta

from api.workbench.charts import match_bars, nice_ceiling
from api.workbench.views import Segment, age_text, highlight, region_of, sla_of
from customization_vault.catalog import MatchCount


def test_highlight_marks_each_span_and_keeps_every_character() -> None:
    text = "Nike and Nikey shoes"
    segments = highlight(text, [(1, (0, 4)), (2, (9, 14))])
    assert segments == [
        Segment("Nike", "1"),
        Segment(" and ", ""),
        Segment("Nikey", "2"),
        Segment(" shoes", ""),
    ]
    assert "".join(s.text for s in segments) == text


def test_overlapping_spans_name_every_finding_and_bad_spans_are_clipped() -> None:
    segments = highlight("abcdef", [(1, (1, 4)), (2, (3, 5)), (3, (4, 99)), (4, (5, 2))])
    assert [(s.text, s.findings) for s in segments] == [
        ("a", ""),
        ("bc", "1"),
        ("d", "1 2"),
        ("e", "2 3"),
        ("f", "3"),
    ]


def test_invisible_characters_are_shown_not_dropped() -> None:
    (before, marked, after) = highlight("x N\u200bike y", [(1, (2, 7))])
    assert marked == Segment("N⟨U+200B⟩ike", "1")
    assert (before.text, after.text) == ("x ", " y")
    assert highlight("line\nnext\ttab", []) == [Segment("line\nnext\ttab", "")]


def test_a_region_is_placed_in_percentages_of_the_displayed_image() -> None:
    region = region_of(1, (120, 90, 240, 180), 1200, 900)
    assert region is not None
    assert (region.left, region.top, region.width, region.height) == (
        "10.000%",
        "10.000%",
        "20.000%",
        "20.000%",
    )
    assert region.pixels == "x 120, y 90, 240 × 180 px"
    unknown_size = region_of(2, (1, 2, 3, 4), None, None)
    assert unknown_size is not None
    assert unknown_size.left == ""  # no overlay without the image's size; the pixels are still listed
    assert region_of(3, (1, 2, 3), 10, 10) is None
    outside = region_of(4, (1100, 0, 500, 10), 1200, 900)
    assert outside is not None
    assert outside.width == "41.667%"
    assert region_of(5, (1300, 0, 5, 5), 1200, 900).left == "100.000%"  # type: ignore[union-attr]


def test_sla_words_and_ages() -> None:
    sla = timedelta(hours=24)
    assert sla_of(timedelta(hours=1), sla) == ("sla-ok", "on time")
    assert sla_of(timedelta(hours=12), sla) == ("sla-soon", "due soon")
    assert sla_of(timedelta(hours=24), sla) == ("sla-overdue", "overdue")
    assert age_text(timedelta(minutes=5)) == "5 min"
    assert age_text(timedelta(hours=3, minutes=7)) == "3 h 7 min"
    assert age_text(timedelta(days=2, hours=1)) == "2 d 1 h"


def test_chart_scales_and_match_bars() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 150, 999)] == [1, 1, 5, 10, 20, 200, 1000]
    bars = match_bars(
        [
            MatchCount("trademark", "marks@1", "nike", "Nike", None, 40),
            MatchCount("offensive", "t@1", "t:x", None, "slur", 10),
        ]
    )
    assert [(b.label, b.items, b.width) for b in bars] == [("Nike", 40, 100.0), ("t:x", 10, 25.0)]
    assert bars[1].detail == "offensive · t:x · t@1 · slur"
