"""Verification of hash candidates: normalised cross-correlation of 16x16 shape grids.

The 64-bit hash only nominates candidates (a radius wide enough to keep rotated, cropped and
re-encoded logos); the decision is the correlation of the query's shape with the reference variant's
shape. It separates better than any Hamming threshold on this task, and costs one small matrix product.
The few candidates that come close get a finer search over crops of the reference (`refine`).
Local features (ORB + RANSAC) were measured as an alternative and lost: simple flat logos give few,
repetitive keypoints, so wrong references collected as many inliers as the right one.
"""

from __future__ import annotations

import functools
import io
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from screening.image.hashing import (
    FOREGROUND_TOLERANCE,
    FloatArray,
    colour_distance,
    design_shape,
    outermost,
    shape_of_mask,
    signatures,
    small_grids,
)


def correlate(query: FloatArray, references: npt.NDArray[np.uint8]) -> FloatArray:
    """(m, k) correlations in [-1, 1] between m query signatures and k reference grids (k, 16, 16)."""
    if len(references) == 0 or len(query) == 0:
        return np.zeros((len(query), len(references)), dtype=np.float32)
    out: FloatArray = query @ signatures(references).T
    return out


# Finer crops than the registry's own variants, tried only for the few candidates that came close:
# a customer's crop rarely matches one of the indexed cut amounts, and between them the correlation
# drops by a few hundredths -- just enough to fall under the threshold.
_REFINE_CUTS: Final = (
    *((f, 0.0, 0.0, 0.0) for f in (0.03, 0.09, 0.15)),
    *((0.0, f, 0.0, 0.0) for f in (0.03, 0.09, 0.15)),
    *((0.0, 0.0, f, 0.0) for f in (0.03, 0.09, 0.15)),
    *((0.0, 0.0, 0.0, f) for f in (0.03, 0.09, 0.15)),
    *((a, 0.0, b, 0.0) for a in (0.03, 0.08) for b in (0.03, 0.08)),
    *((a, 0.0, 0.0, b) for a in (0.03, 0.08) for b in (0.03, 0.08)),
    *((0.0, a, b, 0.0) for a in (0.03, 0.08) for b in (0.03, 0.08)),
    *((0.0, a, 0.0, b) for a in (0.03, 0.08) for b in (0.03, 0.08)),
    *((f, f, 0.0, 0.0) for f in (0.03, 0.09)),
    *((0.0, 0.0, f, f) for f in (0.03, 0.09)),
)  # (left, right, top, bottom) shares of the design's box


# Likewise the angles between the indexed rotations (+-3, 6, 9 degrees) and just beyond them.
_REFINE_ANGLES: Final = (-10.5, -7.5, -4.5, -1.5, 1.5, 4.5, 7.5, 10.5)


def refine(query: FloatArray, reference_png: bytes) -> float:
    """Best correlation of query signatures with finer crops and rotations of a reference (its thumbnail)."""
    sigs = _refinement_signatures(reference_png)
    if len(sigs) == 0:
        return 0.0
    return float((query @ sigs.T).max())


@functools.lru_cache(maxsize=512)  # ~25 MB: 46 signatures of 1 KB per reference
def _refinement_signatures(reference_png: bytes) -> FloatArray:
    """Signatures of a reference's finer crops and rotations; cached, as they depend on it alone."""
    found = design_shape(Image.open(io.BytesIO(reference_png)).convert("RGB"))
    if found is None:
        return np.zeros((0, 256), dtype=np.float32)
    base, a, _ = found
    # Crops and turns of the outermost design against the page, as in `reference_grids`.
    outer, ground = outermost(a, base)
    x0, y0, x1, y1 = outer.box
    w, h = x1 - x0, y1 - y0
    # One soft map for every crop and rotation (the crops and turns of a flat logo keep its contrast).
    d = colour_distance(a, ground)
    contrast = max(float(np.percentile(d[y0:y1, x0:x1], 98)), FOREGROUND_TOLERANCE)
    soft = np.clip(d / (0.6 * contrast), 0.0, 1.0).astype(np.float32)
    grids = []
    for left, right, top, bottom in _REFINE_CUTS:
        box = (x0 + int(left * w), y0 + int(top * h), x1 - int(right * w), y1 - int(bottom * h))
        shape = shape_of_mask(soft, box)
        if shape is not None:
            grids.append(shape.grid)
    design = Image.fromarray((soft[y0:y1, x0:x1] * 255.0).astype(np.uint8))
    for angle in _REFINE_ANGLES:
        turned = design.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=0)
        t = np.asarray(turned, dtype=np.float32) / 255.0
        shape = shape_of_mask(t, (0, 0, t.shape[1], t.shape[0]))
        if shape is not None:
            grids.append(shape.grid)
    if not grids:
        return np.zeros((0, 256), dtype=np.float32)
    return signatures(small_grids(np.stack(grids).astype(np.float32)))


# Generic shapes: a reference whose shape is close to one of these (a plain shield, disc, rounded tile)
# carries little evidence -- a letter "D", a blob or a button of an unrelated design correlates with
# it as well as the logo does -- so it has to match more closely before it counts.
_PRIMITIVE_SIDE: Final = 64
_PRIMITIVE_TURNS: Final = (3.0, 6.0, 9.0, 12.0)


_PRIMITIVES: Final = (
    *("ellipse", "round1", "round2", "triangle", "diamond", "halfdisc", "shield", "ring"),
    *("star", "pentagon", "hexagon", "plus"),
)


def _regular(kind: str, side: int) -> list[tuple[float, float]]:
    """Corners of a five-pointed star, a pentagon or a hexagon filling a side x side box, point up."""
    points = {"star": 10, "pentagon": 5, "hexagon": 6}[kind]
    radii = (1.0, 0.38) if kind == "star" else (1.0, 1.0)
    pts = [
        (np.cos(np.pi / 2 + 2 * np.pi * i / points), np.sin(np.pi / 2 + 2 * np.pi * i / points), radii[i % 2])
        for i in range(points)
    ]
    xs = [c * r for c, _, r in pts]
    ys = [-s * r for _, s, r in pts]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return [
        ((x - x0) / (x1 - x0) * (side - 1), (y - y0) / (y1 - y0) * (side - 1))
        for x, y in zip(xs, ys, strict=True)
    ]


@functools.lru_cache(maxsize=1)
def _primitive_signatures() -> FloatArray:
    from PIL import ImageDraw

    s = _PRIMITIVE_SIDE
    shapes: list[FloatArray] = []
    for kind in _PRIMITIVES:
        im = Image.new("L", (s, s), 0)
        d = ImageDraw.Draw(im)
        if kind == "ellipse":
            d.ellipse((0, 0, s - 1, s - 1), fill=255)
        elif kind == "round1":
            d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 6, fill=255)
        elif kind == "round2":
            d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 3, fill=255)
        elif kind == "triangle":
            d.polygon([(s / 2, 0), (s - 1, s - 1), (0, s - 1)], fill=255)
        elif kind == "diamond":
            d.polygon([(s / 2, 0), (s - 1, s / 2), (s / 2, s - 1), (0, s / 2)], fill=255)
        elif kind == "halfdisc":
            d.pieslice((-s, 0, s - 1, s - 1), start=-90, end=90, fill=255)
        elif kind in ("star", "pentagon", "hexagon"):
            d.polygon(_regular(kind, s), fill=255)
        elif kind == "plus":
            d.rectangle((s / 3, 0, 2 * s / 3, s - 1), fill=255)
            d.rectangle((0, s / 3, s - 1, 2 * s / 3), fill=255)
        elif kind == "shield":
            d.rectangle((0, 0, s - 1, s // 2), fill=255)
            d.pieslice((0, -s // 2, s - 1, s - 1), start=0, end=180, fill=255)
        else:
            d.ellipse((0, 0, s - 1, s - 1), fill=255)
            d.ellipse((s // 5, s // 5, s - 1 - s // 5, s - 1 - s // 5), fill=0)
        turned = [im]
        if kind in ("round1", "round2", "diamond", "star"):
            # A tile (or a star) turned a few degrees, as the registry's rotated variants of such logos are.
            for angle in _PRIMITIVE_TURNS:
                t = im.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
                turned.append(t.crop(t.getbbox()))
        for shape in turned:
            grid = np.asarray(shape.resize((32, 32), Image.Resampling.BOX), dtype=np.float32) / 255.0
            for k in range(4):
                r = np.rot90(grid, k)
                shapes.extend((r, r[:, ::-1]))
    return signatures(small_grids(np.stack(shapes).astype(np.float32)))


def genericness(grids: npt.NDArray[np.uint8]) -> FloatArray:
    """(k,) best correlation of each (16x16) reference grid with a generic primitive shape."""
    if len(grids) == 0:
        return np.zeros(0, dtype=np.float32)
    out: FloatArray = (signatures(grids) @ _primitive_signatures().T).max(axis=1)
    return out
