"""Contract tests every HashIndex implementation runs: exact results vs a brute-force oracle,
add/remove/save/load, and clear errors for bad input and bad files."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.image.index import (
    FaissBinaryIndex,
    FlatHashIndex,
    HashIndexError,
    IndexFormatError,
    MultiIndexHashIndex,
    load_index,
)
from screening.image.index_base import HashArray, HashIndex, IdArray

Factory = Callable[[int], HashIndex]


def _faiss(bits: int) -> HashIndex:
    # faiss-cpu is in the test extra: a missing install fails here instead of skipping silently.
    return FaissBinaryIndex(bits)


# Small table thresholds so the multi-index really builds tables (and merges) on test-sized data.
FACTORIES: dict[str, Factory] = {
    "flat": FlatHashIndex,
    "mih": lambda bits: MultiIndexHashIndex(bits, merge_threshold=64, min_table_rows=256),
    "faiss": _faiss,
}


@pytest.fixture(params=sorted(FACTORIES))
def make(request: pytest.FixtureRequest) -> Factory:
    return FACTORIES[request.param]


def oracle(ids: IdArray, hashes: HashArray, q: HashArray, r: int) -> list[tuple[int, int]]:
    """Pure-Python Hamming distance: independent of every implementation's numpy tricks."""
    best: dict[int, int] = {}
    for i, row in zip(ids.tolist(), hashes, strict=True):
        d = sum(bin(int(a) ^ int(b)).count("1") for a, b in zip(row, q, strict=True))
        if d <= r and d < best.get(i, 10**9):
            best[i] = d
    return sorted(((i, d) for i, d in best.items()), key=lambda t: (t[1], t[0]))


def flip(rng: np.random.Generator, h: HashArray, k: int) -> HashArray:
    out = h.copy()
    for b in rng.choice(h.shape[0] * 64, size=k, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def clustered(rng: np.random.Generator, n: int, words: int, max_flip: int) -> HashArray:
    """Random hashes plus near copies of a few centres, so radius queries have real answers."""
    base = rng.integers(0, np.iinfo(np.uint64).max, size=(n, words), dtype=np.uint64, endpoint=True)
    centres = base[: max(1, n // 20)]
    for row in range(n // 2, n):
        c = centres[rng.integers(centres.shape[0])]
        base[row] = flip(rng, c, int(rng.integers(0, max_flip + 1)))
    return base


@pytest.mark.parametrize("bits", [64, 256])
def test_exact_against_oracle_on_clustered_data(make: Factory, bits: int) -> None:
    rng = np.random.default_rng(bits)
    n = 1500
    hashes = clustered(rng, n, bits // 64, max_flip=bits // 4)
    ids = rng.integers(0, 400, size=n).astype(np.int64)  # repeated ids: several hashes per reference
    index = make(bits)
    index.add(ids, hashes)
    assert len(index) == n
    for radius in (0, 1, 5, 8, 10, 12, 20, 31, bits // 2):
        for _ in range(4):
            q = flip(rng, hashes[rng.integers(n)], int(rng.integers(0, radius + 2)))
            assert index.search(q, radius) == oracle(ids, hashes, q, radius)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 700),
    radius=st.integers(0, 64),
    flips=st.integers(0, 20),
)
def test_mih_matches_brute_force(seed: int, n: int, radius: int, flips: int) -> None:
    rng = np.random.default_rng(seed)
    hashes = clustered(rng, n, 1, max_flip=16) if n else np.zeros((0, 1), dtype=np.uint64)
    ids = np.arange(n, dtype=np.int64)
    mih = MultiIndexHashIndex.build(ids, hashes, 64, min_table_rows=64)
    flat = FlatHashIndex(64)
    flat.add(ids, hashes)
    q = flip(rng, hashes[rng.integers(n)], flips) if n else np.zeros(1, dtype=np.uint64)
    assert mih.search(q, radius) == flat.search(q, radius) == oracle(ids, hashes, q, radius)


def test_add_one_at_a_time_then_remove(make: Factory) -> None:
    rng = np.random.default_rng(1)
    hashes = clustered(rng, 600, 1, max_flip=6)
    index = make(64)
    for i, h in enumerate(hashes):
        index.add(np.array([i]), h.reshape(1, 1))
    q = hashes[7]
    before = index.search(q, 8)
    assert (7, 0) in before
    removed = index.remove(np.array([7, 8, 9_999]))  # 9_999 was never added
    assert removed == 2
    assert len(index) == 598
    after = index.search(q, 8)
    assert all(i not in (7, 8) for i, _ in after)
    assert after == [p for p in before if p[0] not in (7, 8)]
    assert index.remove(np.array([7])) == 0


def test_remove_every_hash_of_a_reference(make: Factory) -> None:
    rng = np.random.default_rng(2)
    hashes = clustered(rng, 400, 1, max_flip=4)
    ids = np.repeat(np.arange(100, dtype=np.int64), 4)
    index = make(64)
    index.add(ids, hashes)
    assert index.remove(np.array([5])) == 4
    for h in hashes[20:24]:
        assert all(i != 5 for i, _ in index.search(h, 64))


def test_bulk_remove_triggers_compaction_and_stays_exact() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    hashes = clustered(rng, n, 1, max_flip=10)
    ids = np.arange(n, dtype=np.int64)
    for index in (FlatHashIndex(64), MultiIndexHashIndex.build(ids, hashes, 64, min_table_rows=256)):
        if isinstance(index, FlatHashIndex):
            index.add(ids, hashes)
        gone = ids[: n // 2]
        assert index.remove(gone) == n // 2
        assert len(index) == n - n // 2
        keep = ids >= n // 2
        for q in hashes[:: n // 10]:
            assert index.search(q, 12) == oracle(ids[keep], hashes[keep], q, 12)


def test_save_load_round_trip(make: Factory, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    hashes = clustered(rng, 900, 4, max_flip=40)
    ids = np.arange(900, dtype=np.int64)
    index = make(256)
    index.add(ids, hashes)
    index.remove(np.array([3, 4]))
    path = tmp_path / "index.bin"
    index.save(path)
    loaded = load_index(path)
    assert type(loaded) is type(index)
    assert loaded.bits == 256
    assert len(loaded) == len(index)
    for q in hashes[::97]:
        assert loaded.search(q, 31) == index.search(q, 31)
    loaded.add(np.array([10_000]), hashes[:1])
    assert (10_000, 0) in loaded.search(hashes[0], 0)


def test_mih_load_does_not_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import screening.image.index as mod

    rng = np.random.default_rng(5)
    hashes = clustered(rng, 3000, 1, max_flip=8)
    index = MultiIndexHashIndex.build(np.arange(3000), hashes, 64, min_table_rows=256)
    index.save(tmp_path / "i")

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("load must read the saved tables, not re-sort")

    monkeypatch.setattr(mod, "_build_tables", no_build)
    loaded = MultiIndexHashIndex.load(tmp_path / "i")
    assert loaded.block_widths == index.block_widths
    assert loaded.search(hashes[0], 10) == index.search(hashes[0], 10)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip at all", b"PK\x03\x04truncated"],
)
def test_load_garbage_is_a_format_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    for loader in (load_index, FlatHashIndex.load, MultiIndexHashIndex.load):
        with pytest.raises(IndexFormatError):
            loader(path)


def test_load_truncated_and_wrong_kind(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    hashes = clustered(rng, 1000, 1, max_flip=8)
    index = MultiIndexHashIndex.build(np.arange(1000), hashes, 64, min_table_rows=256)
    path = tmp_path / "i"
    index.save(path)
    with pytest.raises(IndexFormatError, match="not a"):
        FlatHashIndex.load(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexFormatError):
        MultiIndexHashIndex.load(path)


def test_bad_input_is_rejected_clearly(make: Factory) -> None:
    index = make(64)
    with pytest.raises(HashIndexError, match="uint64"):
        index.add(np.array([1]), np.array([[1]], dtype=np.int64))  # type: ignore[arg-type]
    with pytest.raises(HashIndexError, match="shape"):
        index.add(np.array([1]), np.zeros((1, 4), dtype=np.uint64))
    with pytest.raises(HashIndexError, match="non-negative"):
        index.add(np.array([-1]), np.zeros((1, 1), dtype=np.uint64))
    with pytest.raises(HashIndexError, match="ids"):
        index.add(np.array([1, 2]), np.zeros((1, 1), dtype=np.uint64))
    with pytest.raises(HashIndexError, match="radius"):
        index.search(np.zeros(1, dtype=np.uint64), 65)
    with pytest.raises(HashIndexError):
        FlatHashIndex(63)


def test_every_implementation_satisfies_the_protocol(make: Factory) -> None:
    assert isinstance(make(64), HashIndex)


def test_mih_memory_stays_within_four_times_raw() -> None:
    rng = np.random.default_rng(7)
    n = 1 << 20  # the ratio only settles once tables are sized for the data (goal: at 10M)
    hashes = rng.integers(0, np.iinfo(np.uint64).max, size=(n, 1), dtype=np.uint64, endpoint=True)
    index = MultiIndexHashIndex.build(np.arange(n), hashes, 64)
    # ids (8 bytes a row) are counted too: the tables themselves are about 1.4x the raw hashes.
    assert index.memory_bytes() <= 4 * hashes.nbytes


def test_large_radius_falls_back_to_exact_scan() -> None:
    rng = np.random.default_rng(8)
    hashes = clustered(rng, 2000, 1, max_flip=30)
    ids = np.arange(2000, dtype=np.int64)
    index = MultiIndexHashIndex.build(ids, hashes, 64, min_table_rows=256)
    q = hashes[3]
    assert index.search(q, 40) == oracle(ids, hashes, q, 40)
    assert len(index.search(q, 64)) == 2000


def test_mih_save_keeps_pending_adds_and_tombstones(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    hashes = clustered(rng, 1200, 1, max_flip=8)
    index = MultiIndexHashIndex.build(np.arange(1000), hashes[:1000], 64, min_table_rows=256)
    for i in range(1000, 1010):
        index.add(np.array([i]), hashes[i : i + 1])
    assert index.remove(np.array([1, 2, 1005])) == 3
    index.save(tmp_path / "i")
    loaded = MultiIndexHashIndex.load(tmp_path / "i")
    assert len(loaded) == len(index) == 1007
    ids = np.arange(1010)
    keep = ~np.isin(ids, [1, 2, 1005])
    for q in hashes[:1010:50]:
        assert loaded.search(q, 10) == oracle(ids[keep], hashes[:1010][keep], q, 10)
    loaded.compact()
    assert len(loaded) == 1007
    assert loaded.search(hashes[1009], 0) == [(1009, 0)]


@pytest.mark.parametrize("field", ["perm_1", "offsets_0", "blocks", "ids"])
def test_load_rejects_tables_that_would_break_queries(tmp_path: Path, field: str) -> None:
    rng = np.random.default_rng(10)
    hashes = clustered(rng, 2000, 1, max_flip=8)
    MultiIndexHashIndex.build(np.arange(2000), hashes, 64, min_table_rows=256).save(tmp_path / "i")
    with np.load(tmp_path / "i") as data:
        arrays = {k: data[k] for k in data.files}
    bad = arrays[field].copy()
    if field == "blocks":
        bad[0, 2] = 40  # a 2^40-entry table
    elif field == "ids":
        bad = bad[:-1]
    else:
        bad[len(bad) // 2] = bad.max() + 10_000
    arrays[field] = bad
    with (tmp_path / "bad").open("wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(IndexFormatError):
        MultiIndexHashIndex.load(tmp_path / "bad")


def test_searches_during_adds_and_merges_never_lose_rows() -> None:
    rng = np.random.default_rng(11)
    hashes = clustered(rng, 1500, 1, max_flip=8)
    index = MultiIndexHashIndex(64, merge_threshold=32, min_table_rows=128)
    index.add(np.arange(300), hashes[:300])
    stop = threading.Event()
    misses: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            for probe in (0, 150, 299):
                if (probe, 0) not in index.search(hashes[probe], 0):
                    misses.append(probe)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(300, 1500):  # ~37 merges while the reader runs
            index.add(np.array([i]), hashes[i : i + 1])
    finally:
        stop.set()
        t.join(timeout=60)
    assert misses == []
    assert len(index) == 1500
