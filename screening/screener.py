"""The `Screener` seam the vault and API call: content in, Verdict out, no I/O beyond the bytes given.

Each engine also says what state it is in (`EngineStatus`), for readiness output: which implementation
serves, which lists (name@version) it holds and how many entries each, never any content.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from screening.findings import Verdict


@runtime_checkable
class Screener(Protocol):
    """Screens one item of customization data.

    `media_type` is the type sniffed from content ("text/plain", "image/png", "font/ttf", ...).
    Implementations are pure functions of (lists, input) and must be safe to call from threads.
    """

    def screen(self, data: bytes, media_type: str) -> Verdict: ...


class EngineState(enum.StrEnum):
    LOADED = "loaded"  # built and screening
    DISABLED = "disabled"  # switched off by settings: its kind clears
    UNAVAILABLE = "unavailable"  # could not be loaded (development only): its kind clears
    NOT_LOADED = "not_loaded"  # not built yet (engines are built on first use or by `warm()`)


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """One engine as readiness reports it. `lists` maps each list's "name@version" to its entries;
    `reason` says why an engine is unavailable (an exception's class name: never a path or content);
    `parts` are engines inside this one (OCR inside the image engine)."""

    state: EngineState
    engine: str | None = None
    lists: Mapping[str, int] = field(default_factory=dict)
    reason: str | None = None
    parts: Mapping[str, EngineStatus] = field(default_factory=dict)

    @classmethod
    def loaded(
        cls, engine: object, lists: Mapping[str, int] | None = None, **parts: EngineStatus
    ) -> EngineStatus:
        """`engine` is serving: named by its class."""
        return cls(EngineState.LOADED, type(engine).__name__, dict(lists or {}), parts=parts)


DISABLED = EngineStatus(EngineState.DISABLED)


class NullScreener:
    """Clears everything. Stands in for an engine switched off by settings (benchmarks, tests) or, in
    development only, for one that could not be loaded; `reason` then says why."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason

    def screen(self, data: bytes, media_type: str) -> Verdict:
        return Verdict.of(())

    def status(self) -> EngineStatus:
        if self.reason is None:
            return DISABLED
        return EngineStatus(EngineState.UNAVAILABLE, reason=self.reason)


__all__ = ["DISABLED", "EngineState", "EngineStatus", "NullScreener", "Screener"]
