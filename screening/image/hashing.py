"""Shape normalisation and perceptual hashes: what survives recolouring, inversion, borders and re-encoding.

A logo is reduced to its *shape*: the colour distance of every pixel to the ground (the uniform colour
around it), trimmed to the foreground's box and resampled to a 32x32 grid in [0, 1]. Distances are
invariant to inversion and, once scaled by the glyph's own contrast, to recolouring and greyscale;
trimming removes padding and frames. From the grid come a 64-bit DCT pHash (the index key) and a
16x16 signature (zero-mean, unit-norm) whose dot product is the verification score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import fft, ndimage

FloatArray = npt.NDArray[np.float32]

WORK_SIDE: Final = 256  # longer side of the working image: logos keep their shape, noise averages out
# Shapes of proposals are computed at this size: a logo printed small on a photo keeps its thin strokes.
FINE_SIDE: Final = 512
SHAPE_SIDE: Final = 32
SIGNATURE_SIDE: Final = 16
# Colour distance (Euclidean RGB, 0..441) above which a pixel is not ground. JPEG noise stays well below;
# a glyph in any colour visibly different from its ground is well above.
FOREGROUND_TOLERANCE: Final = 40.0
# A trimmed shape this flat is a filled box (a frame's inside, a blank region), not a design.
_MIN_SHAPE_STD: Final = 0.15
# Share of the border ring that must be ground-coloured for the ring to count as a uniform ground.
_UNIFORM_RING: Final = 0.9

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), half-open, in the pixels of the array it indexes


@dataclass(frozen=True, slots=True)
class Shape:
    """A normalised shape (32x32 in [0, 1]) and the trimmed box it came from."""

    grid: FloatArray
    box: Box


def as_array(image: Image.Image, side: int = WORK_SIDE) -> FloatArray:
    """RGB float pixels, the longer side scaled to about `side` (within 1.25x: BOX down, bilinear up)."""
    im = image if image.mode == "RGB" else image.convert("RGB")
    scale = side / max(im.size)
    if scale < 1 / 1.25 or scale > 1.25:
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        im = im.resize(size, Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.float32)


def border_ring(a: FloatArray) -> FloatArray:
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def colour_distance(a: FloatArray, colour: FloatArray) -> FloatArray:
    diff = a - colour
    out: FloatArray = np.sqrt(np.einsum("...c,...c->...", diff, diff))
    return out


def border_ground(a: FloatArray) -> tuple[FloatArray, float]:
    """The median colour of the border ring and the share of the ring close to it."""
    ring = border_ring(a)
    colour: FloatArray = np.median(ring, axis=0).astype(np.float32)
    uniform = float(np.mean(colour_distance(ring, colour) < FOREGROUND_TOLERANCE))
    return colour, uniform


def peel(a: FloatArray, max_layers: int = 8) -> tuple[Box, FloatArray] | None:
    """Cut away uniform frames from the outside in (padding, tinted borders, frame lines).

    Each layer: the ring's colour floods inward from the border; the box of what it cannot reach is
    the next window. Stops when the ring is no longer uniform. Returns the box of
    the design and the ground colour around it, or None when the border is not a uniform ground.
    """
    x0, y0, x1, y1 = 0, 0, a.shape[1], a.shape[0]
    ground: FloatArray | None = None
    for _ in range(max_layers):
        sub = a[y0:y1, x0:x1]
        if sub.shape[0] < 8 or sub.shape[1] < 8:
            break
        colour, uniform = border_ground(sub)
        inset = 0
        # A frame line resampled to working size leaves a 1-2 px blend at its inner edge: step over it.
        while uniform < _UNIFORM_RING and inset < 2 and min(sub.shape[:2]) > 12:
            inset += 1
            colour, uniform = border_ground(sub[inset:-inset, inset:-inset])
        if uniform < _UNIFORM_RING:
            break
        if inset:
            x0, y0, x1, y1 = x0 + inset, y0 + inset, x1 - inset, y1 - inset
            sub = a[y0:y1, x0:x1]
        ground = colour
        background = colour_distance(sub, colour) < FOREGROUND_TOLERANCE
        labels, _ = ndimage.label(background)
        edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        inside = ~np.isin(labels, edge[edge > 0])
        ys = np.flatnonzero(inside.any(axis=1))
        xs = np.flatnonzero(inside.any(axis=0))
        if ys.size < 2 or xs.size < 2:
            return None
        nx0, ny0, nx1, ny1 = int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1
        if (nx0, ny0, nx1, ny1) == (0, 0, sub.shape[1], sub.shape[0]):
            # The ring's colour reaches nothing inside: a thin line (or its resampled blend) with
            # another colour within. Step over it by a pixel and look again.
            x0, y0, x1, y1 = x0 + 1, y0 + 1, x1 - 1, y1 - 1
            continue
        x0, y0, x1, y1 = x0 + nx0, y0 + ny0, x0 + nx1, y0 + ny1
    if ground is None:
        return None
    return (x0, y0, x1, y1), ground


def shape_of(a: FloatArray, ground: FloatArray, box: Box | None = None) -> Shape | None:
    """The trimmed shape of what differs from `ground` inside `box`; None if there is no design."""
    bx0, by0 = (0, 0) if box is None else (box[0], box[1])
    sub = a if box is None else a[box[1] : box[3], box[0] : box[2]]
    if sub.shape[0] < 3 or sub.shape[1] < 3:
        return None
    d = colour_distance(sub, ground)
    contrast = float(np.percentile(d, 98))
    if contrast < FOREGROUND_TOLERANCE * 0.75:
        return None
    # Scaled by the design's own contrast: a pale recolour or a grey version gives the same grid.
    soft = np.clip(d / (0.6 * contrast), 0.0, 1.0)
    return shape_of_mask(soft, (bx0, by0, bx0 + sub.shape[1], by0 + sub.shape[0]), offset_only=True)


def shape_of_mask(soft: FloatArray, box: Box, *, offset_only: bool = False) -> Shape | None:
    """Trim a soft foreground map (values in [0, 1]) inside `box` and resample it to the grid.

    With `offset_only`, `soft` is already the box's own map and `box` only places it in the image.
    """
    sub = soft if offset_only else soft[box[1] : box[3], box[0] : box[2]]
    mask = sub > 0.5
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size < 3 or xs.size < 3:
        return None
    ty0, ty1, tx0, tx1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
    trimmed = (sub[ty0:ty1, tx0:tx1] * 255.0).astype(np.uint8)
    grid_im = Image.fromarray(trimmed).resize((SHAPE_SIDE, SHAPE_SIDE), Image.Resampling.BOX)
    grid = np.asarray(grid_im, dtype=np.float32) / 255.0
    if float(grid.std()) < _MIN_SHAPE_STD:
        return None
    return Shape(grid, (box[0] + tx0, box[1] + ty0, box[0] + tx1, box[1] + ty1))


def dihedral(grid: FloatArray) -> list[FloatArray]:
    """The 8 rotations/mirrors of a grid, identity first: a mirrored or turned upload still matches."""
    out: list[FloatArray] = []
    for k in range(4):
        r = np.rot90(grid, k)
        out.extend((r, r[:, ::-1]))
    return out


_BIT_WEIGHTS: Final = (np.uint64(1) << np.arange(64, dtype=np.uint64)).astype(np.uint64)


def phash64(grids: FloatArray) -> npt.NDArray[np.uint64]:
    """DCT pHash of each (n, 32, 32) grid: the 8x8 lowest frequencies against their median."""
    coeffs = fft.dctn(grids, axes=(1, 2), norm="ortho")[:, :8, :8].reshape(len(grids), 64)
    bits = coeffs > np.median(coeffs[:, 1:], axis=1, keepdims=True)
    out: npt.NDArray[np.uint64] = (bits.astype(np.uint64) * _BIT_WEIGHTS).sum(axis=1, dtype=np.uint64)
    return out


def small_grids(grids: FloatArray) -> npt.NDArray[np.uint8]:
    """(n, 32, 32) grids pooled to (n, 16, 16) uint8: what the registry keeps for verification."""
    k = SHAPE_SIDE // SIGNATURE_SIDE
    pooled = grids.reshape(len(grids), SIGNATURE_SIDE, k, SIGNATURE_SIDE, k).mean(axis=(2, 4))
    out: npt.NDArray[np.uint8] = np.round(pooled * 255.0).astype(np.uint8)
    return out


def signatures(small: npt.NDArray[np.uint8] | FloatArray) -> FloatArray:
    """Zero-mean, unit-norm rows: the dot product of two is their normalised cross-correlation."""
    x = np.asarray(small, dtype=np.float32).reshape(len(small), -1)
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    out: FloatArray = x / np.maximum(norm, 1e-6)
    return out


# Reference-side variants: the query side cannot undo a rotation or a crop, so the registry also keeps
# the shape of each reference turned a few degrees and cut by a few percent on one or two sides.
ROTATIONS: Final = (-9.0, -6.0, -3.0, 3.0, 6.0, 9.0)
_CUTS: Final = (
    *((f, 0.0, 0.0, 0.0) for f in (0.06, 0.12)),
    *((0.0, f, 0.0, 0.0) for f in (0.06, 0.12)),
    *((0.0, 0.0, f, 0.0) for f in (0.06, 0.12)),
    *((0.0, 0.0, 0.0, f) for f in (0.06, 0.12)),
    (0.06, 0.0, 0.06, 0.0),
    (0.06, 0.0, 0.0, 0.06),
    (0.0, 0.06, 0.06, 0.0),
    (0.0, 0.06, 0.0, 0.06),
    (0.06, 0.06, 0.0, 0.0),  # both sides trimmed: a wide design cut to fit
    (0.0, 0.0, 0.06, 0.06),
)  # (left, right, top, bottom) shares of the design's box
VARIANTS: Final = 1 + len(ROTATIONS) + len(_CUTS)


def design_shape(image: Image.Image) -> tuple[Shape, FloatArray, FloatArray] | None:
    """(shape, pixels, ground) of an image's main design: peeled frames, else the whole image."""
    a = as_array(image)
    peeled = peel(a)
    if peeled is not None:
        box, ground = peeled
        shape = shape_of(a, ground, box)
        if shape is not None:
            return shape, a, ground
    ground, _ = border_ground(a)
    shape = shape_of(a, ground)
    return None if shape is None else (shape, a, ground)


def outermost(a: FloatArray, fallback: Shape) -> tuple[Shape, FloatArray]:
    """(shape, ground) of everything that differs from the image's own background: for a tile logo the
    tile, where `design_shape` peels down to the design inside it. What a turned or cropped upload
    shows, so reference variants are made from it."""
    ground = border_ground(a)[0]
    return shape_of(a, ground) or fallback, ground


def reference_grids(image: Image.Image) -> FloatArray | None:
    """(VARIANTS, 32, 32) grids of a reference: itself, rotated, and cropped. None if it has no design."""
    # Rotations are made at working size: the shapes are computed there anyway, and it is 4x cheaper.
    small = Image.fromarray(as_array(image).round().astype(np.uint8))
    found = design_shape(small)
    if found is None:
        return None
    base, a, _ = found
    grids = [base.grid]
    # A turned upload shows the image's own background in the corners, not the colour of the innermost
    # frame peel() stopped at: filling with the latter drew a frame of the outer background around
    # tile-shaped logos (a filled square with the design cut out of it) that no upload ever has.
    outer, outer_ground = outermost(a, base)
    fill = tuple(int(c) for c in outer_ground)
    for angle in ROTATIONS:
        turned = small.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
        turned_found = design_shape(turned)
        grids.append(base.grid if turned_found is None else turned_found[0].grid)
    # Likewise a crop cuts the outermost design against the image's background: for a tile-shaped
    # logo the tile itself, not the design peel() found inside it.
    x0, y0, x1, y1 = outer.box
    w, h = x1 - x0, y1 - y0
    for left, right, top, bottom in _CUTS:
        box = (x0 + int(left * w), y0 + int(top * h), x1 - int(right * w), y1 - int(bottom * h))
        cut = shape_of(a, outer_ground, box)
        grids.append(base.grid if cut is None else cut.grid)
    return np.stack(grids).astype(np.float32)


def image_hashes(data: bytes) -> npt.NDArray[np.uint64]:
    """pHashes of an upload's main design in its 8 orientations: decode at working size, peel, trim, hash.

    The whole-image path alone (no region proposals); empty when the image shows no design.
    """
    from screening.image.decode import decode_image  # decode is the lower layer; imported late by design

    found = design_shape(decode_image(data, target=WORK_SIDE).image)
    if found is None:
        return np.zeros(0, dtype=np.uint64)
    return phash64(np.stack(dihedral(found[0].grid)).astype(np.float32))
