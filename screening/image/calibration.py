"""Per-reference calibration of shape scores against a pool of logos that are not the reference.

A raw shape correlation does not mean the same for every reference: a plain disc or shield correlates
at 0.95 with hundreds of unrelated designs (a letter O, a button, a badge), a detailed mark with none.
One threshold on raw correlations therefore either flags strangers against generic references or misses
turned and cropped copies of distinctive ones. At registration each reference is scored against a
fixed null pool (region shapes of logos from the development quarter of simple-icons, never any logo of
the sets we report on); the correlation that the pool's `NULL_RANK`-th closest image reaches is the
reference's *null tail*. Raw correlations are mapped so that the distance to a perfect match is
measured in units of that reference's own tail: a reference as distinctive as the typical one keeps its
raw score, a generic one must come closer, a distinctive one may be further off. So one threshold means
the same false-alarm risk for every reference.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from screening.image.hashing import ROTATIONS, FloatArray, dihedral, signatures
from screening.image.verify import genericness

_POOL_FILE: Final = Path(__file__).resolve().parent.parent / "data" / "images" / "null_pool.npz"
# Names the pool the saved tails were computed against; a registry saved with another recomputes them.
POOL_ID: Final = "simple-icons-16.37.0-q0-v2"
# The pool image at this rank (of 878) sets a reference's tail: about its 99.5th percentile. A higher
# quantile would be noisier per reference; the reference itself, when it is one of the pool's logos
# (the shipped registry holds them all), is skipped as a near-copy (_SELF) and cannot set it. A shape
# the pool happens to hold few of (a five-pointed star) is still generic: the tail is at least the
# reference's correlation with the closest primitive shape (verify.genericness).
NULL_RANK: Final = 5
_SELF: Final = 0.985
# The tail of the typical reference (about the median: 0.68 over the 3,470 shipped logos, 0.67-0.72 over
# the evaluation registries): references at it keep their raw score.
TYPICAL_TAIL: Final = 0.70
# Bounds on the stretch factor (1 - TYPICAL_TAIL) / (1 - tail): a reference whose pool never comes close
# is not made arbitrarily lenient, and a near-primitive one is not made impossible to match.
_MIN_STRETCH: Final = 0.6
_MAX_STRETCH: Final = 12.0
_BATCH: Final = 64  # references per matrix product: 33k x 1,216 floats, 160 MB


@functools.lru_cache(maxsize=1)
def _pool() -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Signatures of the pool's shapes in their 8 orientations, and the pool image each comes from."""
    with np.load(_POOL_FILE, allow_pickle=False) as z:
        grids = z["grids"].astype(np.float32)
        owner = z["owner"].astype(np.int64)
    turned = np.stack([g for grid in grids for g in dihedral(grid)]) if len(grids) else grids
    return signatures(turned), np.repeat(owner, 8)


def null_tail(grids: npt.NDArray[np.uint8]) -> float:
    """The null tail of a reference from its (VARIANTS, 16, 16) grids: see the module docstring."""
    return float(null_tails(grids[None])[0])


def null_tails(grids: npt.NDArray[np.uint8]) -> FloatArray:
    """Null tails of (n, VARIANTS, 16, 16) references at once: one large matrix product per batch of
    references is ~10x faster than one per reference (a registry loaded without saved tails)."""
    sigs, owner = _pool()
    n, variants = grids.shape[:2]
    out = np.full(n, TYPICAL_TAIL, dtype=np.float32)
    if n == 0:
        return out
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])  # rows of each pool image (sorted)
    for first in range(0, n, _BATCH):
        batch = grids[first : first + _BATCH]
        refs = signatures(batch.reshape(-1, *grids.shape[2:]))
        per_image = np.empty((len(starts), len(batch)), dtype=np.float32)
        if len(sigs):
            corr = (sigs @ refs.T).reshape(len(sigs), len(batch), variants).max(axis=2)
            per_image = np.maximum.reduceat(corr, starts, axis=0)
        for k in range(len(batch)):
            strangers = (
                np.sort(per_image[:, k][per_image[:, k] < _SELF])[::-1] if len(sigs) else per_image[:0, k]
            )
            pooled = float(strangers[min(NULL_RANK, len(strangers)) - 1]) if len(strangers) else TYPICAL_TAIL
            # The reference as registered and turned (not cut: a cut logo can look like a plain tile).
            upright = batch[k, : 1 + len(ROTATIONS)]
            out[first + k] = max(pooled, float(genericness(upright).max()))
    return out


def stretch(tails: FloatArray) -> FloatArray:
    """Per reference, how much further from a perfect match its raw distance counts."""
    out: FloatArray = np.clip(
        (1.0 - TYPICAL_TAIL) / np.maximum(1.0 - tails, 1e-3), _MIN_STRETCH, _MAX_STRETCH
    ).astype(np.float32)
    return out


def calibrate(raw: FloatArray, tails: FloatArray) -> FloatArray:
    """Raw correlations (one per reference) on the common scale: 1 - (1 - raw) * stretch."""
    out: FloatArray = np.clip(1.0 - (1.0 - raw) * stretch(tails), 0.0, 1.0).astype(np.float32)
    return out
