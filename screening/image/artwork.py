"""Local features of artwork: ORB keypoints on two grey channels, spread over the image, in both orientations.

Paintings, illustrations and photographs are matched by local features, not by shape: a crop, a caption
band or a product photo around the work leaves most of its keypoints intact. Two channels make the
binary descriptors survive colour changes: luminance (what a greyscale conversion keeps) and value,
the per-pixel maximum of R, G and B, which a hue turn leaves unchanged. ORB's tests compare intensities,
so any monotone contrast change is harmless; a light blur keeps film grain and JPEG blocks from
becoming keypoints. Keypoints are capped per cell of a grid, so crisp caption text cannot take the
whole budget from the softer work beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

# Longer side a reference is registered at, and an upload is matched at (a work placed on a quarter of
# a product photo still spans ~250 px there; ORB's pyramid covers the scale gap).
REFERENCE_SIDE: Final = 512
QUERY_SIDE: Final = 1024
REFERENCE_FEATURES: Final = 500  # per channel
# A reference is also registered at half its side, and those keypoints added (in full-size pixels): a work
# placed small on a product photo (a quarter of it, cropped) spans ~200 px at QUERY_SIDE, where ORB finds
# the corners of a 256 px copy, not those of the 512 px one. On the photo set (seed 1) this took combo
# from 0.54 to 0.73 and placed from 0.75 to 0.81 recall at the shipped threshold, FPR still 0.
HALF_FEATURES: Final = 250  # per channel
QUERY_FEATURES: Final = 1000  # per channel and orientation: the work may be a small part of the upload
_SCALE_FACTOR: Final = 1.25
_LEVELS: Final = 8
_PATCH: Final = 19  # smaller than ORB's 31: keypoints nearer the edge of a crop survive
_FAST_THRESHOLD: Final = 16
_BLUR_SIGMA: Final = 1.0
_GRID: Final = 8
_OVERSAMPLE: Final = 3  # detect this many times the budget, then spread it over the grid
_CELL_CAP: Final = 2.0  # at most this multiple of a fair share of the budget in one grid cell
_GREY_SPREAD: Final = 3.0  # mean max-min over R, G, B below which an image is greyscale: one channel
_MIN_SMALL_SIDE: Final = 384  # smaller images are upscaled: ORB needs room for its patch and pyramid
# Share of a reference's pixels in flat areas (3x3 spread < _FLAT_STEP at 256 px) from which the image is
# a flat design (a logo, an illustration) with a shape; below it, texture (paint, a photograph). Local
# features of a flat design of few colours are few and repetitive (see DESIGN.md).
_FLAT_STEP: Final = 2.0
SHAPE_MIN_FLAT: Final = 0.5
MIN_KEYPOINTS: Final = 150  # fewer at REFERENCE_SIDE: too little texture to match by features
# A flat design with this many colours (each on >= 1% of it, at 4 bits a channel) is an illustration:
# matched by features as well as by shape. simple-icons logos have 2 (one colour on white).
ILLUSTRATION_COLOURS: Final = 4
_COLOUR_MIN_SHARE: Final = 0.01


@dataclass(frozen=True, slots=True)
class Keypoints:
    """Keypoint positions (n, 2) float32 in the image's own pixels and their ORB descriptors (n, 32)."""

    xy: npt.NDArray[np.float32]
    descriptors: npt.NDArray[np.uint8]
    size: tuple[int, int]
    # Every corner ORB detected, before the grid cap (its cap hides where an upload's corners crowd):
    # what `busy_region` proposes a region from. Not stored with a reference.
    detected: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 2), np.float32))

    def __len__(self) -> int:
        return len(self.descriptors)


def _orb(n: int) -> Any:
    return cv2.ORB.create(
        nfeatures=n * _OVERSAMPLE,
        scaleFactor=_SCALE_FACTOR,
        nlevels=_LEVELS,
        edgeThreshold=_PATCH,
        patchSize=_PATCH,
        fastThreshold=_FAST_THRESHOLD,
    )


Grey = npt.NDArray[Any]  # one uint8 channel (OpenCV's stubs type its results loosely)


def channels(rgb: npt.NDArray[np.uint8]) -> list[Grey]:
    """Luminance and value (max of R, G, B); luminance alone for a greyscale image. OpenCV's per-channel
    max: numpy's reduction over a last axis of 3 is ~20x slower on a megapixel."""
    lum = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    r, g, b = cv2.split(rgb)
    hi = cv2.max(cv2.max(r, g), b)
    lo = cv2.min(cv2.min(r, g), b)
    if float(cv2.mean(cv2.subtract(hi, lo))[0]) < _GREY_SPREAD:
        return [lum]
    return [lum, hi]


def _stretch(c: Grey) -> Grey:
    """Percentile contrast stretch: FAST's fixed threshold then finds the same corners in a faded copy."""
    cdf = np.cumsum(cv2.calcHist([c], [0], None, [256], [0, 256]).ravel())
    lo = int(np.searchsorted(cdf, 0.01 * cdf[-1]))
    hi = int(np.searchsorted(cdf, 0.99 * cdf[-1]))
    if hi - lo < 8:
        return c
    lut = np.clip((np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    out: Grey = cv2.LUT(c, lut)
    return out


def prepare(rgb: npt.NDArray[np.uint8]) -> list[Grey]:
    """The channels keypoints are found on: stretched and lightly blurred (computed once per image)."""
    return [cv2.GaussianBlur(_stretch(c), (0, 0), _BLUR_SIGMA) for c in channels(rgb)]


def _spread(kps: list[cv2.KeyPoint], shape: tuple[int, int], n: int) -> list[cv2.KeyPoint]:
    """The n strongest keypoints with at most _CELL_CAP fair shares in any grid cell."""
    h, w = shape
    xy = np.array([k.pt for k in kps], dtype=np.float32)
    response = np.array([k.response for k in kps], dtype=np.float32)
    gx = np.minimum(_GRID - 1, (xy[:, 0] * _GRID / w).astype(np.int64))
    gy = np.minimum(_GRID - 1, (xy[:, 1] * _GRID / h).astype(np.int64))
    cell = gy * _GRID + gx
    order = np.lexsort((-response, cell))
    sorted_cells = cell[order]
    rank = np.empty(len(kps), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.searchsorted(sorted_cells, sorted_cells, side="left")
    allowed = np.flatnonzero(rank < max(1, int(_CELL_CAP * n / _GRID**2)))
    pick = allowed[np.argsort(-response[allowed], kind="stable")][:n]
    return [kps[i] for i in pick.tolist()]


def working_image(image: Image.Image, side: int) -> npt.NDArray[np.uint8]:
    """RGB uint8 pixels with the longer side at most `side`, small images upscaled to _MIN_SMALL_SIDE."""
    im = image if image.mode == "RGB" else image.convert("RGB")
    scale = side / max(im.size)
    if scale >= 1:
        scale = max(1.0, _MIN_SMALL_SIDE / max(im.size))
    if abs(scale - 1) > 0.02:
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        im = im.resize(size, Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC)
    return np.asarray(im, dtype=np.uint8)


def extract(prepared: list[Grey], per_channel: int, *, mirror: bool = False) -> Keypoints:
    """Keypoints of every prepared channel; with `mirror`, of the left-right mirrored image (in its frame)."""
    orb = _orb(per_channel)
    xys: list[npt.NDArray[np.float32]] = []
    descs: list[Grey] = []
    detected: list[npt.NDArray[np.float32]] = []
    for g in prepared:
        if mirror:
            g = cv2.flip(g, 1)
        found = orb.detect(g, None)
        if not found:
            continue
        detected.append(np.array([k.pt for k in found], dtype=np.float32))
        kept, d = orb.compute(g, _spread(list(found), g.shape, per_channel))
        if d is None or not kept:
            continue
        xys.append(np.array([k.pt for k in kept], dtype=np.float32))
        descs.append(d)
    size = (prepared[0].shape[1], prepared[0].shape[0])
    corners = np.concatenate(detected) if detected else np.zeros((0, 2), np.float32)
    if not descs:
        return Keypoints(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), size, corners)
    return Keypoints(np.concatenate(xys), np.concatenate(descs), size, corners)


def flat_share(image: Image.Image) -> float:
    """Share of pixels in flat areas: near 1 for a logo on a plain ground, near 0 for paint or a photo."""
    im = image if image.mode == "RGB" else image.convert("RGB")
    im = im.copy()
    im.thumbnail((256, 256), Image.Resampling.BOX)
    a = np.asarray(im, dtype=np.float32)
    lo = cv2.erode(a, np.ones((3, 3), np.uint8))
    hi = cv2.dilate(a, np.ones((3, 3), np.uint8))
    return float(((hi - lo).max(axis=2) < _FLAT_STEP).mean())


def dominant_colours(image: Image.Image) -> int:
    """Colours (quantised to 4 bits a channel) that each cover at least 1% of the image."""
    im = image if image.mode == "RGB" else image.convert("RGB")
    im = im.copy()
    im.thumbnail((128, 128), Image.Resampling.NEAREST)  # nearest: edges make no blended colours
    a = np.asarray(im, dtype=np.uint16) >> 4
    keys = (a[..., 0] << 8) | (a[..., 1] << 4) | a[..., 2]
    counts = np.bincount(keys.ravel(), minlength=4096)
    return int((counts >= _COLOUR_MIN_SHARE * keys.size).sum())


def reference_keypoints(image: Image.Image) -> tuple[Keypoints, Keypoints]:
    """What registering a work stores (before quantisation): keypoints at REFERENCE_SIDE and at half of it,
    as the work is and mirrored (the index holds both, so an upload is never extracted twice)."""
    prepared = prepare(working_image(image, REFERENCE_SIDE))
    half = prepare(working_image(image, REFERENCE_SIDE // 2))
    full_kp, mirrored = (
        _merge(extract(prepared, REFERENCE_FEATURES, mirror=m), extract(half, HALF_FEATURES, mirror=m))
        for m in (False, True)
    )
    return full_kp, mirrored


def _merge(full: Keypoints, half: Keypoints) -> Keypoints:
    """`half`'s keypoints (found on a copy at half the side) in `full`'s pixels, appended to `full`'s."""
    if not len(half):
        return full
    scale = np.array([full.size[0] / half.size[0], full.size[1] / half.size[1]], dtype=np.float32)
    return Keypoints(
        np.concatenate([full.xy, half.xy * scale]).astype(np.float32),
        np.concatenate([full.descriptors, half.descriptors]),
        full.size,
    )


# Region proposal for a work placed small on a product photo: the densest connected cluster of the
# corners ORB detects in an upload, on a 16 x 16 grid, zoomed into when it is at most 40% of the upload
# (see DESIGN.md, "Zoom pass"). A cell with fewer than 15% of the busiest cell's corners is ground (noise,
# the product's outline), not the work.
_BUSY_GRID: Final = 16
_BUSY_SHARE: Final = 0.15
_BUSY_MIN: Final = 3
ZOOM_MAX_AREA: Final = 0.4
ZOOM_SIDE: Final = 768  # longer side the region is upsampled to: a placed work near its registered 512 px
ZOOM_MAX_FACTOR: Final = 3.0
ZOOM_MIN_FACTOR: Final = 1.2  # less than this is the first pass again


def busy_region(xy: npt.NDArray[np.float32], size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) around the densest connected cluster of corners `xy`, or None when it is most of the
    image (nothing to zoom into). A work pasted on a product photo is the textured part of a smooth one."""
    w, h = size
    if len(xy) < _BUSY_MIN or w < _BUSY_GRID or h < _BUSY_GRID:
        return None
    g = _BUSY_GRID
    gx = np.minimum(g - 1, (xy[:, 0] * g / w).astype(np.int64))
    gy = np.minimum(g - 1, (xy[:, 1] * g / h).astype(np.int64))
    counts = np.bincount(gy * g + gx, minlength=g * g).reshape(g, g)
    busy = (counts >= max(_BUSY_MIN, _BUSY_SHARE * counts.max())).astype(np.uint8)
    # Closed across one quiet cell: a flat patch inside the work must not split it (a dilation would
    # also join the work to the corners of the product around it).
    joined = cv2.morphologyEx(busy, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, labels = cv2.connectedComponents(joined, connectivity=8)
    if n <= 1:
        return None
    mass = np.bincount(labels.ravel(), weights=counts.ravel(), minlength=n)
    mass[0] = 0
    keep = labels == int(mass.argmax())
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    cw, ch = w / g, h / g
    x0, x1 = int(cols[0] * cw), int(min(w, (cols[-1] + 1) * cw))
    y0, y1 = int(rows[0] * ch), int(min(h, (rows[-1] + 1) * ch))
    # Half a cell of margin: the cells were counted by keypoint centres, the work's edge lies beyond them.
    x0, y0 = max(0, int(x0 - cw / 2)), max(0, int(y0 - ch / 2))
    x1, y1 = min(w, int(x1 + cw / 2)), min(h, int(y1 + ch / 2))
    if (x1 - x0) * (y1 - y0) > ZOOM_MAX_AREA * w * h:
        return None
    return x0, y0, x1, y1
