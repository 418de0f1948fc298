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
    border_ring,
    colour_distance,
    peel,
    shape_of,
    shape_of_mask,
)

MAX_PROPOSALS: Final = 16
_XY_DEPTH: Final = 2
_XY_MIN_GAP: Final = 3  # working pixels: letters of a word are closer, a caption is further
_XY_MIN_AREA: Final = 0.10  # share of the design's box
_EDGE_STEP: Final = 10.0  # per-pixel colour step that separates two smooth regions
_REGION_MIN_AREA: Final = 0.03  # share of the image a smooth region needs to hold a logo
_HOLES_MIN_AREA: Final = 0.002
_MAX_REGIONS: Final = 6
_INK_MIN_AREA: Final = 0.0005  # a flat patch smaller than this is noise or an anti-aliased edge
_INK_MAX_AREA: Final = 0.35  # a flat patch larger than this is a ground, not ink
_INK_MIN_GROUP: Final = 0.004
_INK_GAP: Final = 3  # working pixels bridged between parts of one logo
_MAX_INKS: Final = 6
_HOLE_GROUPS: Final = 3
_OTHER_GROUND_MIN: Final = 0.1  # share of the ring in a second colour before it counts as a ground
_TWO_COLOUR_RING: Final = 0.9


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


def _smooth_labels(a: FloatArray) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Connected regions without colour steps (a shirt, a sky, a flat logo part); label 0 = edges."""
    blurred = ndimage.uniform_filter(a, size=(3, 3, 1))
    gx = np.abs(np.diff(blurred, axis=1, append=blurred[:, -1:])).max(axis=-1)
    gy = np.abs(np.diff(blurred, axis=0, append=blurred[-1:])).max(axis=-1)
    labels, n = ndimage.label(np.maximum(gx, gy) <= _EDGE_STEP)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    return labels.astype(np.int32), sizes


def _smooth_regions(
    labels: npt.NDArray[np.int32], sizes: npt.NDArray[np.int64]
) -> list[npt.NDArray[np.bool_]]:
    """The large smooth regions: grounds a logo may sit on."""
    out = []
    for k in np.argsort(-sizes)[:_MAX_REGIONS]:
        if sizes[k] < _REGION_MIN_AREA * labels.size:
            break
        out.append(labels == k)
    return out


def _colour_proposals(
    a: FloatArray, labels: npt.NDArray[np.int32], sizes: npt.NDArray[np.int64]
) -> list[tuple[Box, FloatArray]]:
    """Boxes of pixels that share one flat colour ("ink") and lie together, with that colour.

    Catches a logo that is not enclosed by one ground: placed across a shirt's edge, or on a busy
    photo. Its shape is the ink membership itself, so it equals the reference's glyph-vs-ground shape
    whatever the ground is.
    """
    total = labels.size
    keep = np.flatnonzero((sizes >= _INK_MIN_AREA * total) & (sizes <= _INK_MAX_AREA * total))
    if keep.size == 0:
        return []
    colours = np.stack([ndimage.mean(a[..., c], labels, keep) for c in range(3)], axis=1).astype(np.float32)
    used = np.zeros(len(keep), dtype=bool)
    out: list[tuple[Box, FloatArray]] = []
    inks = 0
    for i in np.argsort(-sizes[keep]):
        if used[i] or inks >= _MAX_INKS:
            continue
        same = (colour_distance(colours, colours[i]) < FOREGROUND_TOLERANCE) & ~used
        used |= same
        if sizes[keep[same]].sum() < _INK_MIN_GROUP * total:
            continue
        inks += 1
        members = np.isin(labels, keep[same])
        # One proposal per blob of this colour (parts closer than _INK_GAP are one logo).
        blobs, _ = ndimage.label(ndimage.maximum_filter(members, size=2 * _INK_GAP + 1))
        for b, found in enumerate(ndimage.find_objects(blobs)[:3], start=1):
            if found is None or (members[found] & (blobs[found] == b)).sum() < _INK_MIN_GROUP * total:
                continue
            ys, xs = found
            out.append(((int(xs.start), int(ys.start), int(xs.stop), int(ys.stop)), colours[i]))
    return out


def _ink_shape(a: FloatArray, colour: FloatArray, box: Box) -> Shape | None:
    sub = a[box[1] : box[3], box[0] : box[2]]
    d = colour_distance(sub, colour)
    ink = np.clip((1.5 * FOREGROUND_TOLERANCE - d) / FOREGROUND_TOLERANCE, 0.0, 1.0).astype(np.float32)
    return shape_of_mask(ink, box, offset_only=True)


def _holes(region: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Pixels not in `region` and not connected to the image border: what the region encloses.

    One labelling pass; scipy's binary_fill_holes iterates a dilation and is several times slower.
    """
    labels, _ = ndimage.label(~region)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    out: npt.NDArray[np.bool_] = (labels > 0) & ~np.isin(labels, edge)
    return out


def _overlap(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


class _Realiser:
    """Computes a small proposal's shape on the finer image when there is one (thin strokes of a logo
    printed small), and reports its box in the working image's pixels either way."""

    def __init__(self, a: FloatArray, fine: FloatArray | None) -> None:
        self.a = a
        self.fine = a if fine is None else fine
        self.fx = self.fine.shape[1] / a.shape[1]
        self.fy = self.fine.shape[0] / a.shape[0]

    def _up(self, box: Box | None) -> Box:
        if box is None:
            return (0, 0, self.fine.shape[1], self.fine.shape[0])
        return (
            int(box[0] * self.fx),
            int(box[1] * self.fy),
            min(self.fine.shape[1], int(np.ceil(box[2] * self.fx))),
            min(self.fine.shape[0], int(np.ceil(box[3] * self.fy))),
        )

    def _down(self, shape: Shape | None) -> Shape | None:
        if shape is None:
            return None
        x0, y0, x1, y1 = shape.box
        box = (int(x0 / self.fx), int(y0 / self.fy), int(np.ceil(x1 / self.fx)), int(np.ceil(y1 / self.fy)))
        return Shape(shape.grid, box)

    def ground(self, colour: FloatArray, box: Box | None = None, *, fine: bool = False) -> Shape | None:
        if not fine or self.fine is self.a:
            return shape_of(self.a, colour, box)
        return self._down(shape_of(self.fine, colour, self._up(box)))

    def ink(self, colour: FloatArray, box: Box) -> Shape | None:
        return self._down(_ink_shape(self.fine, colour, self._up(box)))


def propose(a: FloatArray, fine: FloatArray | None = None) -> list[Shape]:
    """Up to MAX_PROPOSALS distinct shapes of the working image `a`, most general first.

    Regions are found on `a`; shapes are computed on `fine` (the same image at a higher resolution)
    when given. Boxes are in `a`'s pixels.
    """
    real = _Realiser(a, fine)
    shapes: list[Shape | None] = []
    ground, _ = border_ground(a)
    shapes.append(real.ground(ground))
    other = _other_ground(a, ground)
    alternative = real.ground(other) if other is not None else None
    peeled = peel(a)
    if peeled is not None:
        box, ground = peeled
        shapes.append(real.ground(ground, box))
        sub = a[box[1] : box[3], box[0] : box[2]]
        parts: list[Box] = []
        _xy_cut(colour_distance(sub, ground) >= FOREGROUND_TOLERANCE, (0, 0), 0, parts)
        area = sub.shape[0] * sub.shape[1]
        for px0, py0, px1, py1 in parts[1:]:
            if (px1 - px0) * (py1 - py0) >= _XY_MIN_AREA * area:
                shapes.append(real.ground(ground, (px0 + box[0], py0 + box[1], px1 + box[0], py1 + box[1])))
    h, w = a.shape[:2]
    labels, sizes = _smooth_labels(a)
    for region in _smooth_regions(labels, sizes):
        holes = _holes(region)
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
        boxes = [hb]  # the holes' box as a whole, then each group of nearby holes on its own
        groups, _ = ndimage.label(ndimage.maximum_filter(holes, size=2 * _INK_GAP + 1))
        found = ndimage.find_objects(groups)
        areas = ndimage.sum(holes, groups, range(1, len(found) + 1))
        for k in np.argsort(-np.asarray(areas))[:_HOLE_GROUPS]:
            ys_, xs_ = found[k]
            if areas[k] >= _HOLES_MIN_AREA * h * w:
                boxes.append(
                    (max(0, xs_.start - 1), max(0, ys_.start - 1), min(w, xs_.stop + 1), min(h, ys_.stop + 1))
                )
        for bx in boxes:
            # The ground right around the holes, not the whole region's median: shading and merged
            # regions make the latter a colour that is nowhere next to the logo.
            local, _ = border_ground(a[bx[1] : bx[3], bx[0] : bx[2]])
            shapes.append(real.ground(local, bx, fine=True))
            inner = peel(a[bx[1] : bx[3], bx[0] : bx[2]])
            if inner is not None:
                (ix0, iy0, ix1, iy1), inner_ground = inner
                inner_box = (bx[0] + ix0, bx[1] + iy0, bx[0] + ix1, bx[1] + iy1)
                shapes.append(real.ground(inner_ground, inner_box, fine=True))
    for box, colour in _colour_proposals(a, labels, sizes):
        shapes.append(real.ink(colour, box))
    out: list[Shape] = []
    for cand in shapes:
        if cand is None or any(_overlap(cand.box, o.box) > 0.95 for o in out):
            continue
        out.append(cand)
        if len(out) >= MAX_PROPOSALS:
            break
    if alternative is not None:  # same box as the whole image, other figure: never a duplicate
        out.insert(1, alternative)
        del out[MAX_PROPOSALS:]
    return out


def _other_ground(a: FloatArray, ground: FloatArray) -> FloatArray | None:
    """The second colour of a border ring made of two, or None.

    A design cropped so that it runs off the edges (a tile logo cut on a side) fills most of the ring,
    so the ring's median is the design's own colour and the real background -- the rest of the ring --
    comes out as the figure. Trying the other colour as ground too gives the figure a reviewer sees.
    Only for rings of two clean colours: a photo's edge is neither.
    """
    ring = border_ring(a)
    far = colour_distance(ring, ground) >= FOREGROUND_TOLERANCE
    if far.mean() < _OTHER_GROUND_MIN:
        return None
    other: FloatArray = np.median(ring[far], axis=0).astype(np.float32)
    covered = ~far | (colour_distance(ring, other) < FOREGROUND_TOLERANCE)
    return other if covered.mean() >= _TWO_COLOUR_RING else None
