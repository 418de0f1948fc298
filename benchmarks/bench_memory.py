"""Claim: encrypting+storing and reading+decrypting a 512 MiB object peaks < 64 MiB RSS above baseline.

Each scenario runs in a fresh child process that imports everything, records its RSS, resets the kernel's
high-water mark (/proc/self/clear_refs "5"), then streams the object from a generator into a
LocalBlobStore (encrypt_stream -> put) and back (get -> decrypt_stream), and reports VmHWM - baseline.
The baseline scenario does the same with the plaintext written and read unencrypted.

    .venv/bin/python benchmarks/bench_memory.py            # 512 MiB
    .venv/bin/python benchmarks/bench_memory.py --quick    # 64 MiB
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

MIB = 1 << 20
GOAL_MIB = 64


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(mode: str, size: int, directory: str) -> None:
    from customization_vault._crypto import ObjectContext, decrypt_stream, encrypt_stream
    from customization_vault.blobs.local import LocalBlobStore
    from customization_vault.keys.base import DataKey

    store = LocalBlobStore(directory)
    dek, ctx = DataKey(os.urandom(32)), ObjectContext("tenant", "order", "object")
    block = os.urandom(MIB)

    def source() -> Iterator[bytes]:
        # An upload's shape: many modest chunks, never the whole object.
        for i in range(0, size, 256 * 1024):
            yield block[i % MIB : i % MIB + 256 * 1024]

    baseline = _status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS, so import-time peaks do not count
        reset = True
    except OSError:
        reset = False
    t0 = time.perf_counter()
    if mode == "encrypted":
        written = store.put("t/o/x", encrypt_stream(dek, ctx, source()))
        read = sum(len(p) for p in decrypt_stream(dek, ctx, store.get("t/o/x")))
    else:
        written = store.put("t/o/x", source())
        read = sum(len(p) for p in store.get("t/o/x"))
    elapsed = time.perf_counter() - t0
    assert read == size, (read, size)
    peak = _status("VmHWM")
    print(json.dumps({"baseline": baseline, "peak": peak, "reset": reset, "written": written, "s": elapsed}))


def measure(mode: str, size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="cv-bench-mem-") as directory:
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(size), directory],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 MiB instead of 512 MiB")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "SIZE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    size = 64 * MIB if args.quick else 512 * MIB
    print(f"machine: {platform.platform()} | {platform.machine()} | cores={os.cpu_count()}")
    print(f"object: {size // MIB} MiB streamed in 256 KiB chunks through LocalBlobStore (put, then get)")
    rows = {mode: measure(mode, size) for mode in ("plaintext", "encrypted")}
    for mode, r in rows.items():
        above = (r["peak"] - r["baseline"]) / MIB
        print(
            f"{mode:>10}: peak {above:6.1f} MiB above baseline ({r['baseline'] / MIB:.0f} MiB), "
            f"{size / r['s'] / 1e6:7.0f} MB/s put+get{'' if r['reset'] else ' (HWM not reset)'}"
        )
    ours = (rows["encrypted"]["peak"] - rows["encrypted"]["baseline"]) / MIB
    print(f"goal: encrypted < {GOAL_MIB} MiB above baseline -> {'MET' if ours < GOAL_MIB else 'NOT MET'}")


if __name__ == "__main__":
    main()
