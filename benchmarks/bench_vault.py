"""Whole-vault throughput and KMS calls.

1. put+get of 64 MiB objects through the Vault on the local store (SQLite catalog, local keyring)
   against writing (with fsync) and reading the same plaintext to the same directory unencrypted.
   Goal: >= 70% of that throughput.
2. KMS calls per order creation, upload and fetch, against a real `moto_server` over HTTP.
   Goal: the data key is unwrapped at most once per request that needs it.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api.settings import Settings
from api.wiring import build_services
from customization_vault.content import NewItem
from screening.findings import Verdict

MiB = 1 << 20


def stream(total: int, chunk: bytes) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(len(chunk), total - sent)
        yield chunk[:n]
        sent += n


def bench_throughput(size: int, rounds: int) -> None:
    chunk = os.urandom(MiB)
    with tempfile.TemporaryDirectory(dir=".") as d:
        settings = Settings(environment="test", data_dir=Path(d) / "var", bootstrap_demo=False)
        svc = build_services(settings)
        vault = svc.vault
        order, _ = vault.orders.create(vault.orders.ensure_seller("bench"), "bench-1", actor="bench")
        plain_dir = settings.blob_dir / "plain"
        plain_dir.mkdir(parents=True, exist_ok=True)
        ours, base = [], []
        for r in range(rounds):
            # baseline: the same bytes written (fsync) and read back, unencrypted, same directory
            t0 = time.perf_counter()
            p = plain_dir / f"obj{r}"
            with open(p, "wb") as f:
                for c in stream(size, chunk):
                    f.write(c)
                f.flush()
                os.fsync(f.fileno())
            with open(p, "rb") as f:
                while f.read(MiB):
                    pass
            base.append(time.perf_counter() - t0)
            p.unlink()
            t0 = time.perf_counter()
            item, _ = vault.content.put_item(
                order, stream(size, chunk), NewItem("image", "image/png", Verdict.of(())), actor="bench"
            )
            _, out = vault.content.open_item(order, item.id, actor="bench", purpose="bench")
            n = sum(len(c) for c in out)
            ours.append(time.perf_counter() - t0)
            assert n == size
        svc.close()
    tb, to = statistics.median(base), statistics.median(ours)
    gbs = lambda t: 2 * size / t / 1e9  # noqa: E731 - written and read
    print(
        f"put+get {size // MiB} MiB x{rounds}: plaintext file {gbs(tb):.2f} GB/s, "
        f"vault {gbs(to):.2f} GB/s -> {tb / to:.0%} of plaintext (goal >= 70%)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_kms_calls() -> None:
    port = free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    os.environ.update(
        {k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    )
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with tempfile.TemporaryDirectory(dir=".") as d:
            settings = Settings(
                environment="test",
                data_dir=Path(d) / "var",
                bootstrap_demo=False,
                keys={"backend": "kms", "kms_endpoint_url": f"http://127.0.0.1:{port}"},
            )
            svc = build_services(settings)
            calls: list[str] = []
            client: Any = svc.keys._kms  # type: ignore[attr-defined]
            client.meta.events.register("before-call.kms.*", lambda model, **_: calls.append(model.name))
            vault = svc.vault
            seller = vault.orders.ensure_seller("bench")
            vault.orders.create(seller, "warm", actor="b")  # first call per epoch resolves the alias
            rows = []
            for i in range(20):
                calls.clear()
                order, _ = vault.orders.create(seller, f"o{i}", actor="b")
                c_create = list(calls)
                calls.clear()
                item, _ = vault.content.put_item(
                    order, [b"x" * 1000], NewItem("text", "text/plain", Verdict.of(())), actor="b"
                )
                c_put = list(calls)
                calls.clear()
                _, out = vault.content.fetch_for_fulfilment(order, item.id, actor="b")
                b"".join(out)
                c_get = list(calls)
                rows.append((c_create, c_put, c_get))
            svc.close()
        c, p, g = rows[-1]
        print(
            f"KMS calls (moto_server over HTTP): create order {len(c)} {c}, upload {len(p)} {p}, "
            f"fetch {len(g)} {g}; max over 20 orders: upload {max(len(r[1]) for r in rows)}, "
            f"fetch {max(len(r[2]) for r in rows)} (goal: at most 1 Decrypt per request)"
        )
    finally:
        moto.terminate()
        moto.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    print(f"machine: {platform.platform()}, cores={os.cpu_count()}, python {platform.python_version()}")
    bench_throughput(16 * MiB if a.quick else 64 * MiB, 3 if a.quick else 5)
    bench_kms_calls()


if __name__ == "__main__":
    main()
