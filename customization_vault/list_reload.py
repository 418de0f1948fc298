"""Running processes follow the newest stored list versions without a restart.

Every `reload_seconds` a process asks the catalog for the newest version of each kind (one grouped
query over a small table). When an engine's lists changed, that engine is built again in this
background thread from the new content while screening goes on with the old one, then swapped in with
one reference assignment: a screening that started on the old engine finishes on it, the next one
uses the new. A process therefore screens with a new version at most `reload_seconds` plus one engine
build after the import (text: about a second; images: a few seconds to load the stored registry).

Each process records the versions it uses (`screening_list_loads`), so `lists show` can say which
stored versions are in use; a process that stops deletes its row, one that dies stops being counted
when its liveness window passes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial

from customization_vault.clock import Clock, system_clock
from customization_vault.counters import Counters
from customization_vault.lists import ENGINE_LISTS, ListBook, ListKind, StoredLists
from customization_vault.periodic import Periodic
from screening.composite import CompositeScreener
from screening.screener import Screener

__all__ = ["EngineBuilder", "ListReloader", "process_name"]

log = logging.getLogger(__name__)

EngineBuilder = Callable[[StoredLists], Screener]
_MIN_ALIVE = timedelta(seconds=60)
_FORGET_AFTER = timedelta(days=1)


def process_name() -> str:
    """host:pid, at most 64 characters: what `lists show` names a process by."""
    pid = f":{os.getpid()}"
    return socket.gethostname()[: 64 - len(pid)] + pid


class ListReloader(Periodic):
    """Owns a CompositeScreener whose engines are built from the newest stored lists, and keeps them so.

    `reload()` is one poll (call it directly to drive the poll in tests or before a re-screen);
    `start()` polls every `interval` seconds in a daemon thread.
    """

    thread_prefix = "list-reload"
    error_counter = "reload_failures"

    def __init__(
        self,
        book: ListBook,
        builders: Mapping[str, EngineBuilder],
        *,
        interval: float = 10,
        clock: Clock = system_clock,
        process: str | None = None,
    ) -> None:
        super().__init__()
        self._book = book
        self._builders = dict(builders)
        self.interval = interval
        self._clock = clock
        self.process = process or process_name()
        self.name = self.process
        self.metrics = Counters()
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._in_use: dict[str, dict[ListKind, int]] = {}
        self._reported: tuple[dict[str, int], datetime] | None = None
        self.screener = CompositeScreener(**{e: partial(self._build, e) for e in self._builders})

    @property
    def interval_seconds(self) -> float:
        return self.interval

    def run_once(self) -> tuple[str, ...]:
        return self.reload()

    def _build(self, engine: str) -> Screener:
        stored = self._book.newest(ENGINE_LISTS[engine])
        screener = self._builders[engine](stored)
        with self._lock:
            self._in_use[engine] = {k: s.version for k, s in stored.items()}
        log.info("%s screening engine built from %s", engine, [s.ref for s in stored.values()] or "files")
        return screener

    def in_use(self) -> dict[ListKind, int]:
        """The stored version of each kind the built engines screen with (a kind that is absent comes
        from a settings file or the shipped list, or its engine is not built yet)."""
        with self._lock:
            return {k: v for versions in self._in_use.values() for k, v in versions.items()}

    def reload(self) -> tuple[str, ...]:
        """One poll: rebuild every built engine whose lists have a newer stored version; the engines
        rebuilt. An engine that fails to build keeps the old one and is tried again next poll."""
        with self._poll_lock:  # the poll thread and a re-screen's refresh never build one engine twice
            rebuilt = self._reload()
            self._report()
        return rebuilt

    def _reload(self) -> tuple[str, ...]:
        latest = self._book.latest_versions()
        rebuilt: list[str] = []
        for engine in self._builders:
            if not self.screener.built(engine):
                continue  # built from the newest lists when first needed
            want = {k: latest[k] for k in ENGINE_LISTS[engine] if k in latest}
            with self._lock:
                have = self._in_use.get(engine, {})
            if want == have:
                continue
            try:
                self.screener.rebuild(engine)
            except Exception as exc:  # a database blip or an unreadable version: keep screening as before
                log.warning(
                    "rebuilding the %s engine failed (%s); still on %s", engine, type(exc).__name__, have
                )
                continue
            rebuilt.append(engine)
        return tuple(rebuilt)

    def _report(self) -> None:
        """Record the versions in use: at once when they changed, else once per half liveness window."""
        now = self._clock()
        versions = {k.value: v for k, v in self.in_use().items()}
        alive = max(_MIN_ALIVE, timedelta(seconds=6 * self.interval))
        if self._reported is not None:
            last, at = self._reported
            if last == versions and now < at + alive / 2:
                return
        self._book.note_loaded(self.process, versions, alive_until=now + alive)
        self._reported = (versions, now)

    def stop(self, timeout: float | None = 30) -> None:
        """Stop polling and withdraw this process's list versions (it screens no more)."""
        super().stop(timeout)
        try:
            self._book.forget_loaded(self.process, stale_before=self._clock() - _FORGET_AFTER)
        except Exception as exc:  # stopping must not fail; the row lapses by itself
            log.warning("could not withdraw this process's list versions (%s)", type(exc).__name__)
