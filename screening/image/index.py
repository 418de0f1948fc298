"""Exact Hamming-radius indexes behind the `HashIndex` seam: a flat numpy scan and multi-index hashing.

`MultiIndexHashIndex` answers a radius query over 10^7 hashes in about a millisecond using only flat
numpy arrays (no Python object per hash); `FaissBinaryIndex` is the optional 10^8 backend.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from screening.image.index_base import HashArray, HashIndex, IdArray

__all__ = [
    "FaissBinaryIndex",
    "FaissUnavailable",
    "FlatHashIndex",
    "HashIndexError",
    "IndexFormatError",
    "MultiIndexHashIndex",
    "load_index",
]

_FORMAT_VERSION: Final = 1
# Row ids are caller-chosen and non-negative, so a negative id can mark a removed row (a tombstone)
# without a separate mask array: one less 10M-element array to keep and to check during a query.
_TOMBSTONE: Final = np.int64(-1)
_SUPPORTED_BITS: Final = (64, 128, 256)


class HashIndexError(ValueError):
    """Base of the index errors: bad shapes, bad ids, unreadable files.

    HashIndexError
    ├── IndexFormatError   a saved index that is truncated, of another kind or another version
    └── FaissUnavailable   FaissBinaryIndex asked for where the `faiss` module is not installed
    """


class IndexFormatError(HashIndexError):
    """A saved index that cannot be loaded (never a bare numpy/zipfile traceback)."""


class FaissUnavailable(HashIndexError):
    """The optional `faiss` backend (the `bench` extra) is not installed."""


def _popcount_table() -> npt.NDArray[np.uint8]:
    return np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


_POP8: Final = _popcount_table()


def _popcount(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """Per-element popcount; numpy >= 2.0 has a native ufunc, older numpy takes a byte table."""
    native = getattr(np, "bitwise_count", None)
    if native is not None:
        out: npt.NDArray[np.uint8] = native(x)
        return out
    as_bytes = np.ascontiguousarray(x).view(np.uint8).reshape(*x.shape, 8)
    summed: npt.NDArray[np.uint8] = _POP8[as_bytes].sum(axis=-1, dtype=np.uint8)
    return summed


def _distances(rows: HashArray, query: HashArray) -> npt.NDArray[np.int64]:
    """Hamming distance of every row (k, w) to one query (w,).

    Word by word rather than `popcount(rows ^ query).sum(axis=1)`: about 3x faster for 256-bit rows,
    since the axis-1 sum over 4 tiny uint8 columns is a slow strided reduction in numpy.
    """
    d = _popcount(rows[:, 0] ^ query[0]).astype(np.int64)
    for w in range(1, rows.shape[1]):
        d += _popcount(rows[:, w] ^ query[w])
    return d


def _take_rows(hashes: HashArray, rows: npt.NDArray[Any]) -> HashArray:
    """hashes[rows] for a 2-d array. `np.take(axis=0)` copies whole rows; numpy's fancy indexing
    of a 2-d array goes element by element and measured 50x slower (3.3 ms vs 67 us for 7,600
    rows of 256 bits), which was most of a PDQ query."""
    out: HashArray = np.take(hashes, rows, axis=0)
    return out


def _gather_distances(hashes: HashArray, rows: npt.NDArray[Any], query: HashArray) -> npt.NDArray[np.int64]:
    """Distances of hashes[rows] to the query: the random-access part of a query."""
    if hashes.shape[1] == 1:
        return _popcount(hashes[:, 0][rows] ^ query[0]).astype(np.int64)
    return _distances(_take_rows(hashes, rows), query)


def _check_bits(bits: int) -> int:
    if bits not in _SUPPORTED_BITS:
        raise HashIndexError(f"unsupported hash width {bits}; expected one of {_SUPPORTED_BITS}")
    return bits


def _as_hashes(hashes: HashArray, bits: int) -> HashArray:
    words = bits // 64
    arr = np.asarray(hashes)
    if arr.dtype != np.uint64:
        raise HashIndexError(f"hashes must be uint64 words, got dtype {arr.dtype}")
    if arr.ndim == 1 and words == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != words:
        raise HashIndexError(f"hashes must have shape (n, {words}) for {bits}-bit hashes, got {arr.shape}")
    return np.ascontiguousarray(arr)


def _as_ids(ids: IdArray, n: int | None = None) -> IdArray:
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise HashIndexError("ids must be a 1-d integer array")
    out = arr.astype(np.int64, copy=False)
    if out.size and int(out.min()) < 0:
        raise HashIndexError("ids must be non-negative")
    if n is not None and out.shape[0] != n:
        raise HashIndexError(f"got {out.shape[0]} ids for {n} hashes")
    return np.ascontiguousarray(out)


def _as_query(query: HashArray, bits: int) -> HashArray:
    q = np.asarray(query)
    if q.ndim == 2 and q.shape[0] == 1:
        q = q[0]
    if q.dtype != np.uint64 or q.shape != (bits // 64,):
        raise HashIndexError(f"a query is one row of {bits // 64} uint64 words")
    return q


def _check_radius(radius: int, bits: int) -> int:
    if not 0 <= radius <= bits:
        raise HashIndexError(f"radius must be within 0..{bits}")
    return int(radius)


def _best_per_id(ids: IdArray, dist: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """One (id, smallest distance) per id, ordered by (distance, id): the same answer from every index.

    A reference usually has several hashes (its mirror, rotations, crops) under one id; the caller
    wants to know that the reference is near, and how near, not how many of its variants matched.
    """
    keep = ids >= 0
    ids, dist = ids[keep], dist[keep]
    if ids.size == 0:
        return []
    order = np.lexsort((dist, ids))
    ids, dist = ids[order], dist[order]
    first = np.ones(ids.shape[0], dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    ids, dist = ids[first], dist[first]
    order = np.lexsort((ids, dist))
    return list(zip(ids[order].tolist(), dist[order].tolist(), strict=True))


# Rows per step of a linear scan: the XOR/popcount temporaries of a chunk stay in L2 cache, where a
# whole-array pass over 10^7 rows would write (and then read back) an 80 MB temporary per query.
_SCAN_CHUNK: Final = 1 << 16


def _scan(hashes: HashArray, ids: IdArray, q: HashArray, r: int) -> tuple[IdArray, npt.NDArray[np.int64]]:
    """(ids, distances) of every row within r of q, by chunked linear popcount."""
    found_ids: list[IdArray] = [np.zeros(0, dtype=np.int64)]
    found_dist: list[npt.NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)]
    for start in range(0, hashes.shape[0], _SCAN_CHUNK):
        stop = min(hashes.shape[0], start + _SCAN_CHUNK)
        d = _distances(hashes[start:stop], q)
        hit = np.flatnonzero(d <= r)
        if hit.size:
            found_ids.append(ids[start:stop][hit])
            found_dist.append(d[hit])
    return np.concatenate(found_ids), np.concatenate(found_dist)


def _rows_with_ids(ids: IdArray, gone: IdArray) -> npt.NDArray[np.bool_]:
    """Mask of rows whose id is in `gone`. For the usual handful of ids, one equality pass each:
    np.isin would build a lookup table or sort, several times slower at 10^7 rows."""
    if gone.size <= 16:
        mask = np.zeros(ids.shape[0], dtype=bool)
        for g in np.unique(gone).tolist():
            mask |= ids == g
        return mask
    out: npt.NDArray[np.bool_] = np.isin(ids, gone)
    return out


def _write_npz(path: Path, arrays: dict[str, npt.NDArray[Any]]) -> None:
    # Written through a temporary name and renamed so that a crash never leaves a half index behind.
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]
    tmp.replace(path)


def _read_npz(path: Path) -> dict[str, npt.NDArray[Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise IndexFormatError(f"cannot read a saved hash index: {type(exc).__name__}") from None


def _header(arrays: dict[str, npt.NDArray[Any]], kind: str) -> int:
    try:
        got_kind = str(arrays["kind"])
        version = int(arrays["version"])
        bits = int(arrays["bits"])
    except (KeyError, ValueError, TypeError):
        raise IndexFormatError("saved hash index has no valid header") from None
    if got_kind != kind:
        raise IndexFormatError(f"saved index is a {got_kind!r}, not a {kind!r}")
    if version != _FORMAT_VERSION:
        raise IndexFormatError(f"saved index format {version} is not supported")
    return _check_bits(bits)


class FlatHashIndex:
    """Exact linear popcount scan: the baseline, and the small-n fallback of the multi-index.

    Amortised O(1) add (capacity doubling), remove by tombstone, query O(n) in chunks that stay in
    cache (a whole-array XOR at 10M rows would write an 80 MB temporary per query).
    """

    kind: ClassVar[str] = "flat"

    def __init__(self, bits: int = 64) -> None:
        self.bits = _check_bits(bits)
        self._words = bits // 64
        self._hashes: HashArray = np.zeros((0, self._words), dtype=np.uint64)
        self._ids: IdArray = np.zeros(0, dtype=np.int64)
        self._n = 0
        self._dead = 0
        self._view: tuple[HashArray, IdArray, int] = (self._hashes, self._ids, 0)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._n - self._dead

    def __repr__(self) -> str:
        return f"FlatHashIndex(bits={self.bits}, n={len(self)})"

    def add(self, ids: IdArray, hashes: HashArray) -> None:
        h = _as_hashes(hashes, self.bits)
        i = _as_ids(ids, h.shape[0])
        with self._lock:
            need = self._n + h.shape[0]
            if need > self._hashes.shape[0]:
                cap = max(need, 2 * self._hashes.shape[0], 1024)
                hashes_new = np.zeros((cap, self._words), dtype=np.uint64)
                ids_new = np.full(cap, _TOMBSTONE, dtype=np.int64)
                hashes_new[: self._n] = self._hashes[: self._n]
                ids_new[: self._n] = self._ids[: self._n]
                # Rows are written before the view is published: a concurrent search sees either
                # the old (arrays, count) or the new one, each consistent.
                hashes_new[self._n : need] = h
                ids_new[self._n : need] = i
                self._hashes, self._ids = hashes_new, ids_new
            else:
                self._hashes[self._n : need] = h
                self._ids[self._n : need] = i
            self._n = need
            self._view = (self._hashes, self._ids, self._n)

    def remove(self, ids: IdArray) -> int:
        gone = _as_ids(ids)
        with self._lock:
            live = self._ids[: self._n]
            hit = _rows_with_ids(live, gone)
            count = int(hit.sum())
            live[hit] = _TOMBSTONE
            self._dead += count
            if self._dead > 1024 and self._dead * 4 > self._n:
                self._compact()
            return count

    def _compact(self) -> None:
        keep = self._ids[: self._n] >= 0
        self._hashes = np.compress(keep, self._hashes[: self._n], axis=0)
        self._ids = np.ascontiguousarray(self._ids[: self._n][keep])
        self._n = self._ids.shape[0]
        self._dead = 0
        self._view = (self._hashes, self._ids, self._n)

    def search(self, query: HashArray, radius: int) -> list[tuple[int, int]]:
        q = _as_query(query, self.bits)
        r = _check_radius(radius, self.bits)
        hashes, ids, n = self._view  # one snapshot: a compaction moves rows between arrays
        found_ids, found_dist = _scan(hashes[:n], ids[:n], q, r)
        return _best_per_id(found_ids, found_dist)

    def memory_bytes(self) -> int:
        return int(self._hashes.nbytes + self._ids.nbytes)

    def save(self, path: Path) -> None:
        with self._lock:
            keep = self._ids[: self._n] >= 0
            arrays: dict[str, npt.NDArray[Any]] = {
                "kind": np.array(self.kind),
                "version": np.array(_FORMAT_VERSION),
                "bits": np.array(self.bits),
                "hashes": np.compress(keep, self._hashes[: self._n], axis=0),
                "ids": self._ids[: self._n][keep],
            }
        _write_npz(Path(path), arrays)

    @classmethod
    def load(cls, path: Path) -> FlatHashIndex:
        arrays = _read_npz(Path(path))
        bits = _header(arrays, cls.kind)
        index = cls(bits)
        try:
            index.add(arrays["ids"], arrays["hashes"])
        except (KeyError, HashIndexError):
            raise IndexFormatError("saved flat index has missing or inconsistent arrays") from None
        return index


@functools.lru_cache(maxsize=128)
def _flip_masks(width: int, radius: int) -> npt.NDArray[np.int64]:
    """Every `width`-bit mask with at most `radius` set bits: the probes of one block's table."""
    masks = [0]
    for k in range(1, min(radius, width) + 1):
        for combo in itertools.combinations(range(width), k):
            m = 0
            for b in combo:
                m |= 1 << b
            masks.append(m)
    out = np.array(masks, dtype=np.int64)
    out.setflags(write=False)
    return out


def _n_masks(width: int, radius: int) -> int:
    return sum(math.comb(width, k) for k in range(min(radius, width) + 1)) if radius >= 0 else 0


@dataclass(frozen=True, slots=True)
class _Block:
    """One substring of the hash: bits [shift, shift+width) of word `word`."""

    word: int
    shift: int
    width: int

    def keys(self, hashes: HashArray) -> npt.NDArray[np.int64]:
        return ((hashes[:, self.word] >> np.uint64(self.shift)) & np.uint64((1 << self.width) - 1)).astype(
            np.int64
        )

    def key(self, query: HashArray) -> int:
        return (int(query[self.word]) >> self.shift) & ((1 << self.width) - 1)


def _plan_blocks(bits: int, n: int) -> tuple[_Block, ...]:
    """Blocks of about log2(n) bits, never straddling a 64-bit word.

    With b-bit blocks a probe finds n / 2^b candidates on average; b ~ log2(n) (Norouzi et al., "Fast
    Exact Search in Hamming Space with Multi-Index Hashing") balances probes against candidates, and
    b <= log2(n) keeps each offsets table (2^b entries) no larger than a permutation (n entries), which
    is what holds memory to a few times the raw hashes.
    """
    target = max(12, min(24, math.floor(math.log2(max(n, 2)))))
    per_word = max(1, math.ceil(64 / target))
    blocks: list[_Block] = []
    for word in range(bits // 64):
        base, extra = divmod(64, per_word)
        shift = 0
        for j in range(per_word):
            width = base + (1 if j < extra else 0)
            blocks.append(_Block(word, shift, width))
            shift += width
    return tuple(blocks)


@dataclass(frozen=True, slots=True)
class _Tables:
    """The immutable, fully built part of a multi-index; replaced whole on rebuild (never mutated
    except for tombstoned ids), so a search holding a reference always sees one consistent build.

    Rows are stored sorted by block 0's key: block 0 needs no permutation, and its candidates are
    contiguous rows, which is where most of a query's memory traffic goes.
    """

    blocks: tuple[_Block, ...]
    hashes: HashArray
    ids: IdArray
    offsets: tuple[npt.NDArray[Any], ...]
    perms: tuple[npt.NDArray[Any], ...]

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    def nbytes(self) -> int:
        return int(
            self.hashes.nbytes
            + self.ids.nbytes
            + sum(o.nbytes for o in self.offsets)
            + sum(p.nbytes for p in self.perms)
        )


class _State(NamedTuple):
    """Everything a search reads, swapped as one reference: a search that took the tables before a
    merge must also take the pending rows from before it, or rows merged in between would vanish."""

    tables: _Tables
    pending_hashes: HashArray
    pending_ids: IdArray


def _build_tables(bits: int, hashes: HashArray, ids: IdArray, min_rows: int) -> _Tables:
    n = hashes.shape[0]
    if n < min_rows:
        return _Tables((), hashes, ids, (), ())
    blocks = _plan_blocks(bits, n)
    index_dtype = np.uint32 if n < 2**32 else np.int64
    keys0 = blocks[0].keys(hashes)
    order = np.argsort(keys0, kind="stable")
    hashes = _take_rows(hashes, order)
    ids = np.ascontiguousarray(ids[order])
    keys0 = keys0[order]
    del order
    offsets: list[npt.NDArray[Any]] = []
    perms: list[npt.NDArray[Any]] = []
    for j, block in enumerate(blocks):
        keys = keys0 if j == 0 else block.keys(hashes)
        counts = np.bincount(keys, minlength=1 << block.width)
        off = np.zeros((1 << block.width) + 1, dtype=index_dtype)
        np.cumsum(counts, out=off[1:])
        offsets.append(off)
        if j > 0:
            perms.append(np.argsort(keys, kind="stable").astype(index_dtype))
        del keys, counts
    return _Tables(blocks, hashes, ids, tuple(offsets), tuple(perms))


def _runs(
    offsets: npt.NDArray[Any], probes: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64] | npt.NDArray[np.uint32]:
    """Positions of every table entry in the buckets `probes`, without a Python loop over buckets."""
    starts = offsets[probes].astype(np.int64)
    lens = offsets[probes + 1].astype(np.int64) - starts
    ends = np.cumsum(lens)
    total = int(ends[-1]) if ends.size else 0
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    # Position k of the output lies in run i = the one whose [ends[i]-lens[i], ends[i]) holds k;
    # shifting arange by a per-run constant maps it into that run's bucket.
    shift = np.repeat(starts - (ends - lens), lens)
    out: npt.NDArray[np.int64] = np.arange(total, dtype=np.int64) + shift
    return out


class MultiIndexHashIndex:
    """Exact r-neighbour search by multi-index hashing over flat numpy arrays.

    Each hash is cut into m blocks. If d(h, q) <= r = m*s + a (0 <= a < m), then by pigeonhole one of
    the first a+1 blocks differs in at most s bits, or one of the others in at most s-1; so each
    block's table is probed with every key within that radius of the query's block, and the
    candidates are verified by exact popcount. Tables are CSR-like: rows sorted by block key
    (a uint32 permutation) and an offsets array of 2^b+1 entries, so a probe is two array reads.

    Adds go to a small pending buffer that is scanned flat and merged into the tables when it grows
    past `merge_threshold` (a rebuild re-sorts every block: seconds at 10^7 rows, so amortised over
    65,536 adds; searches meanwhile keep using the old tables). Removes write tombstones after an
    O(n) vectorised id scan; tables are rebuilt when a quarter of the rows are dead. When a radius
    is so large that probing would touch a large share of the rows, the query is a flat scan
    instead: results are exact either way.
    """

    kind: ClassVar[str] = "mih"

    def __init__(
        self, bits: int = 64, *, merge_threshold: int = 1 << 16, min_table_rows: int = 1 << 14
    ) -> None:
        self.bits = _check_bits(bits)
        self._words = bits // 64
        self._merge_threshold = int(merge_threshold)
        self._min_table_rows = int(min_table_rows)
        empty_h = np.zeros((0, self._words), dtype=np.uint64)
        empty_i = np.zeros(0, dtype=np.int64)
        self._state = _State(_Tables((), empty_h, empty_i, (), ()), empty_h, empty_i)
        self._dead = 0
        self._lock = threading.Lock()

    @classmethod
    def build(cls, ids: IdArray, hashes: HashArray, bits: int = 64, **kwargs: int) -> MultiIndexHashIndex:
        """Bulk build: one sort per block rather than a merge per `merge_threshold` adds."""
        index = cls(bits, **kwargs)
        h = _as_hashes(hashes, bits)
        tables = _build_tables(bits, h.copy(), _as_ids(ids, h.shape[0]).copy(), index._min_table_rows)
        index._state = _State(tables, h[:0], index._state.pending_ids)
        return index

    def __len__(self) -> int:
        st = self._state
        return st.tables.n + int(st.pending_ids.shape[0]) - self._dead

    def __repr__(self) -> str:
        return (
            f"MultiIndexHashIndex(bits={self.bits}, n={len(self)}, blocks={len(self._state.tables.blocks)})"
        )

    @property
    def block_widths(self) -> tuple[int, ...]:
        return tuple(b.width for b in self._state.tables.blocks)

    def add(self, ids: IdArray, hashes: HashArray) -> None:
        h = _as_hashes(hashes, self.bits)
        i = _as_ids(ids, h.shape[0])
        with self._lock:
            # New arrays, never appended in place: a search holding the old pair stays consistent.
            st = self._state
            self._state = _State(
                st.tables, np.concatenate([st.pending_hashes, h]), np.concatenate([st.pending_ids, i])
            )
            # Fixed, not proportional to n: every query scans the pending rows linearly.
            if self._state.pending_ids.shape[0] > self._merge_threshold:
                self._rebuild()

    def remove(self, ids: IdArray) -> int:
        gone = _as_ids(ids)
        with self._lock:
            st = self._state
            pend_hit = _rows_with_ids(st.pending_ids, gone)
            count = int(pend_hit.sum())
            if count:
                self._state = _State(
                    st.tables, np.compress(~pend_hit, st.pending_hashes, axis=0), st.pending_ids[~pend_hit]
                )
            main = st.tables.ids
            # O(n) vectorised scan (a few ms at 10^7): cheaper in memory than an id -> rows map.
            hit = _rows_with_ids(main, gone)
            dead = int(hit.sum())
            if dead:
                main[hit] = _TOMBSTONE
                self._dead += dead
                if self._dead > 1024 and self._dead * 4 > st.tables.n:
                    self._rebuild()
            return count + dead

    def _rebuild(self) -> None:
        st = self._state
        keep = st.tables.ids >= 0
        hashes = np.concatenate([np.compress(keep, st.tables.hashes, axis=0), st.pending_hashes])
        ids = np.concatenate([st.tables.ids[keep], st.pending_ids])
        tables = _build_tables(self.bits, hashes, ids, self._min_table_rows)
        self._state = _State(tables, hashes[:0], ids[:0])
        self._dead = 0

    def compact(self) -> None:
        """Merge pending adds and drop tombstones now (e.g. before a save or after a bulk delete)."""
        with self._lock:
            self._rebuild()

    def _probe_budget(self, t: _Tables, radius: int) -> list[tuple[int, int]] | None:
        """(block index, probe radius) per block, or None when a flat scan is cheaper."""
        m = len(t.blocks)
        if m == 0:
            return None
        s, a = divmod(radius, m)
        plan = [(j, s if j <= a else s - 1) for j in range(m)]
        probes = sum(_n_masks(t.blocks[j].width, rj) for j, rj in plan)
        expected_candidates = sum(
            _n_masks(t.blocks[j].width, rj) * t.n / (1 << t.blocks[j].width) for j, rj in plan
        )
        # A probe costs about as much as verifying a few candidates; a flat scan costs n popcounts
        # read sequentially, several times cheaper per row than the candidates' random reads.
        if probes > 200_000 or 4 * expected_candidates + 2 * probes > t.n:
            return None
        return [(j, rj) for j, rj in plan if rj >= 0]

    def search(self, query: HashArray, radius: int) -> list[tuple[int, int]]:
        q = _as_query(query, self.bits)
        r = _check_radius(radius, self.bits)
        t, pend_h, pend_i = self._state  # one snapshot: a concurrent merge never hides rows
        found_ids: list[IdArray] = []
        found_dist: list[npt.NDArray[np.int64]] = []

        plan = self._probe_budget(t, r)
        if plan is None:
            scan_ids, scan_dist = _scan(t.hashes, t.ids, q, r)
            found_ids.append(scan_ids)
            found_dist.append(scan_dist)
        else:
            rows_parts = []
            for j, rj in plan:
                block = t.blocks[j]
                probes = _flip_masks(block.width, rj) ^ block.key(q)
                pos = _runs(t.offsets[j], probes)
                rows_parts.append(pos if j == 0 else t.perms[j - 1][pos])
            rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, dtype=np.int64)
            if rows.size:
                d = _gather_distances(t.hashes, rows, q)
                close = d <= r
                found_ids.append(t.ids[rows[close]])
                found_dist.append(d[close])
        if pend_i.shape[0]:
            d = _distances(pend_h, q)
            near = d <= r
            found_ids.append(pend_i[near])
            found_dist.append(d[near])
        if not found_ids:
            return []
        return _best_per_id(np.concatenate(found_ids), np.concatenate(found_dist))

    def memory_bytes(self) -> int:
        st = self._state
        return st.tables.nbytes() + int(st.pending_hashes.nbytes + st.pending_ids.nbytes)

    def save(self, path: Path) -> None:
        """Saves the built tables, pending adds and tombstones as they are: a save never re-sorts,
        and a load is a read, not a rebuild."""
        with self._lock:
            t, pend_h, pend_i = self._state
        arrays: dict[str, npt.NDArray[Any]] = {
            "kind": np.array(self.kind),
            "version": np.array(_FORMAT_VERSION),
            "bits": np.array(self.bits),
            "merge_threshold": np.array(self._merge_threshold),
            "min_table_rows": np.array(self._min_table_rows),
            "blocks": np.array([(b.word, b.shift, b.width) for b in t.blocks], dtype=np.int64).reshape(-1, 3),
            "hashes": t.hashes,
            "ids": t.ids,
            "pending_hashes": pend_h,
            "pending_ids": pend_i,
        }
        for j, off in enumerate(t.offsets):
            arrays[f"offsets_{j}"] = off
        for j, perm in enumerate(t.perms):
            arrays[f"perm_{j + 1}"] = perm
        _write_npz(Path(path), arrays)

    @classmethod
    def load(cls, path: Path) -> MultiIndexHashIndex:
        arrays = _read_npz(Path(path))
        bits = _header(arrays, cls.kind)
        try:
            index = cls(
                bits,
                merge_threshold=int(arrays["merge_threshold"]),
                min_table_rows=int(arrays["min_table_rows"]),
            )
            hashes = _as_hashes(arrays["hashes"], bits)
            ids = np.ascontiguousarray(arrays["ids"], dtype=np.int64)  # may hold tombstones (-1)
            pend_h = _as_hashes(arrays["pending_hashes"], bits)
            pend_i = _as_ids(arrays["pending_ids"], pend_h.shape[0])
            blocks = tuple(_Block(int(w), int(s), int(b)) for w, s, b in arrays["blocks"].reshape(-1, 3))
            offsets = tuple(arrays[f"offsets_{j}"] for j in range(len(blocks)))
            perms = tuple(arrays[f"perm_{j}"] for j in range(1, len(blocks)))
        except (KeyError, ValueError, TypeError, HashIndexError):
            raise IndexFormatError("saved multi-index has missing or inconsistent arrays") from None
        n = hashes.shape[0]
        # A damaged or hostile file must fail here, not as an IndexError (or a huge allocation)
        # in the middle of a query: check every table against the shapes the blocks imply.
        if ids.shape != (n,) or (n and int(ids.min()) < -1):
            raise IndexFormatError("saved multi-index has inconsistent ids")
        for block in blocks:
            if not (
                0 <= block.word < bits // 64 and 1 <= block.width <= 32 and block.shift + block.width <= 64
            ):
                raise IndexFormatError("saved multi-index has an impossible block layout")
        for block, off in zip(blocks, offsets, strict=True):
            if off.shape != ((1 << block.width) + 1,) or int(off[0]) != 0 or int(off[-1]) != n:
                raise IndexFormatError("saved multi-index has inconsistent tables")
            if np.any(np.diff(off.astype(np.int64)) < 0):
                raise IndexFormatError("saved multi-index has inconsistent tables")
        for perm in perms:
            if perm.shape != (n,) or (n and int(perm.max()) >= n):
                raise IndexFormatError("saved multi-index has inconsistent tables")
        index._state = _State(_Tables(blocks, hashes, ids, offsets, perms), pend_h, pend_i)
        index._dead = int(np.count_nonzero(ids < 0))
        return index


class FaissBinaryIndex:
    """`faiss.IndexBinaryFlat` (in an id map) behind the same seam: the backend for 10^8 hashes.

    Only available with the `bench` extra. FAISS range search keeps distances strictly below its
    radius, so the query asks for radius + 1 to keep this seam's "<= radius" contract.
    """

    kind: ClassVar[str] = "faiss"

    def __init__(self, bits: int = 64, *, index: Any = None) -> None:
        self.bits = _check_bits(bits)
        self._faiss = _import_faiss()
        self._index = (
            index if index is not None else self._faiss.IndexBinaryIDMap(self._faiss.IndexBinaryFlat(bits))
        )
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def __repr__(self) -> str:
        return f"FaissBinaryIndex(bits={self.bits}, n={len(self)})"

    def add(self, ids: IdArray, hashes: HashArray) -> None:
        h = _as_hashes(hashes, self.bits)
        i = _as_ids(ids, h.shape[0])
        with self._lock:
            self._index.add_with_ids(h.view(np.uint8), i)

    def remove(self, ids: IdArray) -> int:
        gone = _as_ids(ids)
        with self._lock:
            return int(self._index.remove_ids(gone))

    def search(self, query: HashArray, radius: int) -> list[tuple[int, int]]:
        q = _as_query(query, self.bits)
        r = _check_radius(radius, self.bits)
        lims, dist, labels = self._index.range_search(q.reshape(1, -1).view(np.uint8), r + 1)
        lo, hi = int(lims[0]), int(lims[1])
        return _best_per_id(labels[lo:hi].astype(np.int64), dist[lo:hi].astype(np.int64))

    def memory_bytes(self) -> int:
        return len(self) * (self.bits // 8 + 8)

    def save(self, path: Path) -> None:
        with self._lock:
            buf = self._faiss.serialize_index_binary(self._index)
        arrays: dict[str, npt.NDArray[Any]] = {
            "kind": np.array(self.kind),
            "version": np.array(_FORMAT_VERSION),
            "bits": np.array(self.bits),
            "faiss": np.asarray(buf, dtype=np.uint8),
        }
        _write_npz(Path(path), arrays)

    @classmethod
    def load(cls, path: Path) -> FaissBinaryIndex:
        arrays = _read_npz(Path(path))
        bits = _header(arrays, cls.kind)
        faiss = _import_faiss()
        try:
            index = faiss.deserialize_index_binary(arrays["faiss"])
        except Exception:  # faiss raises RuntimeError subclasses from C++ for any corruption
            raise IndexFormatError("saved faiss index is unreadable") from None
        if int(index.d) != bits:
            raise IndexFormatError("saved faiss index has the wrong width")
        return cls(bits, index=index)


def _import_faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise FaissUnavailable("FaissBinaryIndex needs the `faiss-cpu` package (the `bench` extra)") from None
    return faiss


_KINDS: Final[dict[str, type[FlatHashIndex] | type[MultiIndexHashIndex] | type[FaissBinaryIndex]]] = {
    FlatHashIndex.kind: FlatHashIndex,
    MultiIndexHashIndex.kind: MultiIndexHashIndex,
    FaissBinaryIndex.kind: FaissBinaryIndex,
}


def load_index(path: Path) -> HashIndex:
    """Load any saved index by the kind recorded in its header."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            kind = str(data["kind"])
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError):
        raise IndexFormatError("cannot read a saved hash index") from None
    cls = _KINDS.get(kind)
    if cls is None:
        raise IndexFormatError(f"unknown saved index kind {kind!r}")
    return cls.load(path)
