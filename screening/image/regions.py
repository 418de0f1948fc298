"""Region proposals: the parts of an upload that may each be a whole logo.

A logo is rarely the whole upload: it sits inside a frame, above a caption, or on a t-shirt in a photo.
Proposals (each a trimmed `Shape` in working pixels) come from four cheap, general cues:
  * the whole image against its border colour (crops, where the design touches the edge);
  * the design left after peeling uniform frames (padding, borders, frame lines);
  * an XY-cut of that design at its widest empty gaps (a caption below or above a logo);
  * the holes of every large smooth region (a logo printed on a shirt, a sticker on a photo).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from screening.image.hashing import (
    FOREGROUND_TOLERANCE,
    Box,
    FloatArray,
    Shape,
    border_ground,
    colour_distance,
    peel,
    shape_of,
)

MAX_PROPOSALS: Final = 12
_XY_DEPTH: Final = 2
_XY_MIN_GAP: Final = 3  # working pixels: letters of a word are closer, a caption is further
_XY_MIN_AREA: Final = 0.10  # share of the design's box
_EDGE_STEP: Final = 10.0  # per-pixel colour step that separates two smooth regions
_REGION_MIN_AREA: Final = 0.03  # share of the image a smooth region needs to hold a logo
_HOLES_MIN_AREA: Final = 0.002
_MAX_REGIONS: Final = 6


def _xy_cut(mask: npt.NDArray[np.bool_], origin: tuple[int, int], depth: int, out: list[Box]) -> None:
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return
    y0, y1, x0, x1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
    m = mask[y0:y1, x0:x1]
    oy, ox = origin[0] + y0, origin[1] + x0
    out.append((ox, oy, ox + m.shape[1], oy + m.shape[0]))
    if depth >= _XY_DEPTH:
        return
    for axis in (0, 1):
        profile = m.any(axis=1) if axis == 0 else m.any(axis=0)
        labels, n = ndimage.label(~profile)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel())[1:]
        k = int(np.argmax(sizes))
        if sizes[k] < _XY_MIN_GAP:
            continue
        gap = np.flatnonzero(labels == k + 1)
        cut = int(gap[0] + gap[-1]) // 2
        if axis == 0:
            _xy_cut(m[:cut], (oy, ox), depth + 1, out)
            _xy_cut(m[cut:], (oy + cut, ox), depth + 1, out)
        else:
            _xy_cut(m[:, :cut], (oy, ox), depth + 1, out)
            _xy_cut(m[:, cut:], (oy, ox + cut), depth + 1, out)
        return


def _smooth_regions(a: FloatArray) -> list[tuple[npt.NDArray[np.bool_], FloatArray]]:
    """Large connected regions without colour steps (a shirt, a sky, a sheet) and their median colour."""
    blurred = ndimage.uniform_filter(a, size=(3, 3, 1))
    gx = np.abs(np.diff(blurred, axis=1, append=blurred[:, -1:])).max(axis=-1)
    gy = np.abs(np.diff(blurred, axis=0, append=blurred[-1:])).max(axis=-1)
    labels, n = ndimage.label(np.maximum(gx, gy) <= _EDGE_STEP)
    if n == 0:
        return []
    sizes = np.bincount(labels.ravel())[1:]
    out = []
    for k in np.argsort(-sizes)[:_MAX_REGIONS]:
        if sizes[k] < _REGION_MIN_AREA * labels.size:
            break
        region = labels == k + 1
        out.append((region, np.median(a[region], axis=0).astype(np.float32)))
    return out


def _overlap(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def propose(a: FloatArray) -> list[Shape]:
    """Up to MAX_PROPOSALS distinct shapes from the working image `a`, most general first."""
    shapes: list[Shape | None] = []
    ground, _ = border_ground(a)
    shapes.append(shape_of(a, ground))
    peeled = peel(a)
    if peeled is not None:
        box, ground = peeled
        shapes.append(shape_of(a, ground, box))
        sub = a[box[1] : box[3], box[0] : box[2]]
        parts: list[Box] = []
        _xy_cut(colour_distance(sub, ground) >= FOREGROUND_TOLERANCE, (0, 0), 0, parts)
        area = sub.shape[0] * sub.shape[1]
        for px0, py0, px1, py1 in parts[1:]:
            if (px1 - px0) * (py1 - py0) >= _XY_MIN_AREA * area:
                shapes.append(shape_of(sub, ground, (px0, py0, px1, py1)))
                if shapes[-1] is not None:
                    s = shapes[-1]
                    shapes[-1] = Shape(
                        s.grid, (s.box[0] + box[0], s.box[1] + box[1], s.box[2] + box[0], s.box[3] + box[1])
                    )
    h, w = a.shape[:2]
    for region, colour in _smooth_regions(a):
        holes = ndimage.binary_fill_holes(region) & ~region
        if holes.sum() < _HOLES_MIN_AREA * h * w:
            continue
        ys = np.flatnonzero(holes.any(axis=1))
        xs = np.flatnonzero(holes.any(axis=0))
        hb = (
            max(0, int(xs[0]) - 1),
            max(0, int(ys[0]) - 1),
            min(w, int(xs[-1]) + 2),
            min(h, int(ys[-1]) + 2),
        )
        shapes.append(shape_of(a, colour, hb))  # the holes' box as a whole
        inner = peel(a[hb[1] : hb[3], hb[0] : hb[2]])
        if inner is not None:
            (ix0, iy0, ix1, iy1), inner_ground = inner
            shapes.append(shape_of(a, inner_ground, (hb[0] + ix0, hb[1] + iy0, hb[0] + ix1, hb[1] + iy1)))
    out: list[Shape] = []
    for cand in shapes:
        if cand is None or any(_overlap(cand.box, o.box) > 0.95 for o in out):
            continue
        out.append(cand)
        if len(out) >= MAX_PROPOSALS:
            break
    return out
