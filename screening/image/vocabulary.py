"""A vocabulary tree of binary visual words: ORB descriptors (256 bits) quantised to one of K1 x K2 words.

Trained by k-majority (k-means under the Hamming distance, whose centroid is the bitwise majority of its
members), two levels deep, so quantising a descriptor costs K1 + K2 distances instead of K1 * K2. The
word ids are what the inverted index of `artwork_index` posts references under.

    >>> vocab = Vocabulary.train(descriptors, k1=64, k2=64)   # (n, 32) uint8, n >> 4,096
    >>> vocab.quantise(query_descriptors)                     # (m,) int64 word ids in [0, 4,096)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

DESCRIPTOR_BYTES: Final = 32
_ITERATIONS: Final = 8
Descriptors = npt.NDArray[np.uint8]


def _nearest(queries: Descriptors, centres: Descriptors) -> npt.NDArray[np.int64]:
    """Index of the nearest centre (Hamming) of every query row: OpenCV's SIMD popcount brute force."""
    if len(centres) == 1:
        return np.zeros(len(queries), dtype=np.int64)
    matches = cv2.BFMatcher(cv2.NORM_HAMMING).match(queries, centres)
    out = np.empty(len(queries), dtype=np.int64)
    out[[m.queryIdx for m in matches]] = [m.trainIdx for m in matches]
    return out


def _majority(points: Descriptors) -> npt.NDArray[np.uint8]:
    """The bitwise majority of `points`: the descriptor nearest them all in Hamming distance."""
    bits = np.unpackbits(points, axis=1)
    packed: npt.NDArray[np.uint8] = np.packbits(bits.sum(axis=0) * 2 > len(points))
    return packed


def _kmajority(points: Descriptors, k: int, rng: np.random.Generator) -> Descriptors:
    """k centres of `points` (k <= len(points)), seeded by k-means++ on a sample and refined."""
    n = len(points)
    if n <= k:
        return points.copy()
    centres = points[rng.choice(n, size=k, replace=False)].copy()
    for _ in range(_ITERATIONS):
        labels = _nearest(points, centres)
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(k + 1))
        for c in range(k):
            members = order[bounds[c] : bounds[c + 1]]
            if len(members):
                centres[c] = _majority(points[members])
            else:  # an empty cluster restarts on a random point: keeps all k words in use
                centres[c] = points[rng.integers(n)]
    return centres


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Two-level tree: `top` (k1, 32) centres, `leaves` (k1, k2, 32) centres under each of them."""

    top: Descriptors
    leaves: Descriptors

    @property
    def size(self) -> int:
        return int(self.leaves.shape[0] * self.leaves.shape[1])

    @classmethod
    def train(cls, descriptors: Descriptors, k1: int = 256, k2: int = 256, seed: int = 0) -> Vocabulary:
        """Deterministic for a given input and seed. Nodes with fewer points than k2 repeat their last
        centre, so a small registry gets a smaller effective vocabulary rather than empty words."""
        rng = np.random.default_rng(seed)
        points = np.ascontiguousarray(descriptors, dtype=np.uint8)
        if len(points) == 0:
            raise ValueError("a vocabulary needs at least one descriptor")
        top = _kmajority(points, min(k1, len(points)), rng)
        if len(top) < k1:
            top = np.concatenate([top, np.repeat(top[-1:], k1 - len(top), axis=0)])
        labels = _nearest(points, top)
        leaves = np.empty((k1, k2, DESCRIPTOR_BYTES), dtype=np.uint8)
        for p in range(k1):
            members = points[labels == p]
            sub = _kmajority(members, k2, rng) if len(members) else top[p : p + 1]
            if len(sub) < k2:
                sub = np.concatenate([sub, np.repeat(sub[-1:], k2 - len(sub), axis=0)])
            leaves[p] = sub
        return cls(top, leaves)

    def quantise(self, descriptors: Descriptors) -> npt.NDArray[np.int64]:
        """Word id of every descriptor row: nearest top centre, then nearest leaf under it."""
        d = np.ascontiguousarray(descriptors, dtype=np.uint8)
        if len(d) == 0:
            return np.zeros(0, dtype=np.int64)
        parent = _nearest(d, self.top)
        words = np.empty(len(d), dtype=np.int64)
        k2 = self.leaves.shape[1]
        order = np.argsort(parent, kind="stable")
        bounds = np.searchsorted(parent[order], np.arange(len(self.top) + 1))
        for p in np.flatnonzero(np.diff(bounds)):
            rows = order[bounds[p] : bounds[p + 1]]
            words[rows] = p * k2 + _nearest(d[rows], self.leaves[p])
        return words
