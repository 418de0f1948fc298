"""HTTP API under load: 8 concurrent clients against a real uvicorn process on the embedded default.

Each client loops: create an order, upload a 1 MP JPEG (with Exif GPS) and a 200-character text through
to their verdicts, then fetch both back. Every acknowledged upload is fetched and compared byte for
byte with what intake should have stored (the original minus its removed metadata). The same load
runs in one invocation with screening on (shipped lists, image registry, OCR) and screening off
(`CV_SCREENING__ENABLED=false`) — and the ratio is screening's cost; a third run with OCR off shows how
much of that cost is OCR.

    .venv/bin/python benchmarks/bench_api.py [--quick] [--seconds N] [--clients N]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from customization_vault.intake import strip_metadata
from customization_vault.intake.sniff import JPEG

ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    "happy birthday to the best grandma in the world with love from all of us forever and always "
    "congratulations on your wedding day may your life together be full of joy laughter and adventure "
    "welcome little one we are so proud of you keep smiling shine bright dream big stay kind"
).split()


def make_jpeg(seed: int, side: int = 1000) -> bytes:
    """A photo-like 1 MP JPEG (smooth colour fields, shapes, noise) carrying Exif with GPS and a device."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    base = np.stack(
        [
            128 + 100 * np.sin(6 * x + seed),
            128 + 100 * np.cos(5 * y + 2 * seed),
            128 + 80 * np.sin(4 * (x + y) + seed / 2),
        ],
        axis=-1,
    )
    noise = rng.normal(0, 12, (side, side, 3))
    im = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x0110] = "BenchCam 9"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 31.0, 12.5), "E", (13.0, 24.0, 1.25)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88, exif=exif.tobytes())
    return buf.getvalue()


def make_text(rng: random.Random, length: int = 200) -> str:
    out = ""
    while len(out) < length:
        out += rng.choice(WORDS) + " "
    return out[:length]


# Screening on (shipped lists, image registry, OCR), the same without OCR (to show where the cost
# is), and off — the baseline the ratio is taken against.
MODES: tuple[tuple[str, dict[str, str]], ...] = (
    ("screening on", {"CV_SCREENING__ENABLED": "true"}),
    ("screening on, OCR off", {"CV_SCREENING__ENABLED": "true", "CV_SCREENING__OCR": "false"}),
    ("screening off", {"CV_SCREENING__ENABLED": "false"}),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    key: str
    log: Path


def start_server(data_dir: Path, mode_env: dict[str, str], timeout: float = 300) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "CV_ENVIRONMENT": "development",
        "CV_BOOTSTRAP_DEMO": "true",
        "CV_RETENTION__WORKER_IN_PROCESS": "false",
        "CV_LOG_LEVEL": "warning",
        **mode_env,
    }
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / "server.log"
    cmd = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port)]
    cmd += ["--data-dir", str(data_dir)]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); log:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError("server did not become ready")
        time.sleep(0.5)
    keys = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (data_dir / "demo-keys.txt").read_text().splitlines()
        if line.startswith("export ")
    )
    return Server(proc, base, keys["CV_KEY"], log)


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@dataclass
class Result:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    iterations: int = 0
    verified: int = 0
    mismatches: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    verdicts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_loop(
    server: Server,
    n: int,
    deadline: float,
    images: list[tuple[bytes, bytes]],
    result: Result,
    warmup: int,
) -> None:
    rng = random.Random(n)
    headers = {"Authorization": f"Bearer {server.key}"}
    local: dict[str, list[float]] = defaultdict(list)
    done = verified = mismatches = 0
    errors: dict[str, int] = defaultdict(int)
    verdicts: dict[str, int] = defaultdict(int)
    with httpx.Client(base_url=server.base, headers=headers, timeout=120) as c:
        i = 0
        while time.monotonic() < deadline:
            order = f"bench-{n}-{i}"
            original, expected = images[(n + i) % len(images)]
            text = make_text(rng)
            t_iter = time.perf_counter()
            steps: dict[str, float] = {}
            try:
                t = time.perf_counter()
                r = c.put(f"/v1/orders/{order}")
                r.raise_for_status()
                steps["create_order"] = time.perf_counter() - t
                t = time.perf_counter()
                r = c.post(f"/v1/orders/{order}/items", files={"file": ("p.jpg", original, "image/jpeg")})
                r.raise_for_status()
                steps["upload_image"] = time.perf_counter() - t
                image = r.json()
                t = time.perf_counter()
                r = c.post(f"/v1/orders/{order}/items", json={"kind": "text", "text": text})
                r.raise_for_status()
                steps["upload_text"] = time.perf_counter() - t
                txt = r.json()
                for item in (image, txt):
                    verdicts[item["verdict"]] += 1
                fetched = {}
                for name, item in (("fetch_image", image), ("fetch_text", txt)):
                    t = time.perf_counter()
                    r = c.get(item["content_url"])
                    if r.status_code == 200:
                        steps[name] = time.perf_counter() - t
                        fetched[name] = r.content
                    elif r.status_code in (409, 451):  # held or refused by screening: not served, by design
                        errors[f"fetch {r.status_code}"] += 1
                    else:
                        r.raise_for_status()
                if "fetch_image" in fetched:
                    verified += 1
                    mismatches += fetched["fetch_image"] != expected
                if "fetch_text" in fetched:
                    verified += 1
                    mismatches += fetched["fetch_text"] != text.encode()
                steps["iteration"] = time.perf_counter() - t_iter
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                i += 1
                continue
            if i >= warmup:
                for k, v in steps.items():
                    local[k].append(v)
                done += 1
            i += 1
    with result.lock:
        for step, values in local.items():
            result.latencies[step].extend(values)
        result.iterations += done
        result.verified += verified
        result.mismatches += mismatches
        for k2, e in errors.items():
            result.errors[k2] += e
        for k3, e in verdicts.items():
            result.verdicts[k3] += e


def run_load(
    server: Server, clients: int, seconds: float, images: list[tuple[bytes, bytes]]
) -> tuple[Result, float]:
    result = Result()
    start = time.monotonic()
    deadline = start + seconds
    threads = [
        threading.Thread(target=client_loop, args=(server, n, deadline, images, result, 1))
        for n in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result, time.monotonic() - start


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def report(label: str, result: Result, elapsed: float) -> float:
    rate = result.iterations / elapsed
    print(
        f"\n[{label}] {result.iterations} iterations in {elapsed:.1f} s = {rate:.2f} orders/s "
        f"({2 * rate:.2f} uploads/s); verified {result.verified} fetches, {result.mismatches} mismatches; "
        f"verdicts {dict(result.verdicts)}; errors {dict(result.errors) or 'none'}"
    )
    print(f"  {'step':<14}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for step in ("create_order", "upload_image", "upload_text", "fetch_image", "fetch_text", "iteration"):
        v = result.latencies.get(step, [])
        mean = statistics.fmean(v) * 1000 if v else float("nan")
        print(f"  {step:<14}{len(v):>7}{pct(v, 0.5) * 1000:>10.1f}{pct(v, 0.99) * 1000:>10.1f}{mean:>10.1f}")
    return rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 s per mode instead of 60")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--clients", type=int, default=8)
    a = ap.parse_args()
    seconds = a.seconds or (10.0 if a.quick else 60.0)
    print(
        f"# machine: {platform.platform()}, {platform.machine()}, python {platform.python_version()}, "
        f"cores={os.cpu_count()} (clients and server share them; other jobs may be running: noisy)"
    )
    print(f"# load: {a.clients} clients x {seconds:.0f} s per mode; 1 MP JPEG + 200-char text per order")
    images = []
    for seed in range(4):
        jpeg = make_jpeg(seed)
        images.append((jpeg, strip_metadata(jpeg, JPEG).data))
    print(
        f"# image: 1000x1000 JPEG, {len(images[0][0]) / 1024:.0f} KiB with Exif/GPS, "
        f"{len(images[0][1]) / 1024:.0f} KiB as stored"
    )
    from api.settings import Settings
    from api.wiring import build_screener

    # The same factory the server uses; built here only to name the engines that screening-on runs.
    engines = build_screener(Settings(environment="test"))
    engines.warm()
    print(f"# screening engines: { {name: s.engine for name, s in engines.status().items()} }")
    rates: dict[str, float] = {}
    p50: dict[str, float] = {}
    mismatches = 0
    with tempfile.TemporaryDirectory(prefix="cv-bench-api-") as tmp:
        for label, mode_env in MODES:
            data_dir = Path(tmp) / label.replace(" ", "-").replace(",", "") / "var"
            t0 = time.monotonic()
            server = start_server(data_dir, mode_env)
            print(f"\n# {label}: server ready in {time.monotonic() - t0:.1f} s")
            try:
                result, elapsed = run_load(server, a.clients, seconds, images)
            finally:
                stop_server(server)
            rates[label] = report(label, result, elapsed)
            p50[label] = pct(result.latencies.get("upload_image", []), 0.5)
            mismatches += result.mismatches
            if result.iterations == 0:
                print(f"no iteration completed; server log:\n{server.log.read_text()[-3000:]}")
                return 1
    off = rates["screening off"]
    print(
        "\nthroughput (orders/s; an order = 1 image + 1 text upload and 2 fetches), baseline screening off:"
    )
    for label, _ in MODES:
        print(
            f"  {label:<22} {rates[label]:>7.2f}   ratio vs off {rates[label] / off:>5.2f}   "
            f"image upload p50 {p50[label] * 1000:>7.0f} ms"
        )
    print(f"byte-identical fetches: {'all' if mismatches == 0 else f'{mismatches} MISMATCHES'}")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
