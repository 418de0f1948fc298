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
    shape_of,
    signatures,
    small_grids,
)
from screening.image.regions import propose
from tests.screening.image.logos import bordered, captioned, encode, glyph, on_white, recolour, tile


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


def _best_variant_correlation(reference: Image.Image, upload: Image.Image) -> float:
    """How well the upload's whole-image shape (against the page's white) matches any reference variant."""
    grids = reference_grids(reference)
    assert grids is not None
    query = shape_of(as_array(upload), np.array([255.0, 255.0, 255.0], dtype=np.float32))
    assert query is not None
    corr = signatures(small_grids(query.grid[None])) @ signatures(small_grids(grids)).T
    return float(corr.max())


def test_turned_variants_of_a_tile_logo_show_the_page_in_their_corners() -> None:
    """A tile logo (a filled square with the design cut out) peels down to its inner design; its turned
    variants must still be the turned tile on the page's colour, as a turned upload is -- not the tile
    on a tile-coloured ground, which drew a frame no upload has."""
    ref = on_white(tile(4))
    turned = ref.rotate(-9, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    assert _best_variant_correlation(ref, turned) >= 0.95


def test_cut_variants_of_a_tile_logo_cut_the_tile() -> None:
    ref = on_white(tile(4))
    x0, y0, x1, y1 = ImageOps.invert(ref).getbbox() or (0, 0, ref.width, ref.height)
    h = y1 - y0
    cut = ref.crop((x0, y0 + int(0.06 * h), x1, y1 - int(0.06 * h)))  # top and bottom trimmed
    assert _best_variant_correlation(ref, cut) >= 0.95


def test_a_ring_of_two_colours_proposes_the_other_one_as_ground_too() -> None:
    """A tile logo cut so that it runs off three edges: the ring's median is the tile's colour, and the
    design a person sees is the tile against the page's white -- which must also be proposed."""
    ref = on_white(tile(4))
    x0, y0, x1, y1 = ImageOps.invert(ref).getbbox() or (0, 0, ref.width, ref.height)
    upload = ref.crop((x0 + int(0.07 * (x1 - x0)), y0, x1 + 8, y1))
    a = as_array(upload)
    seen = shape_of(a, np.array([255.0, 255.0, 255.0], dtype=np.float32))
    assert seen is not None
    target = signatures(small_grids(seen.grid[None]))
    proposed = signatures(small_grids(np.stack([p.grid for p in propose(a)])))
    assert float((proposed @ target.T).max()) >= 0.99
