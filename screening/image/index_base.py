"""The HashIndex seam: exact Hamming-radius search over fixed-width binary hashes.

Hashes are `bits`-wide (64 for pHash/dHash/wHash, 256 for PDQ), held as rows of uint64 words
(shape (n, bits // 64)). Ids are caller-chosen non-negative int64. Implementations: a flat numpy
scan (the baseline), multi-index hashing, and (optionally) a FAISS binary index for 10^8 hashes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

HashArray = npt.NDArray[np.uint64]
IdArray = npt.NDArray[np.int64]


@runtime_checkable
class HashIndex(Protocol):
    bits: int

    def __len__(self) -> int: ...

    def add(self, ids: IdArray, hashes: HashArray) -> None:
        """Add hashes (n, bits//64) under ids; cheap for one reference at a time."""
        ...

    def remove(self, ids: IdArray) -> int:
        """Remove every hash stored under these ids; returns how many were removed. Cheap."""
        ...

    def search(self, query: HashArray, radius: int) -> list[tuple[int, int]]:
        """Exact: every (id, distance) with Hamming distance <= radius to one query row (bits//64,)."""
        ...

    def save(self, path: Path) -> None: ...
