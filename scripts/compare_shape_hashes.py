"""Which perceptual hash should nominate references? Each one computed on the same normalised shapes.

The screener decides by correlating 16x16 shapes; a 64-bit hash only nominates candidates within a
Hamming radius. This compares the candidates: pHash (DCT of the 32x32 shape, what the index keeps),
dHash and wHash (imagehash, on the same shape), and PDQ (256 bits, when the `pdqhash` package can be
imported; not a project dependency). For every positive query of an image eval set (see
shared/eval/images), the query's region proposals in their 8 orientations are hashed, and so is every
variant of every reference; a reference's distance is the least over those pairs. Printed per hash:

  * top-1 / top-5: the true reference is the nearest / among the 5 nearest references;
  * recall at budget: the share of queries whose true reference lies within the largest radius at which
    a query meets at most 1 wrong reference on average (the candidates verification must then reject).

    .venv/bin/python scripts/compare_shape_hashes.py --set /path/to/set-si16.37.0-s4242-dev
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from screening.image.decode import decode_image  # noqa: E402
from screening.image.hashing import (  # noqa: E402
    FINE_SIDE,
    WORK_SIDE,
    as_array,
    dihedral,
    phash64,
    reference_grids,
)
from screening.image.regions import propose  # noqa: E402

Grids = npt.NDArray[np.float32]
Hashes = npt.NDArray[np.uint64]  # (n, words): 1 word for 64-bit hashes, 4 for PDQ


def _pil(grid: npt.NDArray[np.float32]) -> Image.Image:
    return Image.fromarray((np.clip(grid, 0, 1) * 255).astype(np.uint8))


def _pack(bits: npt.NDArray[np.bool_]) -> Hashes:
    """(n, k*64) bools -> (n, k) uint64 words."""
    n, nbits = bits.shape
    words = bits.reshape(n, nbits // 64, 64).astype(np.uint64)
    weights = np.uint64(1) << np.arange(64, dtype=np.uint64)
    out: Hashes = (words * weights).sum(axis=2, dtype=np.uint64)
    return out


def h_phash(grids: Grids) -> Hashes:
    return phash64(grids).reshape(-1, 1)


def h_dhash(grids: Grids) -> Hashes:
    return _pack(np.stack([imagehash.dhash(_pil(g), 8).hash.reshape(-1) for g in grids]))


def h_whash(grids: Grids) -> Hashes:
    return _pack(np.stack([imagehash.whash(_pil(g), 8).hash.reshape(-1) for g in grids]))


def _pdq() -> Callable[[Grids], Hashes] | None:
    try:
        import pdqhash  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None

    def h_pdq(grids: Grids) -> Hashes:
        rows = []
        for g in grids:
            rgb = np.repeat((np.clip(g, 0, 1) * 255).astype(np.uint8)[:, :, None], 3, axis=2)
            rgb = np.asarray(Image.fromarray(rgb).resize((64, 64), Image.Resampling.BILINEAR))
            bits, _quality = pdqhash.compute(rgb)
            rows.append(np.asarray(bits, dtype=bool))
        return _pack(np.stack(rows))

    return h_pdq


def _distances(q: Hashes, r: Hashes) -> npt.NDArray[np.int64]:
    """(len(q), len(r)) Hamming distances."""
    out: npt.NDArray[np.int64] = np.bitwise_count(q[:, None, :] ^ r[None, :, :]).sum(axis=2).astype(np.int64)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, required=True, help="an image eval set directory")
    ap.add_argument("--limit", type=int, default=0, help="only the first N positive queries")
    args = ap.parse_args(argv)
    set_dir: Path = args.set
    refs = [json.loads(x) for x in (set_dir / "references.jsonl").read_text().splitlines() if x.strip()]
    manifest = [json.loads(x) for x in (set_dir / "manifest.jsonl").read_text().splitlines() if x.strip()]
    positives = [m for m in manifest if m.get("label")]
    if args.limit:
        positives = positives[: args.limit]

    ref_ids: list[str] = []
    ref_grids: list[Grids] = []
    for r in refs:
        grids = reference_grids(Image.open(set_dir / r["file"]).convert("RGB"))
        if grids is not None:
            ref_ids.append(r["ref_id"])
            ref_grids.append(grids)
    owner = np.repeat(np.arange(len(ref_ids)), [len(g) for g in ref_grids])
    all_ref_grids = np.concatenate(ref_grids).astype(np.float32)

    queries: list[tuple[str, str, Grids]] = []
    for m in positives:
        decoded = decode_image((set_dir / m["file"]).read_bytes(), target=FINE_SIDE)
        fine = as_array(decoded.image, FINE_SIDE) if max(decoded.image.size) > WORK_SIDE else None
        proposals = propose(as_array(decoded.image), fine)
        grids = [g for p in proposals for g in dihedral(p.grid)]
        if grids:
            queries.append((m["label"], m["transform"], np.stack(grids).astype(np.float32)))
    variants = len(all_ref_grids) // len(ref_ids)
    print(f"{len(queries)} positive queries, {len(ref_ids)} references x {variants} variants")

    hashers: dict[str, Callable[[Grids], Hashes]] = {"pHash": h_phash, "dHash": h_dhash, "wHash": h_whash}
    pdq = _pdq()
    if pdq is not None:
        hashers["PDQ (256)"] = pdq
    print("\n| hash | bits | top-1 | top-5 | radius at 1 wrong ref/query | recall there |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, fn in hashers.items():
        ref_h = fn(all_ref_grids)
        bits = 64 * ref_h.shape[1]
        true_d, wrong_d, top1, top5 = [], [], 0, 0
        for label, _transform, grids in queries:
            d = _distances(fn(grids), ref_h).min(axis=0)  # best query grid per reference variant
            per_ref = np.full(len(ref_ids), bits + 1, dtype=np.int64)
            np.minimum.at(per_ref, owner, d)
            t = ref_ids.index(label)
            order = np.argsort(per_ref, kind="stable")
            rank = int(np.flatnonzero(order == t)[0])
            top1 += rank == 0
            top5 += rank < 5
            true_d.append(int(per_ref[t]))
            wrong_d.append(np.delete(per_ref, t))
        true_arr = np.asarray(true_d)
        wrong = np.stack(wrong_d)
        best_r, best_recall = 0, 0.0
        for r in range(bits + 1):
            if float((wrong <= r).sum(axis=1).mean()) > 1.0:
                break
            best_r, best_recall = r, float((true_arr <= r).mean())
        n = len(queries)
        print(
            f"| {name} | {bits} | {top1 / n:.3f} | {top5 / n:.3f} | {best_r} | {best_recall:.3f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
