"""One `Screener` that routes each item to the engine for its kind: text/*, image/*, font/*.

Engines load lists and indexes that take a while to build, so each is built on first use (or by
`warm()`), once, under a lock: a process that never sees a font never pays for the font engine.
`rebuild(kind)` builds a kind's engine afresh (new list versions) and swaps it in: screenings already
running finish on the engine they started with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from screening.findings import Verdict
from screening.screener import EngineState, EngineStatus, NullScreener, Screener

ScreenerFactory = Callable[[], Screener]

log = logging.getLogger(__name__)


class UnscreenableInput(ValueError):
    """An engine could not parse the item (a font's tables, an image's stream) and so cannot vouch for it.

    Every engine signals bad input with a ValueError subclass (ImageDecodeError, FontParseError,
    TextDecodeError); the composite folds them into this one type so callers refuse the upload as
    client input instead of failing as a server error. The engine's message is not carried over.
    """

    def __init__(self, media_kind: str, cause: str) -> None:
        super().__init__(f"the {media_kind} could not be parsed for screening ({cause})")
        self.media_kind = media_kind
        self.cause = cause


class _Lazy:
    """Builds its screener once; concurrent first callers wait for the same build."""

    def __init__(self, factory: ScreenerFactory) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._rebuild_lock = threading.Lock()
        self._screener: Screener | None = None

    @property
    def built(self) -> Screener | None:
        """The screener if it was built already; never builds it."""
        return self._screener

    def get(self) -> Screener:
        screener = self._screener
        if screener is None:
            with self._lock:
                if self._screener is None:
                    self._screener = self._factory()
                screener = self._screener
        return screener

    def rebuild(self) -> Screener:
        """Build outside the lock (screening goes on meanwhile), then swap: one reference assignment,
        so a caller sees the old engine or the new one, never a half-built one. A failed build raises
        and leaves the old engine in place. Rebuilds of one kind are serialised."""
        with self._rebuild_lock:
            screener = self._factory()
            with self._lock:
                self._screener = screener
        return screener


class CompositeScreener:
    """Dispatches on the top-level media type; a kind with no engine is refused, never silently cleared.

    Media types come from content sniffing (never the client's claim), so routing can not be steered by
    a mislabelled upload.
    """

    def __init__(
        self,
        *,
        text: ScreenerFactory | None = None,
        image: ScreenerFactory | None = None,
        font: ScreenerFactory | None = None,
    ) -> None:
        self._engines: dict[str, _Lazy] = {}
        for kind, factory in (("text", text), ("image", image), ("font", font)):
            if factory is not None:
                self._engines[kind] = _Lazy(factory)

    def engine(self, kind: str) -> Screener:
        """The engine for a media kind ("text", "image", "font"), built on first use."""
        lazy = self._engines.get(kind)
        if lazy is None:  # a configuration error, not client input: a 500, loudly
            raise LookupError(f"no screening engine for media kind {kind!r}")
        return lazy.get()

    def screen(self, data: bytes, media_type: str) -> Verdict:
        engine = self.engine(media_type.split("/", 1)[0].strip().lower())
        try:
            return engine.screen(data, media_type)
        except ValueError as exc:
            kind = media_type.split("/", 1)[0]
            log.info("%s engine refused an item (%s)", kind, type(exc).__name__)
            raise UnscreenableInput(kind, type(exc).__name__) from None

    def built(self, kind: str) -> bool:
        """Whether the kind's engine exists yet (one not built will be built from the newest lists)."""
        lazy = self._engines.get(kind)
        return lazy is not None and lazy.built is not None

    def rebuild(self, kind: str) -> None:
        """Build the kind's engine again from its factory and swap it in (see `_Lazy.rebuild`)."""
        self._engines[kind].rebuild()

    def warm(self) -> None:
        """Build every engine now (at start-up), so the first upload does not pay for list loading."""
        for lazy in self._engines.values():
            lazy.get()

    def reference_thumbnail(self, entry_id: str) -> bytes | None:
        """The registered image a logo finding matched (PNG), for the reviewer's side-by-side view."""
        lazy = self._engines.get("image")
        registry = getattr(lazy.get(), "registry", None) if lazy is not None else None
        if registry is None or entry_id not in registry:
            return None
        thumb: bytes = registry.thumbnail(entry_id)
        return thumb

    def reference_term(self, entry_id: str) -> str | None:
        """The listed wording of the offensive term an entry id names, for the reviewer's view."""
        lazy = self._engines.get("text")
        term = getattr(lazy.get(), "term", None) if lazy is not None else None
        found = term(entry_id) if callable(term) else None
        return found if isinstance(found, str) else None

    def status(self) -> dict[str, EngineStatus]:
        """Each engine's state by name ("text", "image", "ocr", "font"), for readiness and logs.

        Builds nothing: an engine not used or warmed yet is `not_loaded`. Engines inside another one
        (OCR inside the image engine) are listed beside it.
        """
        out: dict[str, EngineStatus] = {}
        for kind, lazy in self._engines.items():
            screener = lazy.built
            if screener is None:
                status = EngineStatus(EngineState.NOT_LOADED)
            else:
                report = getattr(screener, "status", None)
                status = report() if callable(report) else EngineStatus.loaded(screener)
            out[kind] = status
            out.update(status.parts)
        return out


def null_composite() -> CompositeScreener:
    """Screening disabled: every kind clears (used by benchmarks and `CV_SCREENING__ENABLED=false`)."""
    return CompositeScreener(text=NullScreener, image=NullScreener, font=NullScreener)


__all__ = ["CompositeScreener", "ScreenerFactory", "UnscreenableInput", "null_composite"]
