"""Artwork candidates by an inverted index of visual words, verified by a RANSAC similarity transform.

Registering a work stores, per keypoint, its visual word and position (6 bytes), and posts the work
under each of its distinct words. A query quantises its keypoints, scores works by tf-idf cosine over
the posting lists of its words (never a scan of every work's features), and verifies the best few:
keypoints sharing a word are tentative correspondences, `cv2.estimateAffinePartial2D` finds the
rotation + scale + shift most of them agree on, and the number of distinct inliers is the evidence.
A work is posted twice, as registered and mirrored (two slots of one entry): a mirrored upload then
costs no second feature extraction, which is a third of a query's time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from screening.image.artwork import Keypoints
from screening.image.errors import RegistryError
from screening.image.vocabulary import Vocabulary

# The vocabulary: 256 x 256 words. On the development set (120 works), 64 x 64 words left the right work
# outside the best 8 candidates for 5% of queries (27% of crop + turn + placement combinations); 256 x 256
# put it first for every query, since a work then shares a hundred words with its copy and ~15 with others.
VOCABULARY_BRANCHING: Final = 256
_TRAINING_SAMPLE: Final = 400_000  # descriptors the vocabulary is trained on (a random sample beyond that)
# A vocabulary trained on fewer descriptors than _TRAINING_SAMPLE (a young registry) is trained again once
# the registry holds this many times the descriptors it was trained on. Until then every work's descriptors
# are kept (at most ~2 x 400k x 32 bytes = 26 MB) so that all works can be quantised again; a vocabulary
# trained on a full sample is kept for good and descriptors are dropped (see DESIGN.md).
RETRAIN_FACTOR: Final = 2
CANDIDATES: Final = 4  # verified per orientation of the query
_PAIRS_PER_WORD: Final = 3  # correspondences per shared word and side (repeated texture: few are right)
_RANSAC_PIXELS: Final = 5.0
_RANSAC_ITERATIONS: Final = 1000
_MIN_CORRESPONDENCES: Final = 6
_SCALE_RANGE: Final = (0.05, 8.0)  # query pixels per reference pixel a real copy can have
_INLIER_CELL: Final = 4.0  # inliers are counted once per 4x4-pixel cell: duplicates (two channels) count once
# A word posted by more than this share of works is a stop word: it says nothing and costs the most.
_STOP_SHARE: Final = 0.05
_STOP_MIN_WORKS: Final = 1000


@dataclass(frozen=True, slots=True)
class ArtworkMatch:
    """A verified work: `inliers` distinct agreeing keypoints, `corners` its outline in query pixels."""

    entry_id: str
    inliers: int
    corners: npt.NDArray[np.float32]
    spread: float = 1.0  # share of the work's area the inliers' bounding box covers (reference pixels)


@dataclass(frozen=True, slots=True)
class _Postings:
    """An immutable snapshot of the inverted index: swapped whole, so readers never see a half-built one."""

    offsets: npt.NDArray[np.int64]  # (words + 1,)
    slots: npt.NDArray[np.int32]  # slot of every posting, grouped by word
    idf: npt.NDArray[np.float32]  # (words,)
    norms: npt.NDArray[np.float32]  # (slots,) tf-idf norm of every slot's word set
    stop: npt.NDArray[np.bool_]  # (words,)


def _pairs(
    q_words: npt.NDArray[np.int64], r_words: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Index pairs (query, reference) of keypoints with the same word, at most 3 x 3 per word."""
    qo = np.argsort(q_words, kind="stable")
    ro = np.argsort(r_words, kind="stable")
    qs, rs = q_words[qo], r_words[ro]
    common = np.intersect1d(qs, rs, assume_unique=False)
    if common.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    qa = np.searchsorted(qs, common)
    ra = np.searchsorted(rs, common)
    qn = np.minimum(np.searchsorted(qs, common, side="right") - qa, _PAIRS_PER_WORD)
    rn = np.minimum(np.searchsorted(rs, common, side="right") - ra, _PAIRS_PER_WORD)
    per = qn * rn
    k = np.repeat(np.arange(common.size), per)
    j = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    return qo[qa[k] + j // rn[k]], ro[ra[k] + j % rn[k]]


def _compact(words: npt.NDArray[np.integer]) -> npt.NDArray[np.unsignedinteger]:
    """Word ids in 2 bytes when the vocabulary allows (256 x 256 words do): a third of a work's memory."""
    return words.astype(np.uint16 if words.size == 0 or int(words.max()) < 2**16 else np.uint32, copy=False)


def _distinct(points: npt.NDArray[np.float32]) -> int:
    return len(np.unique(np.round(points / _INLIER_CELL).astype(np.int64), axis=0))


def verify(
    q_words: npt.NDArray[np.int64],
    q_xy: npt.NDArray[np.float32],
    r_words: npt.NDArray[np.int64],
    r_xy: npt.NDArray[np.float32],
    r_size: tuple[int, int],
) -> tuple[int, npt.NDArray[np.float32] | None, float]:
    """(distinct inliers, reference corners in query pixels, inliers' spread) of the best similarity, or
    (0, None, 0)."""
    qi, ri = _pairs(q_words, r_words)
    if len(qi) < _MIN_CORRESPONDENCES:
        return 0, None, 0.0
    src, dst = r_xy[ri], q_xy[qi]
    m, mask = cv2.estimateAffinePartial2D(
        src,
        dst,
        method=cv2.RANSAC,
        ransacReprojThreshold=_RANSAC_PIXELS,
        maxIters=_RANSAC_ITERATIONS,
        confidence=0.995,
    )
    if m is None or mask is None:
        return 0, None, 0.0
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if not _SCALE_RANGE[0] < scale < _SCALE_RANGE[1]:
        return 0, None, 0.0
    inl = mask.ravel().astype(bool)
    n = min(_distinct(src[inl]), _distinct(dst[inl]))
    w, h = r_size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    projected = (corners @ m[:, :2].T + m[:, 2]).astype(np.float32)
    box = np.ptp(src[inl], axis=0) if inl.any() else np.zeros(2, np.float32)
    return n, projected, float(box[0] * box[1]) / max(1.0, float(w * h))


class ArtworkIndex:
    """Works' keypoints (word, x, y) and the word -> works inverted index. Adds and removes take a lock;
    searches read an immutable snapshot and never wait."""

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary
        self._lock = threading.Lock()
        self._ids: list[str | None] = []
        self._slot_of: dict[str, list[int]] = {}  # an entry's slots: as registered, and mirrored
        self._words: list[npt.NDArray[np.unsignedinteger]] = []  # uint16 for <= 65,536 words
        self._xy: list[npt.NDArray[np.uint16]] = []
        self._sizes: list[tuple[int, int]] = []
        self._pending: dict[int, npt.NDArray[np.uint8]] = {}  # descriptors awaiting a vocabulary
        # Descriptors of every live slot while the vocabulary is young (trained on < _TRAINING_SAMPLE).
        self._kept: dict[int, npt.NDArray[np.uint8]] = {}
        self.trained_on = 0 if vocabulary is None else _TRAINING_SAMPLE  # descriptors the vocabulary saw
        self._postings: _Postings | None = None
        self._dirty = False

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._slot_of

    def keypoint_count(self, entry_id: str) -> int:
        """Keypoints of the work as registered (its mirrored slot has as many again)."""
        return len(self._xy[self._slot_of[entry_id][0]])

    def add(self, entry_id: str, *orientations: Keypoints) -> None:
        """Register (or replace) a work, one slot per orientation given. Quantised now when a vocabulary
        exists, else at the next build."""
        with self._lock:
            self._remove_locked(entry_id)
            for keypoints in orientations:
                self._add_slot_locked(entry_id, keypoints)
            self._dirty = True

    def add_quantised(
        self,
        entry_id: str,
        orientations: list[tuple[npt.NDArray[np.integer], npt.NDArray[np.uint16], tuple[int, int]]],
    ) -> None:
        """Register a work whose keypoints are already words of this index's vocabulary: (words, xy,
        size) per orientation. For bulk loads of features computed elsewhere (and the scale benchmark)."""
        if self.vocabulary is None:
            raise RegistryError("quantised keypoints need the index's vocabulary first")
        with self._lock:
            self._remove_locked(entry_id)
            for words, xy, size in orientations:
                slot = len(self._ids)
                self._ids.append(entry_id)
                self._slot_of.setdefault(entry_id, []).append(slot)
                self._words.append(_compact(words))
                self._xy.append(xy)
                self._sizes.append(size)
            self._dirty = True

    def _add_slot_locked(self, entry_id: str, keypoints: Keypoints) -> None:
        slot = len(self._ids)
        self._ids.append(entry_id)
        self._slot_of.setdefault(entry_id, []).append(slot)
        self._xy.append(np.clip(np.round(keypoints.xy), 0, 65535).astype(np.uint16))
        self._sizes.append(keypoints.size)
        if self._young():
            self._kept[slot] = keypoints.descriptors
        if self.vocabulary is None:
            self._words.append(np.zeros(0, dtype=np.uint16))
            self._pending[slot] = keypoints.descriptors
        else:
            self._words.append(_compact(self.vocabulary.quantise(keypoints.descriptors)))

    def remove(self, entry_id: str) -> bool:
        with self._lock:
            return self._remove_locked(entry_id)

    def _remove_locked(self, entry_id: str) -> bool:
        slots = self._slot_of.pop(entry_id, None)
        if slots is None:
            return False
        for slot in slots:
            self._ids[slot] = None
            self._words[slot] = np.zeros(0, dtype=np.uint16)
            self._xy[slot] = np.zeros((0, 2), dtype=np.uint16)
            self._pending.pop(slot, None)
            self._kept.pop(slot, None)
        self._dirty = True
        return True

    # ------------------------------------------------------------------ building
    def build(self) -> None:
        """Train the vocabulary if there is none (on the works' own descriptors), then rebuild postings."""
        with self._lock:
            self._build_locked()

    def _young(self) -> bool:
        """Whether the vocabulary may still be trained again (so descriptors are kept)."""
        return self.trained_on < _TRAINING_SAMPLE

    def _build_locked(self) -> None:
        kept = sum(len(d) for d in self._kept.values())
        if (
            self._young()
            and self._kept
            and (self.vocabulary is None or kept >= RETRAIN_FACTOR * self.trained_on)
        ):
            # (Re)train on every work's descriptors and quantise every work again: words fit to the
            # first few works would leave most of a grown registry's words unused or crowded.
            sample = np.concatenate(list(self._kept.values()))
            if len(sample) > _TRAINING_SAMPLE:
                pick = np.random.default_rng(0).choice(len(sample), _TRAINING_SAMPLE, replace=False)
                sample = sample[np.sort(pick)]
            self.vocabulary = Vocabulary.train(sample, VOCABULARY_BRANCHING, VOCABULARY_BRANCHING)
            self.trained_on = len(sample)
            self._pending = dict(self._kept)
            if not self._young():
                self._kept.clear()
        if self._pending:
            assert self.vocabulary is not None  # trained above whenever works wait for one
            for slot, descriptors in self._pending.items():
                self._words[slot] = _compact(self.vocabulary.quantise(descriptors))
            self._pending.clear()
        self._postings = self._make_postings()
        self._dirty = False

    def _make_postings(self) -> _Postings:
        n_words = self.vocabulary.size if self.vocabulary is not None else 1
        uniq = [np.unique(w) for w in self._words]
        lengths = np.array([len(u) for u in uniq], dtype=np.int64)
        words = np.concatenate(uniq) if uniq else np.zeros(0, dtype=np.int64)
        slots = np.repeat(np.arange(len(uniq), dtype=np.int32), lengths)
        order = np.argsort(words, kind="stable")
        words, slots = words[order], slots[order]
        offsets = np.searchsorted(words, np.arange(n_words + 1)).astype(np.int64)
        df = np.diff(offsets).astype(np.float32)
        live = max(1, len(self._ids) - self._ids.count(None))
        idf = np.where(df > 0, np.log1p(live / np.maximum(df, 1.0)), 0.0).astype(np.float32)
        weights = idf[words] ** 2
        norms = np.sqrt(np.bincount(slots, weights=weights, minlength=len(uniq))).astype(np.float32)
        stop = (df > _STOP_SHARE * live) & (live >= _STOP_MIN_WORKS)
        return _Postings(offsets, slots, idf, norms, stop)

    def _snapshot(self) -> _Postings | None:
        if self._dirty or self._postings is None:
            with self._lock:
                if self._dirty or self._postings is None:
                    self._build_locked()
        return self._postings

    # ------------------------------------------------------------------ searching
    def candidates(self, words: npt.NDArray[np.int64], k: int = CANDIDATES) -> list[int]:
        """Slots of the k works with the highest tf-idf cosine to the query's word set."""
        postings = self._snapshot()
        if postings is None or len(self) == 0 or words.size == 0:
            return []
        uw = np.unique(words)
        uw = uw[~postings.stop[uw]]
        starts, ends = postings.offsets[uw], postings.offsets[uw + 1]
        if int((ends - starts).sum()) == 0:
            return []
        # Slices joined: a quarter faster than one fancy index over millions of postings at 10^5 works.
        hit = np.concatenate(
            [postings.slots[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
        )
        weight = np.repeat(postings.idf[uw] ** 2, ends - starts)
        scores = np.bincount(hit, weights=weight, minlength=len(postings.norms)) / np.maximum(
            postings.norms, 1e-6
        )
        k = min(k, int(np.count_nonzero(scores)))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        return [int(s) for s in top[np.argsort(-scores[top])] if self._ids[int(s)] is not None]

    def match(
        self, query: Keypoints, k: int = CANDIDATES
    ) -> tuple[npt.NDArray[np.int64], list[ArtworkMatch]]:
        """Quantise the query once and verify its k best candidate slots; (query words, verified matches).
        A work found in both orientations is reported once per orientation; the caller keeps the best."""
        if self.vocabulary is None:
            self._snapshot()
        if self.vocabulary is None or len(query) == 0:
            return np.zeros(0, dtype=np.int64), []
        words = self.vocabulary.quantise(query.descriptors)
        out = []
        for slot in self.candidates(words, k):
            entry_id = self._ids[slot]
            r_words, r_xy, r_size = self._words[slot], self._xy[slot], self._sizes[slot]
            if entry_id is None:
                continue
            n, corners, spread = verify(
                words, query.xy, r_words.astype(np.int64), r_xy.astype(np.float32), r_size
            )
            if corners is not None:
                out.append(ArtworkMatch(entry_id, n, corners, spread))
        return words, out

    # ------------------------------------------------------------------ persistence and accounting
    def memory_bytes(self) -> int:
        """Bytes held by the index: keypoints (word, x, y), postings, idf, norms and the vocabulary."""
        postings = self._snapshot()
        total = sum(w.nbytes for w in self._words) + sum(x.nbytes for x in self._xy)
        total += sum(d.nbytes for d in self._kept.values())
        if postings is not None:
            total += sum(
                a.nbytes
                for a in (postings.offsets, postings.slots, postings.idf, postings.norms, postings.stop)
            )
        if self.vocabulary is not None:
            total += self.vocabulary.top.nbytes + self.vocabulary.leaves.nbytes
        return total

    def save(self, path: Path) -> None:
        self._snapshot()
        with self._lock:
            live = [(slot, eid) for slot, eid in enumerate(self._ids) if eid is not None]
            words = [self._words[s] for s, _ in live]
            xy = [self._xy[s] for s, _ in live]
            vocab = self.vocabulary
            # A young vocabulary travels with the descriptors it may be trained again on.
            kept = [self._kept[s] for s, _ in live] if live and all(s in self._kept for s, _ in live) else []
            trained_on = self.trained_on
        counts = np.array([len(w) for w in words], dtype=np.int64)
        np.savez(
            path,
            ids=np.array([eid for _, eid in live], dtype=object).astype(str),
            counts=counts,
            words=np.concatenate(words).astype(np.uint32) if words else np.zeros(0, np.uint32),
            xy=np.concatenate(xy) if xy else np.zeros((0, 2), np.uint16),
            sizes=np.array([self._sizes[s] for s, _ in live], dtype=np.int64).reshape(-1, 2),
            top=vocab.top if vocab is not None else np.zeros((0, 32), np.uint8),
            leaves=vocab.leaves if vocab is not None else np.zeros((0, 0, 32), np.uint8),
            trained_on=np.array(trained_on, dtype=np.int64),
            kept=np.concatenate(kept) if kept else np.zeros((0, 32), np.uint8),
        )

    @classmethod
    def load(cls, path: Path) -> ArtworkIndex:
        try:
            with np.load(path, allow_pickle=False) as z:
                ids, counts, words, xy = z["ids"], z["counts"], z["words"], z["xy"]
                sizes, top, leaves = z["sizes"], z["top"], z["leaves"]
                # Files before retraining have neither: their vocabulary is kept as it is.
                trained_on = int(z["trained_on"]) if "trained_on" in z else _TRAINING_SAMPLE
                kept = z["kept"] if "kept" in z else np.zeros((0, 32), np.uint8)
        except (OSError, ValueError, KeyError) as exc:
            raise RegistryError("artwork index is missing or unreadable") from exc
        if not (len(ids) == len(counts) == len(sizes)) or not (int(counts.sum()) == len(words) == len(xy)):
            raise RegistryError("artwork index files disagree on the number of keypoints")
        if len(kept) not in (0, len(words)):
            raise RegistryError("artwork index files disagree on the number of descriptors")
        index = cls(Vocabulary(top, leaves) if len(top) else None)
        index.trained_on = trained_on if len(kept) else max(trained_on, _TRAINING_SAMPLE)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for slot, eid in enumerate(ids.tolist()):
            a, b = int(bounds[slot]), int(bounds[slot + 1])
            index._ids.append(str(eid))
            index._slot_of.setdefault(str(eid), []).append(slot)
            index._words.append(_compact(words[a:b]))
            index._xy.append(xy[a:b])
            index._sizes.append((int(sizes[slot][0]), int(sizes[slot][1])))
            if len(kept):
                index._kept[slot] = kept[a:b]
        index._dirty = True
        return index
