"""Hashing a 12-megapixel JPEG: our pipeline vs `imagehash.phash(Image.open(f))` vs the decode floor.

The floor is a DCT-scaled decode of the same file alone (Pillow `draft` at the scale our pipeline uses):
entropy decoding cannot be skipped, so no pipeline can beat it. Goals: >= 3x faster than the naive
call and <= 1.15x the floor, on one core. Files (~2 MB and ~4 MB) are generated here, deterministically.
  .venv/bin/python benchmarks/bench_image_hashing.py [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import io
import platform
import statistics
import time
from collections.abc import Callable

import imagehash
import numpy as np
from PIL import Image

from screening.image.hashing import WORK_SIDE, image_hashes


def photo(w: int, h: int, noise: float, seed: int) -> Image.Image:
    """A photo-like image: smooth colour field, a few shapes, sensor noise (noise sets the JPEG size)."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (h // 200, w // 200, 3)).astype(np.uint8)
    base = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
    base += rng.normal(0, noise, (h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def jpeg_near(target_mb: float, w: int, h: int, seed: int, subsampling: int = 2) -> bytes:
    """A JPEG of about target_mb; subsampling 2 = 4:2:0 chroma (most cameras and phones), 0 = 4:4:4."""
    best = b""
    for noise in (1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 13.0, 18.0):
        buf = io.BytesIO()
        photo(w, h, noise, seed).save(buf, format="JPEG", quality=85, subsampling=subsampling)
        data = buf.getvalue()
        if not best or abs(len(data) / 1e6 - target_mb) < abs(len(best) / 1e6 - target_mb):
            best = data
        if len(data) / 1e6 > target_mb:
            break
    return best


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="3 MP files and fewer repeats")
    args = ap.parse_args()
    w, h = (2000, 1500) if args.quick else (4000, 3000)
    repeat = 5 if args.quick else 15
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores")
    print("one core; other work on the machine makes these numbers noisy\n")
    print(f"{'file':>22} | {'naive phash':>11} | {'floor':>8} | {'ours':>8} | naive/ours | ours/floor")
    # 4:4:4 keeps full-resolution chroma: three full planes to inverse-transform in a full decode, which
    # a DCT-scaled decode skips -- so the gap between the naive call and the floor depends on it.
    for target, subsampling in ((2.0, 2), (4.0, 2), (4.0, 0)):
        data = jpeg_near(
            target * (0.25 if args.quick else 1.0), w, h, seed=int(target), subsampling=subsampling
        )

        def naive(data: bytes = data) -> object:
            return imagehash.phash(Image.open(io.BytesIO(data)))

        def floor(data: bytes = data) -> object:
            im = Image.open(io.BytesIO(data))
            im.draft("RGB", (WORK_SIDE, WORK_SIDE))
            im.load()
            return im

        def ours(data: bytes = data) -> object:
            return image_hashes(data)

        t_naive, t_floor, t_ours = timed(naive, repeat), timed(floor, repeat), timed(ours, repeat)
        name = f"{w}x{h} {len(data) / 1e6:.1f}MB {'4:4:4' if subsampling == 0 else '4:2:0'}"
        print(
            f"{name:>22} | {t_naive:9.1f}ms | {t_floor:6.1f}ms | {t_ours:6.1f}ms | "
            f"{t_naive / t_ours:9.2f}x | {t_ours / t_floor:9.2f}x"
        )
    print("\ngoal: naive/ours >= 3x, ours/floor <= 1.15x (median of runs)")


if __name__ == "__main__":
    main()
