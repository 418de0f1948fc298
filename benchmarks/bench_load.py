"""Load: `serve --workers 4` and two screening `worker` processes on PostgreSQL (pgserver) and S3 + KMS
(moto_server, its version listing indexed by folder as real S3's is: `moto_indexed.py`; `--stock-moto`
for moto as shipped), driven for `--seconds` (default 300) at the highest rate that keeps the p99 of every
endpoint but uploads under 1 s, then verified.

Clients loop over a seller's day: create an order, upload a small PNG and an engraving text (one in
five names a mark the shipped lists flag for review), fetch what is clear, and fulfil
about half the orders. A reviewer claims and decides the flagged cases (approve or reject). A
step-up/back-off controller changes the number of concurrent clients every `--window` seconds: one
more while every endpoint's p99 in the window (uploads excluded) is under 1 s and nothing failed, one
fewer otherwise.

The verifier then checks: every acknowledged upload of an unfulfilled order whose item is released
fetches back byte-identical (images: as intake stores them, metadata stripped); every fulfilled order
is purged with a receipt that verifies under the service's public key; zero 5xx; the audit chain
verifies against its signed checkpoints. It prints the rate, p50/p99 per endpoint, errors, and each
process's RSS over time.

    .venv/bin/python benchmarks/bench_load.py [--seconds 300] [--window 15] [--max-clients 24]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from customization_vault.intake import strip_metadata  # noqa: E402
from customization_vault.intake.sniff import PNG  # noqa: E402
from retention.receipts import verify_receipt  # noqa: E402
from tests.processes import free_port, stop  # noqa: E402

CLI = [sys.executable, "-c", "from api.cli import main; main()"]
P99_GOAL = 1.0
UNTIMED = {"upload_image", "upload_text"}  # the goal excludes uploads (screening runs inside them)
FLAGGING = ("Adidass", "Starbuks", "Apple", "Lego")
WORDS = "happy birthday to the best grandma in the world with love from all of us forever".split()


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    lat: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    # endpoint -> problem code of each 4xx answer -> count: a 409 `case_closed` (the seller fulfilled
    # while the reviewer held the case) is the workflow working, a 409 `lease_conflict` would not be
    problems: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # order id -> [(item id, expected bytes)], and the orders fulfilled
    acked: dict[str, list[tuple[str, bytes]]] = field(default_factory=lambda: defaultdict(list))
    fulfilled: set[str] = field(default_factory=set)
    ops: int = 0

    def note(self, name: str, started: float, status: int) -> None:
        now = time.monotonic()
        with self.lock:
            self.lat[name].append((now, now - started))
            self.statuses[name][status] += 1
            self.ops += 1


def timed(
    stats: Stats, name: str, c: httpx.Client, method: str, url: str, **kw: Any
) -> httpx.Response | None:
    t = time.monotonic()
    try:
        r = c.request(method, url, **kw)
    except httpx.HTTPError as exc:
        with stats.lock:
            stats.errors[f"{name}: {type(exc).__name__}"] += 1
        return None
    stats.note(name, t, r.status_code)
    if 400 <= r.status_code < 500:
        try:
            code = str(r.json().get("code"))
        except ValueError:
            code = "not-json"
        with stats.lock:
            stats.problems[name][code] += 1
    return r


def png(rng: random.Random) -> bytes:
    w, h = rng.randint(120, 320), rng.randint(90, 240)
    im = Image.new("RGB", (w, h), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(40):
        im.putpixel((rng.randrange(w), rng.randrange(h)), (rng.randrange(256), 0, 255))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def seller_loop(
    base: str, key: str, stats: Stats, stop_at: list[float], active: threading.Event, seed: int
) -> None:
    rng = random.Random(seed)
    h = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=h, timeout=60) as c:
        while time.monotonic() < stop_at[0]:
            if not active.is_set():
                time.sleep(0.2)
                continue
            order = f"L-{uuid.uuid4().hex[:12]}"
            r = timed(stats, "create_order", c, "PUT", f"/v1/orders/{order}")
            if r is None or r.status_code not in (200, 201):
                continue
            image = png(rng)
            up = timed(
                stats,
                "upload_image",
                c,
                "POST",
                f"/v1/orders/{order}/items",
                files={"file": ("a.png", image, "image/png")},
            )
            items: list[tuple[str, bytes]] = []
            if up is not None and up.status_code == 201:
                items.append((up.json()["id"], strip_metadata(image, PNG).data))
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
            if rng.random() < 0.2:
                # Near-misses and dictionary-word marks go to review; an exact coined mark (Nike)
                # would be refused outright and give the reviewer nothing to do.
                text += " " + rng.choice(FLAGGING)
            tu = timed(
                stats,
                "upload_text",
                c,
                "POST",
                f"/v1/orders/{order}/items",
                json={"kind": "text", "text": text},
            )
            if tu is not None and tu.status_code == 201:
                items.append((tu.json()["id"], text.encode()))
            with stats.lock:
                stats.acked[order].extend(items)
            for item_id, _ in items:
                timed(stats, "fetch", c, "GET", f"/v1/orders/{order}/items/{item_id}/content")
            if rng.random() < 0.5:
                f = timed(stats, "fulfil", c, "POST", f"/v1/orders/{order}/fulfilment")
                if f is not None and f.status_code in (200, 202):
                    with stats.lock:
                        stats.fulfilled.add(order)


def reviewer_loop(base: str, key: str, stats: Stats, stop_at: list[float]) -> None:
    rng = random.Random(7)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        while time.monotonic() < stop_at[0]:
            r = timed(stats, "review_claim", c, "POST", "/v1/review/claims", json={})
            if r is None or r.status_code != 200:
                time.sleep(0.5)
                continue
            case = r.json()["case"]["id"]
            body = (
                {"decision": "approve"}
                if rng.random() < 0.7
                else {"decision": "reject", "reason": "trademark"}
            )
            timed(stats, "review_decide", c, "POST", f"/v1/review/cases/{case}/decision", json=body)


def rss_kib(pid: int) -> int:
    """RSS of a process and its children (uvicorn's workers are children of `serve`)."""
    total = 0
    pids = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(k) for k in kids]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--window", type=float, default=15)
    ap.add_argument("--max-clients", type=int, default=24)
    ap.add_argument("--start-clients", type=int, default=2)
    ap.add_argument(
        "--stock-moto",
        action="store_true",
        help="unpatched moto: its ListObjectVersions costs O(bucket), so purges slow as the run stores more",
    )
    args = ap.parse_args()

    import pgserver
    from sqlalchemy.engine import make_url

    from api.wiring import build_services
    from customization_vault.apikeys import Role
    from tests.conftest import make_settings
    from tests.fixtures_aws import FAKE_ENV
    from tests.fixtures_pg import fresh_pg_database

    os.environ.update(FAKE_ENV)
    tmp = Path(tempfile.mkdtemp(prefix="cv-load-"))
    with ExitStack() as stack:
        pg = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
        stack.callback(pg.cleanup)
        db_url = fresh_pg_database(
            make_url(pg.get_uri()).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        )
        moto_port = free_port()
        moto_log = (tmp / "moto.log").open("wb")
        moto = subprocess.Popen(
            [
                sys.executable,
                *(
                    ["-m", "moto.server"]
                    if args.stock_moto
                    else [str(Path(__file__).with_name("moto_indexed.py"))]
                ),
                *("-H", "127.0.0.1", "-p", str(moto_port)),
            ],
            stdout=moto_log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(stop, moto, 10)
        moto_url = f"http://127.0.0.1:{moto_port}"
        for _ in range(100):
            try:
                httpx.get(moto_url + "/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        bucket = f"cv-load-{uuid.uuid4().hex[:8]}"
        pem = (
            Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            .decode()
        )
        settings = make_settings(
            tmp / "setup",
            database={"url": db_url},
            storage={"backend": "s3", "s3_bucket": bucket, "s3_endpoint_url": moto_url},
            keys={"backend": "kms", "kms_endpoint_url": moto_url},
            signing={"receipt_key_pem": pem},
        )
        svc = build_services(settings)
        stack.callback(svc.close)
        sellers = [
            svc.api_keys.create(Role.FULFILMENT, seller_id=svc.vault.orders.ensure_seller(f"seller-{i}"))[0]
            for i in range(4)
        ]
        reviewer, _ = svc.api_keys.create(Role.REVIEWER)
        env = {
            **os.environ,
            "CV_ENVIRONMENT": "test",
            "CV_DATA_DIR": str(tmp / "var"),
            "CV_DATABASE__URL": db_url,
            "CV_STORAGE__BACKEND": "s3",
            "CV_STORAGE__S3_BUCKET": bucket,
            "CV_STORAGE__S3_ENDPOINT_URL": moto_url,
            "CV_KEYS__BACKEND": "kms",
            "CV_KEYS__KMS_ENDPOINT_URL": moto_url,
            "CV_SIGNING__RECEIPT_KEY_PEM": pem,
            "CV_BOOTSTRAP_DEMO": "false",
            "CV_RETENTION__WORKER_IN_PROCESS": "false",
            "CV_SCREENING__OCR": "false",
            "CV_SCREENING__PROCESSES": "1",
            "CV_SCREENING__JOB_POLL_SECONDS": "0.1",
            "CV_RETENTION__AUDIT_CHECKPOINT_INTERVAL_SECONDS": "30",
            "CV_LOG_LEVEL": "warning",
        }
        port = free_port()
        procs: dict[str, subprocess.Popen[bytes]] = {}
        for name, cmd in (
            ("serve", ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "4"]),
            ("worker0", ["worker", "--interval", "0.5"]),
            ("worker1", ["worker", "--interval", "0.5"]),
        ):
            with (tmp / f"{name}.log").open("wb") as fh:
                procs[name] = subprocess.Popen(CLI + cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
            stack.callback(stop, procs[name], 30)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs.values()):
                print((tmp / "serve.log").read_text()[-3000:])
                return 1
            time.sleep(0.5)
        time.sleep(5)  # the other uvicorn workers warm their engines
        moto_kind = (
            "stock" if args.stock_moto else "folder-indexed ListObjectVersions: benchmarks/moto_indexed.py"
        )
        print(
            f"load: serve --workers 4 + 2 workers, PostgreSQL (pgserver) + S3/KMS (moto_server, {moto_kind});"
            f" {args.seconds:.0f} s; logs in {tmp}"
        )

        stats = Stats()
        stop_at = [time.monotonic() + args.seconds]
        flags = [threading.Event() for _ in range(args.max_clients)]
        threads = [
            threading.Thread(
                target=seller_loop,
                args=(base, sellers[i % len(sellers)], stats, stop_at, flags[i], i),
                daemon=True,
            )
            for i in range(args.max_clients)
        ]
        threads.append(
            threading.Thread(target=reviewer_loop, args=(base, reviewer, stats, stop_at), daemon=True)
        )
        for t in threads:
            t.start()
        clients = args.start_clients
        for f in flags[:clients]:
            f.set()
        rss: list[tuple[float, dict[str, int]]] = []
        windows: list[tuple[float, int, float, float]] = []
        began = time.monotonic()
        last_ops = 0
        while time.monotonic() < stop_at[0]:
            w_start = time.monotonic()
            time.sleep(min(args.window, max(0.0, stop_at[0] - w_start)))
            now = time.monotonic()
            rss.append((now - began, {n: rss_kib(p.pid) for n, p in procs.items()}))
            with stats.lock:
                # The goal holds per endpoint: the worst one's p99 steers (an aggregate would let
                # a rare slow endpoint, fulfilment, hide among many fast fetches).
                recent = {
                    name: [d for (t, d) in v if t >= w_start]
                    for name, v in stats.lat.items()
                    if name not in UNTIMED
                }
                fails = sum(n for v in stats.statuses.values() for s, n in v.items() if s >= 500) + sum(
                    stats.errors.values()
                )
                ops = stats.ops
            p99s = {name: pct(v, 0.99) for name, v in recent.items() if v}
            worst = max(p99s, key=p99s.__getitem__, default="-")
            p99 = p99s.get(worst, 0.0)
            rate = (ops - last_ops) / max(now - w_start, 1e-9)
            last_ops = ops
            windows.append((now - began, clients, rate, p99))
            print(
                f"  t={now - began:5.0f}s clients={clients:2d} rate={rate:6.1f} req/s "
                f"worst p99 (non-upload)={p99:.3f}s ({worst})"
            )
            if p99 < P99_GOAL and fails == 0 and clients < args.max_clients:
                flags[clients].set()
                clients += 1
            elif (p99 >= P99_GOAL or fails) and clients > 1:
                clients -= 1
                flags[clients].clear()
        for t in threads:
            t.join(timeout=90)
        elapsed = time.monotonic() - began

        # ---------------------------------------------------------------------- the verifier
        verify = {
            "identical": 0,
            "mismatched": 0,
            "held_or_rejected": 0,
            "receipts_ok": 0,
            "receipts_bad": 0,
            "not_purged": 0,
        }
        keys_by_order: dict[str, str] = {}
        with httpx.Client(base_url=base, timeout=60) as c:
            public_key = c.get("/v1/receipts/public-key").text
            for s in sellers:
                for order in list(stats.acked):
                    if order in keys_by_order:
                        continue
                    if (
                        c.get(f"/v1/orders/{order}", headers={"Authorization": f"Bearer {s}"}).status_code
                        == 200
                    ):
                        keys_by_order[order] = s
            for order, items in stats.acked.items():
                h = {"Authorization": f"Bearer {keys_by_order.get(order, sellers[0])}"}
                if order in stats.fulfilled:
                    for _ in range(60):
                        r = c.post(f"/v1/orders/{order}/fulfilment", headers=h)
                        if r.status_code == 200:
                            break
                        time.sleep(1)
                    rec = c.get(f"/v1/orders/{order}/receipt", headers=h)
                    if rec.status_code != 200:
                        verify["not_purged"] += 1
                    elif verify_receipt(rec.json(), public_key):
                        verify["receipts_ok"] += 1
                    else:
                        verify["receipts_bad"] += 1
                    continue
                for item_id, expected in items:
                    got = c.get(f"/v1/orders/{order}/items/{item_id}/content", headers=h)
                    if got.status_code == 200:
                        verify["identical" if got.content == expected else "mismatched"] += 1
                    elif got.status_code in (409, 451):
                        verify["held_or_rejected"] += 1
                    else:
                        verify["mismatched"] += 1
        report = svc.verify_audit()

        # ---------------------------------------------------------------------- the report
        total_5xx = sum(n for v in stats.statuses.values() for s, n in v.items() if s >= 500)
        print(
            f"\nrun: {elapsed:.0f} s, {stats.ops} requests, {stats.ops / elapsed:.1f} req/s overall; "
            f"final clients {clients}"
        )
        best = max((w for w in windows if w[3] < P99_GOAL), key=lambda w: w[2], default=None)
        if best is not None:
            print(
                f"highest window rate with every p99 < {P99_GOAL:g} s: {best[2]:.1f} req/s "
                f"at {best[1]} clients (t={best[0]:.0f} s)"
            )
        print(f"{'endpoint':15} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
        for name in sorted(stats.lat):
            d = [x for _, x in stats.lat[name]]
            st = ", ".join(f"{s}:{n}" for s, n in sorted(stats.statuses[name].items()))
            if stats.problems[name]:
                st += " (" + ", ".join(f"{c}:{n}" for c, n in sorted(stats.problems[name].items())) + ")"
            print(f"{name:15} {len(d):7d} {pct(d, 0.5) * 1000:8.1f} {pct(d, 0.99) * 1000:8.1f}  {st}")
        print(f"transport errors: {dict(stats.errors) or 0}; 5xx: {total_5xx}")
        print(
            f"verifier: {verify}; audit chain: {'intact' if report.ok else 'BROKEN ' + str(report.problem)} "
            f"({report.checked} events, {report.anchored} checkpoints)"
        )
        print("RSS MiB over time (serve = parent + 4 uvicorn workers):")
        for t, m in rss[:: max(1, len(rss) // 10)] + rss[-1:]:
            print(f"  t={t:5.0f}s " + " ".join(f"{n}={v / 1024:.0f}" for n, v in m.items()))
        ok = (
            total_5xx == 0
            and verify["mismatched"] == 0
            and verify["receipts_bad"] == 0
            and verify["not_purged"] == 0
            and report.ok
        )
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
