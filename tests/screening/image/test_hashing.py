"""Shape normalisation: invariances the matcher relies on, and the frames it peels away."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from screening.image.hashing import (
    VARIANTS,
    as_array,
    design_shape,
    image_hashes,
    peel,
    reference_grids,
    signatures,
    small_grids,
)
from screening.image.regions import propose
from tests.screening.image.logos import bordered, captioned, encode, glyph, on_white, recolour


def _grid(image: Image.Image) -> np.ndarray:
    found = design_shape(image)
    assert found is not None
    return found[0].grid


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = signatures(small_grids(np.stack([a, b]).astype(np.float32)))
    return float(sa @ sb)


def test_shape_ignores_colour_inversion_and_grey() -> None:
    g = glyph(11)
    base = _grid(on_white(g))
    for other in (
        on_white(recolour(g, (30, 160, 60))),
        ImageOps.invert(on_white(g)),
        on_white(g).convert("L").convert("RGB"),
        on_white(g, ground=(250, 240, 200)),
    ):
        assert _corr(base, _grid(other)) > 0.98


def test_different_logos_do_not_correlate() -> None:
    assert _corr(_grid(on_white(glyph(1))), _grid(on_white(glyph(2)))) < 0.9


def test_peel_strips_padding_and_frame() -> None:
    framed = bordered(on_white(glyph(3)))
    a = as_array(framed)
    found = peel(a)
    assert found is not None
    (x0, y0, x1, y1), ground = found
    # The frame and padding are gone: the box is well inside on every side.
    assert (x1 - x0) / a.shape[1] < 0.8
    assert (y1 - y0) / a.shape[0] < 0.8
    assert float(np.abs(ground - 255).max()) < 10
    assert _corr(_grid(framed), _grid(on_white(glyph(3)))) > 0.98


def test_caption_gets_its_own_proposal_and_the_logo_too() -> None:
    base = _grid(on_white(glyph(4)))
    shapes = propose(as_array(captioned(on_white(glyph(4)))))
    assert max(_corr(base, s.grid) for s in shapes) > 0.97


def test_reference_variants_and_mirror_hashes() -> None:
    grids = reference_grids(on_white(glyph(5)))
    assert grids is not None
    assert grids.shape == (VARIANTS, 32, 32)
    original = image_hashes(encode(on_white(glyph(5))))
    mirrored = image_hashes(encode(ImageOps.mirror(on_white(glyph(5)))))
    assert original.shape == (8,)
    nearest = min(bin(int(original[0]) ^ int(h)).count("1") for h in mirrored)
    assert nearest <= 6


def test_blank_image_has_no_design() -> None:
    assert image_hashes(encode(Image.new("RGB", (200, 100), (255, 255, 255)))).size == 0
    assert reference_grids(Image.new("RGB", (64, 64), (10, 10, 10))) is None
