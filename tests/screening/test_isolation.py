"""`IsolatedScreener`: a crash, a hang, a memory or CPU bomb costs one item (`ScreeningCrashed`), never
the caller, and the next item is screened by a fresh process. The screeners below run in the spawned
children, so they live at module level (a child imports them by name)."""

from __future__ import annotations

import ctypes
import io
import os
import time
from collections.abc import Iterator

import pytest
from PIL import Image

from screening.composite import CompositeScreener, UnscreenableInput
from screening.findings import Verdict
from screening.isolation import IsolatedScreener, IsolationLimits, ScreeningCrashed, ScreeningUnavailableError

pytestmark = pytest.mark.slow


class Misbehaving:
    """Does what the item says: a real parse, or a crash, a hang, a memory or CPU bomb."""

    def screen(self, data: bytes, media_type: str) -> Verdict:
        if data == b"segfault":
            ctypes.string_at(0)  # a decoder's NULL read: SIGSEGV
        if data == b"exit":
            os._exit(3)
        if data == b"hang":
            time.sleep(3600)
        if data == b"memory":
            hog = [bytearray(64 << 20) for _ in range(64)]  # 4 GiB, past the address-space limit
            raise AssertionError(f"{len(hog)} blocks allocated past the limit")
        if data == b"cpu":
            while True:
                pass
        if data == b"unparseable":
            raise ValueError("an engine's own parse error")
        if media_type.startswith("image/"):
            # Pillow's bomb warning (pixels past MAX_IMAGE_PIXELS, under twice it) must be an error here.
            Image.MAX_IMAGE_PIXELS = 1000
            Image.open(io.BytesIO(data)).load()
        return Verdict.of(())


def misbehaving() -> CompositeScreener:
    return CompositeScreener(text=Misbehaving, image=Misbehaving)


def broken() -> CompositeScreener:
    raise RuntimeError("a list that does not load")


@pytest.fixture(scope="module")
def pool() -> Iterator[IsolatedScreener]:
    p = IsolatedScreener(
        misbehaving,
        processes=1,
        # CPU seconds accrue slowly on a loaded machine: the wall limit leaves the CPU limit room to act.
        limits=IsolationLimits(memory_bytes=1 << 30, cpu_seconds=1, wall_seconds=15, start_seconds=120),
    )
    p.warm()
    yield p
    p.close()


def _png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (side, side), "white").save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("item", "cause"),
    [
        (b"segfault", "signal:11"),
        (b"exit", "exit:3"),
        (b"hang", "timeout"),
        # RLIMIT_AS refuses the allocation; on a loaded machine the 1 s CPU limit may strike first
        # while the bomb fills pages. Either way only this item is lost.
        (b"memory", ("MemoryError", "signal:24")),
        (b"cpu", "signal:24"),  # SIGXCPU at the per-item RLIMIT_CPU, before the wall limit
    ],
)
def test_a_bad_item_costs_only_itself(
    pool: IsolatedScreener, item: bytes, cause: str | tuple[str, ...]
) -> None:
    crashes = pool.crashes
    with pytest.raises(ScreeningCrashed) as info:
        pool.screen(item, "text/plain")
    assert info.value.cause in ((cause,) if isinstance(cause, str) else cause)
    assert pool.crashes == crashes + 1
    # The next item is screened (by a fresh process where the last one died).
    assert pool.screen(b"Happy birthday", "text/plain").kind == "clear"


def test_pillows_bomb_warning_is_an_error_in_the_child(pool: IsolatedScreener) -> None:
    with pytest.raises(ScreeningCrashed) as info:
        pool.screen(_png(40), "image/png")  # 1,600 pixels against a limit of 1,000: a warning by default
    assert info.value.cause == "DecompressionBombWarning"
    assert pool.screen(_png(20), "image/png").kind == "clear"


def test_unparseable_input_is_the_items_own_answer_not_a_crash(pool: IsolatedScreener) -> None:
    crashes = pool.crashes
    with pytest.raises(UnscreenableInput) as info:
        pool.screen(b"unparseable", "text/plain")
    assert info.value.media_kind == "text"
    assert pool.crashes == crashes


def test_engines_that_cannot_be_built_are_a_deployment_fault() -> None:
    p = IsolatedScreener(broken, processes=1, limits=IsolationLimits(start_seconds=120))
    try:
        with pytest.raises(ScreeningUnavailableError, match="RuntimeError"):
            p.screen(b"x", "text/plain")
    finally:
        p.close()


class Recording:
    """The inline lane's screener: records what it was handed, in the test's own process."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def screen(self, data: bytes, media_type: str) -> Verdict:
        self.seen.append(media_type)
        return Verdict.of(())


def test_text_is_screened_inline_and_never_waits_for_a_child() -> None:
    # The children cannot even start (their engines fail to build): text still gets its verdict from
    # the inline screener, while an image needs a child and fails as a deployment fault.
    inline = Recording()
    p = IsolatedScreener(broken, processes=1, limits=IsolationLimits(start_seconds=120), inline=inline)
    try:
        assert p.screen(b"Happy birthday", "text/plain; charset=utf-8").kind == "clear"
        assert inline.seen == ["text/plain; charset=utf-8"]
        assert p.status().state == "not_loaded"  # no child was started for the text
        with pytest.raises(ScreeningUnavailableError):
            p.screen(_png(8), "image/png")
        assert inline.seen == ["text/plain; charset=utf-8"]
    finally:
        p.close()
