"""The dispatching screener: routes by sniffed media kind, builds each engine once, folds engine
input errors into one type, and refuses a kind it has no engine for."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from screening.composite import CompositeScreener, UnscreenableInput, null_composite
from screening.findings import Finding, FindingKind, Severity, Verdict, VerdictKind
from screening.screener import DISABLED, EngineState, EngineStatus, NullScreener


class Tagging:
    """Flags everything with its own name, so the test sees which engine answered."""

    builds = 0
    lock = threading.Lock()

    def __init__(self, name: str) -> None:
        with Tagging.lock:
            Tagging.builds += 1
        self.name = name

    def screen(self, data: bytes, media_type: str) -> Verdict:
        return Verdict.of([Finding(FindingKind.TRADEMARK, "t@1", self.name, 1.0, Severity.REVIEW)])


class Refusing:
    def screen(self, data: bytes, media_type: str) -> Verdict:
        raise ValueError(f"cannot parse {data!r}")


def test_routes_by_top_level_media_type() -> None:
    c = CompositeScreener(
        text=lambda: Tagging("text"), image=lambda: Tagging("image"), font=lambda: Tagging("font")
    )
    for media_type, engine in (("text/plain", "text"), ("image/png", "image"), ("font/woff2", "font")):
        verdict = c.screen(b"x", media_type)
        assert verdict.kind == VerdictKind.FLAGGED
        assert verdict.findings[0].entry == engine


def test_each_engine_is_built_once_even_under_concurrent_first_use() -> None:
    Tagging.builds = 0
    c = CompositeScreener(text=lambda: Tagging("text"))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: c.screen(b"x", "text/plain"), range(32)))
    assert Tagging.builds == 1


def test_a_kind_without_engine_is_a_configuration_error_not_a_clear() -> None:
    c = CompositeScreener(text=lambda: Tagging("text"))
    with pytest.raises(LookupError):
        c.screen(b"x", "image/png")


def test_engine_input_errors_become_unscreenable_without_their_message() -> None:
    c = CompositeScreener(font=Refusing)
    with pytest.raises(UnscreenableInput) as info:
        c.screen(b"SECRET-BYTES", "font/ttf")
    assert info.value.media_kind == "font"
    assert "SECRET" not in str(info.value)
    assert info.value.__cause__ is None


def test_null_composite_clears_every_kind() -> None:
    c = null_composite()
    c.warm()
    assert c.status() == dict.fromkeys(("text", "image", "font"), DISABLED)
    assert c.screen(b"anything", "image/gif").kind == VerdictKind.CLEAR


class WithOcr(Tagging):
    def status(self) -> EngineStatus:
        return EngineStatus.loaded(
            self, {"logos@1": 3}, ocr=EngineStatus(EngineState.UNAVAILABLE, reason="X")
        )


def test_status_builds_nothing_and_lists_parts_beside_their_engine() -> None:
    Tagging.builds = 0
    c = CompositeScreener(text=lambda: Tagging("text"), image=lambda: WithOcr("image"))
    assert c.status() == dict.fromkeys(("text", "image"), EngineStatus(EngineState.NOT_LOADED))
    assert Tagging.builds == 0
    c.warm()
    status = c.status()
    assert list(status) == ["text", "image", "ocr"]
    assert status["text"] == EngineStatus(EngineState.LOADED, "Tagging")  # an engine that says nothing
    assert (status["image"].engine, status["image"].lists) == ("WithOcr", {"logos@1": 3})
    assert status["ocr"] == EngineStatus(EngineState.UNAVAILABLE, reason="X")
    assert NullScreener(reason="ImportError").status().state is EngineState.UNAVAILABLE
