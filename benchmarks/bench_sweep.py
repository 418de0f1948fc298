"""Claim: the reconciliation sweep scales out with workers and linearly with the backlog.

A backlog of N due orders (fulfilled, purge not yet run; 3 items each, every blob a real versioned object
in S3 on moto_server) on PostgreSQL (pgserver) is swept by 1 and by 4 worker processes; printed: wall
time and orders/s side by side, the 4-vs-1 speedup, and how time grows from the smallest to the largest
backlog (linear means the ratio equals the size ratio). moto_server is one Python thread pool under one
GIL (about 5 ms of CPU per request here): it, not the workers, bounds S3 throughput, so the speedup is a
floor for real S3, where the concurrent listings of a batch overlap network latency instead.

    .venv/bin/python benchmarks/bench_sweep.py                    # 10,000 and 100,000 orders (~1 h here)
    .venv/bin/python benchmarks/bench_sweep.py --quick            # 200 and 1,000 orders
    .venv/bin/python benchmarks/bench_sweep.py --sizes 1000,5000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from api.settings import Settings  # noqa: E402
from api.wiring import build_services  # noqa: E402
from customization_vault.catalog.models import Order  # noqa: E402
from tests.fixtures_pg import fresh_pg_database  # noqa: E402
from tests.retention.seed import seed_fulfilled  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from moto_indexed import patch_moto  # noqa: E402

AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(*, stock: bool) -> tuple[Any, str]:
    """moto_server in a thread of this process: workers reach it over HTTP like real S3, while the
    backlog is seeded straight into its in-memory backend (300,000 PutObject round trips through
    moto's HTTP layer would take half an hour here, and seeding is not what is measured)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a log line per request costs CPU here
    if not stock:
        patch_moto()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def moto_put(bucket: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    return lambda key, data: backend.put_object(bucket, key, data)


def child(name: str, go: Path) -> None:
    """One worker process: build, wait for the barrier, sweep until nothing is due, report JSON."""
    from api.commands.retention import receipt_signer
    from retention.purge import Purger
    from retention.worker import PurgeWorker

    settings = Settings()
    svc = build_services(settings, migrate_db=False)
    purger = Purger(svc.vault, receipt_signer(settings), config=settings.retention)
    batch_seconds: list[float] = []
    run_batch = purger.run_batch

    def timed_batch(order_ids: Any, *, actor: str) -> Any:
        t0 = time.perf_counter()
        try:
            return run_batch(order_ids, actor=actor)
        finally:
            batch_seconds.append(time.perf_counter() - t0)

    purger.run_batch = timed_batch  # type: ignore[method-assign]
    worker = PurgeWorker(purger, name=name)
    Path(f"{go}.{name}").write_text("ready")
    while not go.exists():
        time.sleep(0.005)
    report = worker.run_once(maintenance=False)
    print(json.dumps({**asdict(report), "batch_seconds": batch_seconds}))
    svc.close()


def run_case(n: int, workers: int, pg_server: str, moto: str, tmp: Path) -> dict[str, Any]:
    env = {
        **AWS,
        "CV_ENVIRONMENT": "test",
        "CV_BOOTSTRAP_DEMO": "false",
        "CV_DATA_DIR": str(tmp / f"var-{n}-{workers}"),
        "CV_DATABASE__URL": fresh_pg_database(pg_server, prefix="bench"),
        "CV_STORAGE__BACKEND": "s3",
        "CV_STORAGE__S3_BUCKET": f"bench-{uuid.uuid4().hex[:10]}",
        "CV_STORAGE__S3_ENDPOINT_URL": moto,
        "CV_RETENTION__SWEEP_BATCH_SIZE": "100",
    }
    os.environ.update(env)
    settings = Settings()
    svc = build_services(settings)  # migrates, creates the versioned bucket
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    bucket = str(settings.storage.s3_bucket)
    t0 = time.perf_counter()
    seed_fulfilled(svc.catalog.engine, svc.clock(), n, items_per_order=3, put_blob=moto_put(bucket))
    seeded = time.perf_counter() - t0

    go = tmp / f"go-{n}-{workers}"
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", f"w{i}", str(go)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
        )
        for i in range(workers)
    ]
    while not all(Path(f"{go}.w{i}").exists() for i in range(workers)):
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a worker died while starting")
        time.sleep(0.02)
    t0 = time.perf_counter()
    go.write_text("go")
    reports = []
    for p in procs:
        out, _ = p.communicate()
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    wall = time.perf_counter() - t0

    with svc.catalog.engine.connect() as conn:
        left = conn.execute(
            select(func.count()).select_from(Order).where(Order.state != "purged")
        ).scalar_one()
    versions = s3.list_object_versions(Bucket=bucket, MaxKeys=10)
    leftover = len(versions.get("Versions", [])) + len(versions.get("DeleteMarkers", []))
    svc.close()
    return {
        "orders": n,
        "workers": workers,
        "seed_s": seeded,
        "wall_s": wall,
        "orders_per_s": n / wall,
        "purged": sum(r["purged"] for r in reports),
        "failed": sum(r["failed"] for r in reports),
        "left_unpurged": left,
        "left_blob_versions": leftover,
        # Mean seconds per batch over the first and the last tenth of the sweep: equal if a batch costs
        # the same whatever the backlog (linear), rising if something grows with it.
        "batch_s_first_tenth": _tenth(reports, first=True),
        "batch_s_last_tenth": _tenth(reports, first=False),
    }


def _tenth(reports: list[dict[str, Any]], *, first: bool) -> float:
    """Mean batch time over each worker's first (or last) tenth of its batches, averaged over workers."""
    means = []
    for r in reports:
        samples = r["batch_seconds"]
        k = max(1, len(samples) // 10)
        part = samples[:k] if first else samples[-k:]
        if part:
            means.append(float(sum(part)) / len(part))
    return sum(means) / max(1, len(means))


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200 and 1,000 orders")
    ap.add_argument("--sizes", default=None, help="comma-separated backlog sizes (default 10000,100000)")
    ap.add_argument("--workers", default="1,4")
    ap.add_argument("--stock-moto", action="store_true", help="unpatched moto (O(bucket) version listing)")
    args = ap.parse_args()
    sizes = [int(x) for x in (args.sizes or ("200,1000" if args.quick else "10000,100000")).split(",")]
    worker_counts = [int(x) for x in args.workers.split(",")]

    import pgserver

    os.environ.update(AWS)
    with tempfile.TemporaryDirectory(prefix="cv-bench-sweep-") as tmpdir:
        tmp = Path(tmpdir)
        pg = pgserver.get_server(tmp / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
        pg_url = (
            make_url(pg.get_uri()).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        )
        moto, moto_url = start_moto(stock=args.stock_moto)
        results = []
        try:
            for n in sizes:
                for w in worker_counts:
                    r = run_case(n, w, pg_url, moto_url, tmp)
                    results.append(r)
                    print(
                        f"  {n:>7} orders, {w} worker(s): {r['wall_s']:8.1f} s"
                        f"  {r['orders_per_s']:7.1f} orders/s  (seeded in {r['seed_s']:.0f} s;"
                        f" failed {r['failed']}, left {r['left_unpurged']} orders /"
                        f" {r['left_blob_versions']} blob versions; s/batch first tenth"
                        f" {r['batch_s_first_tenth']:.2f}, last tenth {r['batch_s_last_tenth']:.2f})",
                        flush=True,
                    )
        finally:
            moto.stop()
            pg.cleanup()

    print()
    print(f"machine: {platform.platform()} / {platform.python_implementation()} {platform.python_version()}")
    print(f"cores: {os.cpu_count()} (workers, PostgreSQL and moto_server share them with other jobs: noisy)")
    moto_kind = "stock" if args.stock_moto else "folder-indexed ListObjectVersions, see patch_moto"
    print(
        f"backend: PostgreSQL (pgserver) + S3 on moto_server ({moto_kind}), versioned bucket, 3 blobs/order"
    )
    print()
    print(f"{'orders':>8} {'workers':>8} {'wall s':>9} {'orders/s':>9}")
    for r in results:
        print(f"{r['orders']:>8} {r['workers']:>8} {r['wall_s']:>9.1f} {r['orders_per_s']:>9.1f}")
    by = {(r["orders"], r["workers"]): r for r in results}
    print()
    for n in sizes:
        if (n, 1) in by and (n, 4) in by:
            speedup = by[(n, 1)]["wall_s"] / by[(n, 4)]["wall_s"]
            print(f"{n} orders: 4 workers vs 1 (baseline): {speedup:.2f}x faster")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for w in worker_counts:
            if (small, w) in by and (large, w) in by:
                growth = by[(large, w)]["wall_s"] / by[(small, w)]["wall_s"]
                linear = large / small
                print(f"{w} worker(s): {small} → {large} orders: time x{growth:.2f} (linear: x{linear:.2f})")


if __name__ == "__main__":
    main()
