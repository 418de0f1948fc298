"""Screening in child processes with memory, CPU and time limits: a bomb, a hang or a decoder crash
costs one item, never the process that serves everyone.

`IsolatedScreener` is a `Screener` whose `screen` hands the bytes to one of N spawned children over a
pipe. Each child builds its own engines from a picklable factory (one OCR engine per process: no lock
shared between items), limits its address space (RLIMIT_AS) and, per item, its CPU time (RLIMIT_CPU),
and turns Pillow's decompression-bomb warning into an error. The parent gives each item a wall-clock
deadline; a child that dies, overruns or exhausts a limit is replaced and the call raises
`ScreeningCrashed`, which the job queue counts against the item.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Final

from screening.composite import UnscreenableInput
from screening.findings import Verdict
from screening.screener import EngineState, EngineStatus, Screener

__all__ = ["IsolatedScreener", "IsolationLimits", "ScreeningCrashed", "ScreeningUnavailableError"]

log = logging.getLogger(__name__)

# Libraries that start one thread per core (OpenMP, BLAS, onnxruntime's pools) would oversubscribe the
# machine N times over: each child works on one item with one thread, and N children use N cores.
_ONE_THREAD: Final = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


# Failures after which a child is not trusted with another item: it exits, and is replaced.
_FATAL: Final = ("MemoryError", "DecompressionBombError", "DecompressionBombWarning")


class ScreeningCrashed(RuntimeError):
    """The child screening an item died, overran its time or hit a limit. `cause` is a short code
    (`timeout`, `signal:9`, `exit:1`, `MemoryError`), never a message that could quote the input."""

    def __init__(self, cause: str) -> None:
        super().__init__(f"the screening process failed on this item ({cause})")
        self.cause = cause


class ScreeningUnavailableError(RuntimeError):
    """A child could not build its engines or start: a deployment fault, not the item's."""


@dataclass(frozen=True, slots=True)
class IsolationLimits:
    """`memory_bytes` caps each child's address space; `cpu_seconds` and `wall_seconds` one item."""

    memory_bytes: int | None = 3 << 30
    cpu_seconds: int = 30
    wall_seconds: float = 30.0
    start_seconds: float = 300.0


def _child_main(conn: Connection, factory: Callable[[], Screener], limits: IsolationLimits) -> None:
    """Build the engines, say "ready", then screen one item per message until the pipe closes."""
    import resource

    from PIL import Image

    os.environ.update(_ONE_THREAD)
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    if limits.memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    try:
        screener = factory()
        warm = getattr(screener, "warm", None)
        if callable(warm):
            warm()
    except BaseException as exc:  # reported by class only: the parent refuses to use this child
        conn.send(("unavailable", type(exc).__name__))
        return
    conn.send(("ready", None))
    while True:
        try:
            data, media_type = conn.recv()
        except (EOFError, OSError):  # the parent went away (or was killed): nothing left to serve
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = int(used.ru_utime + used.ru_stime)
        # RLIMIT_CPU counts the process's lifetime: move the soft limit to "now + one item's budget".
        # SIGXCPU's default action ends the child; the parent sees the signal and counts the crash.
        resource.setrlimit(resource.RLIMIT_CPU, (spent + limits.cpu_seconds, resource.RLIM_INFINITY))
        try:
            reply: tuple[str, Any] = ("ok", screener.screen(data, media_type))
        except UnscreenableInput as exc:
            reply = ("unscreenable", (exc.media_kind, exc.cause))
        except Exception as exc:  # MemoryError and the bomb warning (an error here) included
            conn.send(("crash", type(exc).__name__))
            if type(exc).__name__ in _FATAL:
                return  # a process that ran out of memory is not trusted with the next item
            continue
        del data
        conn.send(reply)


class _Child:
    """One spawned process and the parent's end of its pipe."""

    def __init__(self, ctx: Any, factory: Callable[[], Screener], limits: IsolationLimits, name: str) -> None:
        parent, child = ctx.Pipe(duplex=True)
        self.conn: Connection = parent
        self.proc = ctx.Process(target=_child_main, args=(child, factory, limits), name=name, daemon=True)
        self.proc.start()
        child.close()
        self.ready = False
        self.started = time.monotonic()

    def wait_ready(self, timeout: float) -> None:
        if self.ready:
            return
        left = max(0.0, self.started + timeout - time.monotonic())
        try:
            if not self.conn.poll(left):
                raise ScreeningUnavailableError(f"a screening process did not start within {timeout:g} s")
            tag, detail = self.conn.recv()
        except (EOFError, OSError):
            raise ScreeningUnavailableError(
                f"a screening process died while starting ({self._how()})"
            ) from None
        if tag != "ready":
            raise ScreeningUnavailableError(f"a screening process could not build its engines ({detail})")
        self.ready = True

    def _how(self) -> str:
        self.proc.join(timeout=1.0)
        code = self.proc.exitcode
        if code is None:
            return "running"
        return f"signal:{-code}" if code < 0 else f"exit:{code}"

    def crashed(self) -> str:
        """Why the child is gone (after EOF on its pipe)."""
        return self._how()

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5.0)
        self.conn.close()


class IsolatedScreener:
    """A `Screener` over `processes` child processes; safe to call from that many threads at once
    (more callers wait for a free child)."""

    def __init__(
        self,
        factory: Callable[[], Screener],
        *,
        processes: int,
        limits: IsolationLimits | None = None,
        inline: Screener | None = None,
        inline_kinds: frozenset[str] = frozenset({"text"}),
    ) -> None:
        """`inline` screens the media kinds in `inline_kinds` in the calling process, without waiting
        for a child: text has no decoder to crash or to bomb (intake bounds its size, the text engine
        is pure Python over a string) and costs ~1 ms, so queueing it behind images' OCR for a free
        child would cost its upload seconds and buy no isolation."""
        if processes < 1:
            raise ValueError("at least one screening process")
        self._factory = factory
        self._limits = limits or IsolationLimits()
        self._ctx = multiprocessing.get_context("spawn")
        self.processes = processes
        self._free: queue.Queue[_Child] = queue.Queue()
        self._all: set[_Child] = set()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._serial = 0
        self.crashes = 0
        self.replaced = 0
        self._inline = inline
        self._inline_kinds = inline_kinds

    def __repr__(self) -> str:
        return f"IsolatedScreener(processes={self.processes}, limits={self._limits})"

    @property
    def limits(self) -> IsolationLimits:
        return self._limits

    def _spawn(self) -> _Child:
        with self._lock:
            self._serial += 1
            child = _Child(self._ctx, self._factory, self._limits, f"cv-screen-{self._serial}")
            self._all.add(child)
        return child

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            if self._closed:
                raise ScreeningUnavailableError("the screening processes were shut down")
            self._started = True
        for _ in range(self.processes):
            self._free.put(self._spawn())

    def warm(self) -> None:
        """Start every child and wait until each has built its engines."""
        self._start()
        ready = [self._free.get() for _ in range(self.processes)]
        try:
            for child in ready:
                child.wait_ready(self._limits.start_seconds)
        finally:
            for child in ready:
                self._free.put(child)

    def status(self) -> EngineStatus:
        state = EngineState.LOADED if self._started else EngineState.NOT_LOADED
        return EngineStatus(state, type(self).__name__)

    def _retire(self, child: _Child) -> None:
        child.kill()
        with self._lock:
            self._all.discard(child)
            self.replaced += 1
            closed = self._closed
        if not closed:
            self._free.put(self._spawn())

    def screen(self, data: bytes, media_type: str) -> Verdict:
        if self._inline is not None and media_type.split("/", 1)[0].strip().lower() in self._inline_kinds:
            return self._inline.screen(data, media_type)
        self._start()
        child = self._free.get()
        keep = True
        try:
            try:
                child.wait_ready(self._limits.start_seconds)
            except ScreeningUnavailableError:
                keep = False
                raise
            try:
                child.conn.send((data, media_type))
                answered = child.conn.poll(self._limits.wall_seconds)
                if not answered:
                    keep = False
                    raise self._crash("timeout")
                tag, detail = child.conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                keep = False
                raise self._crash(child.crashed()) from None
            if tag == "ok":
                assert isinstance(detail, Verdict)
                return detail
            if tag == "unscreenable":
                kind, cause = detail
                raise UnscreenableInput(str(kind), str(cause))
            keep = str(detail) not in _FATAL
            raise self._crash(str(detail))
        finally:
            if keep and not self._closed:
                self._free.put(child)
            else:
                self._retire(child)

    def _crash(self, cause: str) -> ScreeningCrashed:
        with self._lock:
            self.crashes += 1
        log.warning("screening process failed on an item (%s); replacing it", cause)
        return ScreeningCrashed(cause)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            children = list(self._all)
            self._all.clear()
        for child in children:
            child.kill()
