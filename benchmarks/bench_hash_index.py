"""Claim: multi-index hashing answers exact Hamming-radius queries over 10^7 hashes in <= 1 ms median.

Side by side in one run over the same hashes: our MultiIndexHashIndex, the numpy brute-force popcount
scan (FlatHashIndex) and FAISS IndexBinaryFlat range search (when faiss-cpu, the `bench` extra, is
installed); every query's results are checked equal across implementations.

    .venv/bin/python benchmarks/bench_hash_index.py            # 10M 64-bit, radii 8/10/12; 10M 256-bit r=31
    .venv/bin/python benchmarks/bench_hash_index.py --quick    # 1M
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from screening.image.index import (
    FaissBinaryIndex,
    FaissUnavailable,
    FlatHashIndex,
    MultiIndexHashIndex,
)
from screening.image.index_base import HashArray, HashIndex


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def random_hashes(rng: np.random.Generator, n: int, words: int) -> HashArray:
    return rng.integers(0, np.iinfo(np.uint64).max, size=(n, words), dtype=np.uint64, endpoint=True)


def flip(rng: np.random.Generator, h: HashArray, k: int) -> HashArray:
    out = h.copy()
    bits = h.shape[0] * 64
    for b in rng.choice(bits, size=k, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def run(bits: int, n: int, radii: list[int], n_queries: int, seed: int) -> None:
    words = bits // 64
    rng = np.random.default_rng(seed)
    print(f"\n== {n:,} random {bits}-bit hashes, {n_queries} queries per radius ==")
    hashes = random_hashes(rng, n, words)
    ids = np.arange(n, dtype=np.int64)
    # Planted near neighbours: the first half of the queries each have 5 stored variants at
    # distances spread over 0..max radius, so results are non-empty and exactness is tested at
    # the radius boundary; the other half are fresh random hashes (the common "clear" case).
    rmax = max(radii)
    n_planted = n_queries // 2
    queries = random_hashes(rng, n_queries, words)
    plant_rows = rng.choice(n, size=5 * n_planted, replace=False)
    for qi in range(n_planted):
        for k, row in enumerate(plant_rows[5 * qi : 5 * qi + 5]):
            dist = [0, rmax // 2, rmax - 1, rmax, rmax + 1][k]
            hashes[row] = flip(rng, queries[qi], min(dist, bits))
    raw = hashes.nbytes
    print(f"raw hashes: {raw / 2**20:.0f} MiB")

    impls: dict[str, HashIndex] = {}
    mem: dict[str, tuple[int, int]] = {}

    gc.collect()
    before = rss_bytes()
    t_build = time.perf_counter()
    flat = FlatHashIndex(bits)
    flat.add(ids, hashes)
    impls["numpy flat scan"] = flat
    mem["numpy flat scan"] = (flat.memory_bytes(), rss_bytes() - before)
    print(f"build numpy flat: {time.perf_counter() - t_build:.1f} s")

    gc.collect()
    before = rss_bytes()
    t_build = time.perf_counter()
    mih = MultiIndexHashIndex.build(ids, hashes, bits)
    gc.collect()
    impls["MIH (ours)"] = mih
    mem["MIH (ours)"] = (mih.memory_bytes(), rss_bytes() - before)
    print(f"build MIH: {time.perf_counter() - t_build:.1f} s, blocks {mih.block_widths}")

    try:
        gc.collect()
        before = rss_bytes()
        t_build = time.perf_counter()
        fa = FaissBinaryIndex(bits)
        fa.add(ids, hashes)
        impls["FAISS IndexBinaryFlat"] = fa
        mem["FAISS IndexBinaryFlat"] = (fa.memory_bytes(), rss_bytes() - before)
        print(f"build FAISS: {time.perf_counter() - t_build:.1f} s")
    except FaissUnavailable:
        print("FAISS: not installed (pip install -e '.[bench]'), skipped")
    del hashes

    print(f"\n{'implementation':<24}{'own bytes':>12}{'x raw':>8}{'RSS delta':>12}")
    for name, (own, rss) in mem.items():
        print(f"{name:<24}{own / 2**20:>9.0f} MiB{own / raw:>7.2f}x{rss / 2**20:>9.0f} MiB")

    for r in radii:
        times: dict[str, list[float]] = {name: [] for name in impls}
        nonempty = 0
        for qi in range(n_queries):
            q = queries[qi]
            results = {}
            for name, impl in impls.items():
                t0 = time.perf_counter()
                results[name] = impl.search(q, r)
                times[name].append(time.perf_counter() - t0)
            first = next(iter(results.values()))
            for name, res in results.items():
                if res != first:
                    raise SystemExit(f"MISMATCH at radius {r}, query {qi}: {name} differs")
            nonempty += bool(first)
        base = statistics.median(times["numpy flat scan"])
        print(f"\nradius {r}: results identical across {len(impls)} implementations ({nonempty} non-empty)")
        print(f"{'implementation':<24}{'median ms':>10}{'p99 ms':>10}{'flat/this':>10}")
        for name, ts in times.items():
            med = statistics.median(ts)
            print(f"{name:<24}{med * 1e3:>10.3f}{pct(ts, 99) * 1e3:>10.3f}{base / med:>9.1f}x")
        if "FAISS IndexBinaryFlat" in times:
            ratio = statistics.median(times["FAISS IndexBinaryFlat"]) / statistics.median(times["MIH (ours)"])
            print(f"MIH vs FAISS IndexBinaryFlat: {ratio:.1f}x faster (median)")

    maintenance(mih, flat, bits, rng)


def maintenance(mih: MultiIndexHashIndex, flat: FlatHashIndex, bits: int, rng: np.random.Generator) -> None:
    """Cost of keeping the index current: one reference added, one removed, save and load."""
    words = bits // 64
    n = len(mih)
    print(f"\nmaintenance at n={n:,} (MIH; flat for comparison)")
    impls: tuple[tuple[str, HashIndex], ...] = (("MIH", mih), ("flat", flat))
    for name, impl in impls:
        adds = []
        for i in range(200):
            h = random_hashes(rng, 1, words)
            t0 = time.perf_counter()
            impl.add(np.array([n + 10 + i]), h)
            adds.append(time.perf_counter() - t0)
        removes = []
        for i in range(20):
            t0 = time.perf_counter()
            impl.remove(np.array([i * 7919]))
            removes.append(time.perf_counter() - t0)
        print(
            f"{name:<6} add one: median {statistics.median(adds) * 1e6:.0f} us;"
            f" remove one id: median {statistics.median(removes) * 1e3:.1f} ms"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mih.npz"
        t_save = timed(lambda: mih.save(path))
        size = path.stat().st_size
        t0 = time.perf_counter()
        loaded = MultiIndexHashIndex.load(path)
        t_load = time.perf_counter() - t0
        assert len(loaded) == len(mih)
    print(
        f"MIH save (tables + pending adds + tombstones, no re-sort): {t_save:.1f} s, load: {t_load:.1f} s,"
        f" file {size / 2**20:.0f} MiB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1M hashes instead of 10M")
    ap.add_argument("--n", type=int, default=None, help="number of hashes (overrides --quick)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-256", action="store_true", help="skip the 256-bit (PDQ) run")
    ap.add_argument("--only-256", action="store_true", help="only the 256-bit (PDQ) run")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--faiss-threads",
        type=int,
        default=1,
        help="OpenMP threads for FAISS; 1 is its fastest single-query setting on this shared 2-core box",
    )
    args = ap.parse_args()
    try:
        import faiss

        faiss.omp_set_num_threads(args.faiss_threads)
        print(f"faiss {faiss.__version__}, {args.faiss_threads} OpenMP thread(s)")
    except ImportError:
        pass
    n = args.n or (1_000_000 if args.quick else 10_000_000)
    cpu = platform.processor() or platform.machine()
    print(f"machine: {platform.platform()} | {cpu} | cores {os.cpu_count()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    print("note: other CPU-heavy jobs may share this machine; numbers are indicative")
    if not args.only_256:
        run(64, n, [8, 10, 12], args.queries, args.seed)
    if not args.no_256:
        run(256, n, [31], args.queries, args.seed + 1)


if __name__ == "__main__":
    main()
