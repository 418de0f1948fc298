"""Verification of hash candidates: normalised cross-correlation of 16x16 shape grids.

The 64-bit hash only nominates candidates (a radius wide enough to keep rotated, cropped and
re-encoded logos); the decision is the correlation of the query's shape with the reference variant's
shape. It separates better than any Hamming threshold on this task, and costs one small matrix product.
Local features (ORB + RANSAC) were measured as an alternative and lost: simple flat logos give few,
repetitive keypoints, so wrong references collected as many inliers as the right one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from screening.image.hashing import FloatArray, signatures


def correlate(query: FloatArray, references: npt.NDArray[np.uint8]) -> FloatArray:
    """(m, k) correlations in [-1, 1] between m query signatures and k reference grids (k, 16, 16)."""
    if len(references) == 0 or len(query) == 0:
        return np.zeros((len(query), len(references)), dtype=np.float32)
    out: FloatArray = query @ signatures(references).T
    return out
