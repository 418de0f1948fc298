"""Claim: on the embedded default, a fulfilment call has crypto-shredded its order in p99 < 1 s.

For N orders of 3 items (text 200 B, image 300 KB, font 60 KB), the fulfilment path (`Purger.mark` then
`Purger.run`, as the API calls them) is timed from the call to (a) the shred committed, (b) every blob
deleted, (c) purged with a signed receipt. Baseline, same run, same data sizes: a bytes-first purge
(delete every blob, then the key), whose content is recoverable until its last blob is gone.

    .venv/bin/python benchmarks/bench_purge_latency.py            # 1,000 orders
    .venv/bin/python benchmarks/bench_purge_latency.py --quick    # 100 orders
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from api.settings import Settings
from api.wiring import build_services
from customization_vault.catalog import OrderView
from customization_vault.content import NewItem
from customization_vault.vault import Vault
from retention.config import RetentionConfig
from retention.purge import Purger
from retention.receipts import ReceiptSigner
from screening.findings import Verdict

ITEMS = (("text", "text/plain", 200), ("image", "image/png", 300_000), ("font", "font/ttf", 60_000))


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def seed(vault: Vault, n: int, tag: str) -> list[OrderView]:
    seller = vault.orders.ensure_seller(f"bench-{tag}")
    orders = []
    for i in range(n):
        order, _ = vault.orders.create(seller, f"{tag}-{i}", actor="bench")
        for kind, ctype, size in ITEMS:
            vault.content.put_item(
                order, [os.urandom(size)], NewItem(kind, ctype, Verdict.of(())), actor="bench"
            )
        orders.append(order)
    return orders


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 orders instead of 1,000")
    ap.add_argument("--orders", type=int, default=None)
    args = ap.parse_args()
    n = args.orders or (100 if args.quick else 1000)

    with tempfile.TemporaryDirectory(prefix="cv-bench-purge-") as tmp:
        settings = Settings(environment="test", data_dir=Path(tmp) / "var", bootstrap_demo=False)
        svc = build_services(settings)
        marks: dict[str, float] = {}

        def hook(step: int, phase: str) -> None:
            marks[f"{step}:{phase}"] = time.perf_counter()

        purger = Purger(
            svc.vault, ReceiptSigner.generate(), config=RetentionConfig(handoff_grace_seconds=0), on_step=hook
        )
        t_seed = time.perf_counter()
        ours = seed(svc.vault, n, "ours")
        base = seed(svc.vault, n, "base")
        t_seed = time.perf_counter() - t_seed

        shred, blobs, purged = [], [], []
        for order in ours:
            marks.clear()
            t0 = time.perf_counter()
            purger.mark(order, "fulfilled", actor="bench")
            report = purger.run(order.id, actor="bench")
            t_end = time.perf_counter()
            assert report.outcome == "purged", report
            shred.append(marks["2:committed"] - t0)
            blobs.append(marks["3:effect"] - t0)
            purged.append(t_end - t0)

        baseline = []
        plain = Purger(svc.vault, ReceiptSigner.generate(), config=RetentionConfig(handoff_grace_seconds=0))
        for order in base:
            t0 = time.perf_counter()
            plain.mark(order, "fulfilled", actor="bench")
            svc.vault.blobs.delete_many(
                svc.vault.content.blob_keys(order)
            )  # bytes first: recoverable until here
            baseline.append(time.perf_counter() - t0)
            with svc.vault.catalog.unit() as u:
                u.keys.delete([order.id])
        svc.close()

    ms = 1000.0
    print(f"machine: {platform.platform()} / {platform.python_implementation()} {platform.python_version()}")
    print(f"cores: {os.cpu_count()}  (shared with other jobs: numbers are noisy)")
    print(f"orders: {n} x 3 items (200 B, 300 KB, 60 KB); SQLite (WAL) + local files + local keyring")
    print(f"seeding {2 * n} orders took {t_seed:.1f} s")
    print()
    print(f"{'from the fulfilment call to':44s} {'p50 ms':>9s} {'p99 ms':>9s} {'max ms':>9s}")
    rows = [
        ("content unrecoverable: ours (shred committed)", shred),
        ("content unrecoverable: baseline (bytes first)", baseline),
        ("every blob deleted: ours", blobs),
        ("purged + signed receipt: ours", purged),
    ]
    for label, xs in rows:
        print(f"{label:44s} {pct(xs, 50) * ms:9.2f} {pct(xs, 99) * ms:9.2f} {max(xs) * ms:9.2f}")
    print()
    ratio = pct(baseline, 99) / pct(shred, 99)
    print(f"p99 time-to-unrecoverable, baseline / ours: {ratio:.2f}x")
    goal = pct(shred, 99) < 1.0
    print(f"goal p99 shred < 1 s: {'met' if goal else 'NOT met'} ({pct(shred, 99) * ms:.1f} ms)")


if __name__ == "__main__":
    main()
