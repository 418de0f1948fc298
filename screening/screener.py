"""The `Screener` seam the vault and API call: content in, Verdict out, no I/O beyond the bytes given."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from screening.findings import Verdict


@runtime_checkable
class Screener(Protocol):
    """Screens one item of customization data.

    `media_type` is the type sniffed from content ("text/plain", "image/png", "font/ttf", ...).
    Implementations are pure functions of (lists, input) and must be safe to call from threads.
    """

    def screen(self, data: bytes, media_type: str) -> Verdict: ...


class NullScreener:
    """Clears everything: used when screening is disabled (benchmarks) and in early wiring."""

    def screen(self, data: bytes, media_type: str) -> Verdict:
        return Verdict.of(())
