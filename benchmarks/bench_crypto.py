"""Claim: the segmented object format encrypts+decrypts at >= 60% of one raw AES-256-GCM call.

Side by side in one run over the same bytes: one `AESGCM.encrypt` + `AESGCM.decrypt` of the whole
payload (the ceiling: no segmentation, no key derivation, no streaming) against `encrypt_stream` +
`decrypt_stream` with 1 MiB segments. Best of N repetitions each, interleaved, to damp the noise of a
shared machine. A third line streams the plaintext in 64 KiB chunks (an HTTP upload's shape), for info.

    .venv/bin/python benchmarks/bench_crypto.py            # 1 MiB and 64 MiB
    .venv/bin/python benchmarks/bench_crypto.py --quick    # 1 MiB and 8 MiB
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from customization_vault._crypto import DEFAULT_SEGMENT_SIZE, ObjectContext, decrypt_stream, encrypt_stream
from customization_vault.keys.base import DataKey

MIB = 1 << 20
GOAL = 0.60


def best_of(reps: int, fn: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(reps):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(size: int, reps: int) -> tuple[float, float, float]:
    data = os.urandom(size)
    raw_key, nonce = AESGCM(os.urandom(32)), os.urandom(12)
    dek, ctx = DataKey(os.urandom(32)), ObjectContext("tenant", "order", "object")

    def raw() -> None:
        ct = raw_key.encrypt(nonce, data, None)
        pt = raw_key.decrypt(nonce, ct, None)
        assert len(pt) == size

    def ours(chunks: list[bytes]) -> Callable[[], None]:
        def go() -> None:
            sealed = list(encrypt_stream(dek, ctx, chunks, segment_size=DEFAULT_SEGMENT_SIZE))
            n = sum(len(p) for p in decrypt_stream(dek, ctx, sealed))
            assert n == size

        return go

    whole = ours([data])
    streamed = ours([data[i : i + 64 * 1024] for i in range(0, size, 64 * 1024)])
    # Interleave the contenders so a burst of load from other processes hits them alike.
    t_raw = t_ours = t_stream = float("inf")
    for _ in range(reps):
        t_raw = min(t_raw, best_of(1, raw))
        t_ours = min(t_ours, best_of(1, whole))
        t_stream = min(t_stream, best_of(1, streamed))
    return t_raw, t_ours, t_stream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 MiB and 8 MiB, fewer repetitions")
    args = parser.parse_args()
    sizes = [(1 * MIB, 30), (8 * MIB, 5)] if args.quick else [(1 * MIB, 60), (64 * MIB, 7)]

    print(
        f"machine: {platform.platform()} | {platform.machine()} | cores={os.cpu_count()}"
        f" | load {os.getloadavg()[0]:.1f}"
    )
    print("GB/s = plaintext bytes / (encrypt + decrypt time), best of N; other jobs share this machine.")
    print(f"{'payload':>8} {'raw AESGCM':>11} {'ours':>8} {'ratio':>6} {'ours 64K-chunked':>17} {'ratio':>6}")
    ok = True
    for size, reps in sizes:
        t_raw, t_ours, t_stream = run(size, reps)
        gbps = [size / t / 1e9 for t in (t_raw, t_ours, t_stream)]
        ratio, ratio_stream = t_raw / t_ours, t_raw / t_stream
        ok &= ratio >= GOAL
        print(
            f"{size // MIB:>6}MiB {gbps[0]:>9.2f}   {gbps[1]:>6.2f}   {ratio:>5.0%}"
            f" {gbps[2]:>15.2f}   {ratio_stream:>5.0%}"
        )
    print(f"goal: ours >= {GOAL:.0%} of raw -> {'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
