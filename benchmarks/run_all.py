"""Run every `benchmarks/bench_*.py` in turn (each prints its baseline, our number and the ratio).

`python benchmarks/run_all.py [--quick] [NAME ...]` — NAME filters by substring. A failing benchmark is
reported and the rest still run; the exit status is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*")
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    a = ap.parse_args()
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not a.names or any(n in p.name for n in a.names))
    print(
        f"# machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, cores={__import__('os').cpu_count()}"
    )
    failed = []
    for script in scripts:
        print(f"\n## {script.name}", flush=True)
        t0 = time.perf_counter()
        cmd = [sys.executable, str(script)] + (["--quick"] if a.quick else [])
        rc = subprocess.call(cmd, cwd=HERE.parent)
        print(f"({script.name}: {time.perf_counter() - t0:.1f} s, exit {rc})", flush=True)
        if rc != 0:
            failed.append(script.name)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
