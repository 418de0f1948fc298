"""Per-reference calibration: a generic reference must come closer than a distinctive one for one score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from screening.image import ImageRegistry, ImageScreener
from screening.image.calibration import TYPICAL_TAIL, calibrate
from tests.screening.image.logos import encode, glyph, on_white


def _star(inner: float = 0.38, colour: tuple[int, int, int] = (220, 30, 30)) -> Image.Image:
    """A five-pointed star on white; `inner` is the inner corners' radius as a share of the outer."""
    im = Image.new("RGB", (512, 512), (255, 255, 255))
    pts = []
    for i in range(10):
        r = 200.0 if i % 2 == 0 else 200.0 * inner
        a = np.pi / 2 + np.pi * i / 5
        pts.append((256 + r * np.cos(a), 256 - r * np.sin(a)))
    ImageDraw.Draw(im).polygon(pts, fill=colour)
    return im


@pytest.fixture(scope="module")
def registry() -> ImageRegistry:
    reg = ImageRegistry("calibration", "1")
    reg.add("star", _star())
    reg.add("logo1", on_white(glyph(1)))
    return reg


def test_a_generic_reference_has_a_higher_null_tail(registry: ImageRegistry) -> None:
    assert registry.tail("star") > 0.9
    assert registry.tail("logo1") < registry.tail("star") - 0.1


def test_one_raw_score_means_less_against_a_generic_reference(registry: ImageRegistry) -> None:
    raw = np.array([0.97, 0.97], dtype=np.float32)
    star, logo = calibrate(raw, np.array([registry.tail("star"), registry.tail("logo1")], dtype=np.float32))
    assert star < 0.9 < logo
    # A reference as distinctive as the typical one keeps its raw score.
    assert calibrate(raw[:1], np.array([TYPICAL_TAIL], dtype=np.float32))[0] == pytest.approx(0.97)


def test_another_star_is_not_the_registered_star(registry: ImageRegistry) -> None:
    scr = ImageScreener(registry)
    copy = scr.screen_image(encode(_star(colour=(20, 20, 160)), "JPEG", quality=70))
    assert {f.entry for f in copy.findings} == {"star"}
    assert scr.screen_image(encode(_star(inner=0.5))).findings == ()


def test_quarter_turns_count_further_from_a_match() -> None:
    from screening.image.screener import _upright_prior

    corr = np.full((8, 1), 0.98, dtype=np.float32)  # one proposal in its 8 orientations
    out = _upright_prior(corr)[:, 0]
    assert out[:2] == pytest.approx([0.98, 0.98])  # upright and mirrored keep their correlation
    assert (out[2:] < 0.97).all()


def test_tails_survive_save_and_are_recomputed_when_missing(registry: ImageRegistry, tmp_path: Path) -> None:
    registry.save(tmp_path / "saved")
    assert ImageRegistry.load(tmp_path / "saved").tail("star") == pytest.approx(registry.tail("star"))
    (tmp_path / "saved" / "tails.npy").unlink()
    again = ImageRegistry.load(tmp_path / "saved")
    assert again.tail("star") == pytest.approx(registry.tail("star"), abs=1e-5)
    assert again.tail("logo1") == pytest.approx(registry.tail("logo1"), abs=1e-5)
