"""Screening fails closed outside development: an engine that cannot be loaded or built stops the start,
and production cannot switch screening off. In development a missing engine clears its kind, loudly.
`/readyz` shows every engine's state and lists either way."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import ValidationError

from api.app import create_app
from api.wiring import ScreeningUnavailable, build_screener, build_services
from screening.findings import VerdictKind
from screening.screener import EngineState, EngineStatus
from tests.api.conftest import ApiClient
from tests.conftest import make_settings

# Production with the local keyring allowed, so these tests need no KMS. Production refuses SQLite: the
# tests that only build screeners never connect, those that build services take a real PostgreSQL.
PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "keys": {"allow_local_in_production": True},
    "database": {"url": "postgresql+psycopg://cv@127.0.0.1:9/never-connected"},
}

# (module whose import fails, the engine the error must name)
ENGINES = [
    ("screening.text", "text"),
    ("screening.image", "image"),
    ("screening.image.ocr", "ocr"),
    ("screening.fonts", "font"),
]


def _not_installed(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """`import module` fails from now on, as it does when the engine's package is not installed."""
    monkeypatch.setitem(sys.modules, module, None)


def test_production_refuses_screening_switched_off(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="screening disabled"):
        make_settings(tmp_path, screening={"enabled": False}, **PRODUCTION)
    assert not make_settings(tmp_path, screening={"enabled": False}).screening.enabled  # benchmarks may


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize(("module", "engine"), ENGINES)
def test_outside_development_no_engine_may_be_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, engine: str, environment: str
) -> None:
    _not_installed(monkeypatch, module)
    overrides = PRODUCTION if environment == "production" else {"environment": environment}
    screener = build_screener(make_settings(tmp_path, **overrides))
    with pytest.raises(ScreeningUnavailable, match=f"^the {engine} screening engine cannot be loaded"):
        screener.warm()


@pytest.mark.postgres
def test_production_start_up_fails_naming_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    _not_installed(monkeypatch, "screening.fonts")
    settings = make_settings(tmp_path / "var", **{**PRODUCTION, "database": {"url": pg_url}})
    services = build_services(settings)
    app = create_app(settings, services)

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pytest.fail("the app started without its font engine")

    try:
        with pytest.raises(ScreeningUnavailable, match="font screening engine") as err:
            anyio.run(start)
        assert "production does not start with font items left unscreened" in str(err.value)
    finally:
        services.close()


@pytest.mark.parametrize("environment", ["development", "production"])
def test_a_broken_list_stops_every_environment(tmp_path: Path, environment: str) -> None:
    broken = tmp_path / "fonts.csv"
    broken.write_text("id,family\nx,Sa\n")
    overrides = PRODUCTION if environment == "production" else {"environment": environment}
    screener = build_screener(
        make_settings(tmp_path / "var", screening={"restricted_fonts_path": broken}, **overrides)
    )
    with pytest.raises(ScreeningUnavailable, match=r"font screening engine cannot be built: .*fonts\.csv:2"):
        screener.engine("font")


def test_in_development_a_missing_engine_clears_its_kind_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _not_installed(monkeypatch, "screening.fonts")
    screener = build_screener(make_settings(tmp_path, environment="development"))
    with caplog.at_level(logging.WARNING, logger="api.wiring"):
        assert screener.screen(b"\x00\x01\x00\x00 not even a font", "font/ttf").kind is VerdictKind.CLEAR
    assert (
        "font screening engine unavailable (ModuleNotFoundError): font items left UNSCREENED" in caplog.text
    )
    status = screener.status()
    assert status["font"] == EngineStatus(EngineState.UNAVAILABLE, reason="ModuleNotFoundError")
    assert status["text"].state is EngineState.NOT_LOADED  # nothing else was built by the font's use


def test_in_development_images_are_still_matched_without_ocr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _not_installed(monkeypatch, "screening.image.ocr")
    screener = build_screener(make_settings(tmp_path, environment="development"))
    screener.engine("image")
    status = screener.status()
    assert status["image"].state is EngineState.LOADED
    assert status["ocr"] == EngineStatus(EngineState.UNAVAILABLE, reason="ModuleNotFoundError")


def test_ocr_switched_off_is_disabled(tmp_path: Path) -> None:
    screener = build_screener(make_settings(tmp_path, screening={"ocr": False}))
    screener.engine("image")
    assert screener.status()["ocr"].state is EngineState.DISABLED


def test_the_image_engine_reads_ocr_text_with_the_text_engine(tmp_path: Path) -> None:
    screener = build_screener(make_settings(tmp_path))
    image = screener.engine("image")
    # Whichever text engine is current (a new list version swaps it): never a second copy of its lists.
    assert image.text_screener.engine is screener.engine("text")  # type: ignore[attr-defined]


def test_readyz_shows_every_engine_with_its_lists(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var")
    services = build_services(settings)
    try:
        assert {s.state for s in services.screener.status().values()} == {EngineState.NOT_LOADED}
        with ApiClient(create_app(settings, services)) as client:  # start-up builds every engine
            resp = client.get("/readyz")
    finally:
        services.close()
    assert resp.status_code == 200
    engines = resp.json()["screening"]
    assert list(engines) == ["text", "image", "ocr", "font"]
    assert {name: e["state"] for name, e in engines.items()} == dict.fromkeys(engines, "loaded")
    assert engines["text"]["engine"] == "TextScreener"
    assert engines["ocr"]["engine"] == "RapidOcrEngine"
    text_lists = engines["text"]["lists"]
    assert [ref.split("@")[0] for ref in text_lists] == ["simple-icons", "ldnoobw-en", "allow_en"]
    assert all(n > 0 for e in engines.values() for n in e.get("lists", {}).values())
    assert next(iter(engines["image"]["lists"])).startswith("simple-icons@")
    assert next(iter(engines["font"]["lists"])).startswith("restricted_fonts@")


def test_readyz_shows_disabled_engines(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", screening={"enabled": False})
    services = build_services(settings)
    try:
        with ApiClient(create_app(settings, services)) as client:
            engines = client.get("/readyz").json()["screening"]
    finally:
        services.close()
    assert engines == {kind: {"state": "disabled"} for kind in ("text", "image", "font")}
