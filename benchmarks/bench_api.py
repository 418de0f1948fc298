"""HTTP API under load: 8 concurrent clients against a real uvicorn process on the embedded default.

Each client loops: create an order, upload a 1 MP photo without text (JPEG with Exif GPS), a 1 MP
design with text (PNG) and a 200-character text through to their verdicts, then fetch all three back.
Every acknowledged upload is fetched and compared byte for byte with what intake should have stored
(the original minus its removed metadata). The same load runs in one invocation with screening on
(shipped lists, image registry, OCR; screening jobs in isolated processes), on with OCR off, and off
(`CV_SCREENING__ENABLED=false`) — the ratio is screening's cost. Then the screening processes alone:
the same items through `IsolatedScreener` with 1 and with 2 processes (8 callers), and a photo's
screening with the OCR gate against OCR off. It prints the four ratios the scaling issue asks for.

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
from typing import Any

import httpx
import numpy as np
from PIL import Image, ImageDraw, ImageFont

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


DESIGN_LINES = ("HAPPY BIRTHDAY", "GRANDMA ROSE", "BEST TEAM 2026", "WELCOME HOME", "JUST MARRIED")


def make_design(seed: int, side: int = 1000) -> bytes:
    """A 1 MP print design with text: two lines of large lettering on a two-colour gradient (no plain
    discs or tiles: those are what a generic logo looks like, and the design should clear)."""
    rng = random.Random(seed)
    a = np.array([rng.randrange(150, 256) for _ in range(3)], dtype=np.float32)
    b = np.array([rng.randrange(150, 256) for _ in range(3)], dtype=np.float32)
    t = np.linspace(0, 1, side, dtype=np.float32)[None, :, None]
    ground = np.broadcast_to(a * (1 - t) + b * t, (side, side, 3)).astype(np.uint8)
    im = Image.fromarray(np.ascontiguousarray(ground), "RGB")
    d = ImageDraw.Draw(im)
    font_path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    for n in range(2):
        line = DESIGN_LINES[(seed + n) % len(DESIGN_LINES)]
        size = 90 - 20 * n
        font = (
            ImageFont.truetype(str(font_path), size)
            if font_path.exists()
            else ImageFont.load_default(size=size)
        )
        width = d.textlength(line, font=font)
        d.text(((side - width) / 2, 300 + n * 160), line, fill=(20, 20, 60), font=font)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def make_text(rng: random.Random, length: int = 200) -> str:
    out = ""
    while len(out) < length:
        out += rng.choice(WORDS) + " "
    return out[:length]


# Screening on (shipped lists, image registry, OCR), the same without OCR (to show where the cost
# is), and off — the baseline the ratio is taken against.
MODES: tuple[tuple[str, dict[str, str]], ...] = (
    ("screening off", {"CV_SCREENING__ENABLED": "false"}),
    ("screening on", {"CV_SCREENING__ENABLED": "true"}),
    ("screening on, OCR off", {"CV_SCREENING__ENABLED": "true", "CV_SCREENING__OCR": "false"}),
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


def _upload(c: httpx.Client, url: str, **kwargs: object) -> dict[str, object]:
    """Upload and follow a 202 (verdict pending past the deadline) to the item's verdict."""
    r = c.post(url, **kwargs)  # type: ignore[arg-type]
    r.raise_for_status()
    item: dict[str, object] = r.json()
    while item["verdict"] == "pending":
        time.sleep(float(r.headers.get("retry-after", "1")))
        item = c.get(str(item["item_url"])).raise_for_status().json()
    return item


def client_loop(
    server: Server,
    n: int,
    deadline: float,
    images: list[tuple[bytes, bytes]],
    designs: list[bytes],
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
            design = designs[(n + i) % len(designs)]
            text = make_text(rng)
            t_iter = time.perf_counter()
            steps: dict[str, float] = {}
            try:
                t = time.perf_counter()
                r = c.put(f"/v1/orders/{order}")
                r.raise_for_status()
                steps["create_order"] = time.perf_counter() - t
                t = time.perf_counter()
                photo = _upload(
                    c, f"/v1/orders/{order}/items", files={"file": ("p.jpg", original, "image/jpeg")}
                )
                steps["upload_photo"] = time.perf_counter() - t
                t = time.perf_counter()
                art = _upload(c, f"/v1/orders/{order}/items", files={"file": ("d.png", design, "image/png")})
                steps["upload_design"] = time.perf_counter() - t
                t = time.perf_counter()
                txt = _upload(c, f"/v1/orders/{order}/items", json={"kind": "text", "text": text})
                steps["upload_text"] = time.perf_counter() - t
                for item in (photo, art, txt):
                    verdicts[str(item["verdict"])] += 1
                wanted = (
                    ("fetch_photo", photo, expected),
                    ("fetch_design", art, design),
                    ("fetch_text", txt, text.encode()),
                )
                for name, item, want in wanted:
                    t = time.perf_counter()
                    r = c.get(str(item["content_url"]))
                    if r.status_code == 200:
                        steps[name] = time.perf_counter() - t
                        verified += 1
                        mismatches += r.content != want
                    elif r.status_code in (409, 451):  # held or refused by screening: not served, by design
                        errors[f"fetch {r.status_code}"] += 1
                    else:
                        r.raise_for_status()
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
    server: Server, clients: int, seconds: float, images: list[tuple[bytes, bytes]], designs: list[bytes]
) -> tuple[Result, float]:
    result = Result()
    start = time.monotonic()
    deadline = start + seconds
    threads = [
        threading.Thread(target=client_loop, args=(server, n, deadline, images, designs, result, 1))
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
        f"({3 * rate:.2f} uploads/s); verified {result.verified} fetches, {result.mismatches} mismatches; "
        f"verdicts {dict(result.verdicts)}; errors {dict(result.errors) or 'none'}"
    )
    print(f"  {'step':<14}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    steps = ("create_order", "upload_photo", "upload_design", "upload_text", "fetch_photo", "fetch_design")
    for step in (*steps, "fetch_text", "iteration"):
        v = result.latencies.get(step, [])
        mean = statistics.fmean(v) * 1000 if v else float("nan")
        print(f"  {step:<14}{len(v):>7}{pct(v, 0.5) * 1000:>10.1f}{pct(v, 0.99) * 1000:>10.1f}{mean:>10.1f}")
    return rate


def _feed(pool: Any, items: list[tuple[bytes, str]], stop: float, done: list[int], k: int) -> None:
    n = k
    while time.monotonic() < stop:
        data, media = items[n % len(items)]
        pool.screen(data, media)
        done[k] += 1
        n += 1


def screening_scaling(items: list[tuple[bytes, str]], seconds: float, callers: int) -> dict[int, float]:
    """Items/s through `IsolatedScreener` with 1 and with 2 screening processes, `callers` threads
    feeding it (as a worker's job threads do), the engines built as the worker builds them.

    Also the children's CPU seconds per item (`RUSAGE_CHILDREN`, counted once they exited): the same
    with 2 processes as with 1 means nothing is shared between them, so on free cores throughput
    grows with the processes; on a machine other jobs saturate, wall-clock items/s cannot show it.
    """
    import functools
    import resource

    from api.settings import Settings
    from api.wiring import child_screener
    from customization_vault.catalog import create_db_engine, migrate
    from screening.isolation import IsolatedScreener

    settings = Settings(environment="test")
    # Children follow the stored list versions of a catalog: an empty one here (the shipped lists).
    url = f"sqlite:///{tempfile.mkdtemp(prefix='cv-bench-lists-')}/catalog.db"
    engine = create_db_engine(url)
    migrate(engine)
    engine.dispose()
    factory = functools.partial(child_screener, settings.screening.model_dump(mode="json"), "test", url)
    rates: dict[int, float] = {}
    for processes in (1, 2):
        pool = IsolatedScreener(factory, processes=processes)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        warm_items = 0
        try:
            pool.warm()
            for _ in range(processes):  # one warm pass per child: first calls load lazy parts
                for data, media in items:
                    pool.screen(data, media)
                    warm_items += 1
            done = [0] * callers
            stop = time.monotonic() + seconds
            t0 = time.monotonic()
            threads = [
                threading.Thread(target=_feed, args=(pool, items, stop, done, k)) for k in range(callers)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rates[processes] = sum(done) / (time.monotonic() - t0)
        finally:
            pool.close()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        print(
            f"  {processes} screening process(es): {rates[processes]:.2f} items/s; children's CPU incl. "
            f"start-up {cpu:.1f} s for {sum(done) + warm_items} items"
        )
    return rates


def photo_cost(photos: list[bytes], rounds: int = 3) -> tuple[float, float]:
    """CPU ms to screen a photo without text with the OCR gate and with OCR off (one OCR thread)."""
    from screening.image import ImageRegistry, ImageScreener
    from screening.image.ocr import RapidOcrEngine
    from screening.text import build_text_screener

    registry = ImageRegistry.default()
    ocr = RapidOcrEngine(threads=1)
    ocr.warm_up()
    on = ImageScreener(registry, ocr, build_text_screener())
    off = ImageScreener(registry, None, None)
    spent = {"on": 0.0, "off": 0.0}
    for _ in range(rounds):
        for data in photos:
            for name, screener in (("on", on), ("off", off)):  # interleaved: drift hits both alike
                t0 = time.process_time()
                screener.screen_image(data)
                spent[name] += time.process_time() - t0
    n = rounds * len(photos)
    return spent["on"] / n * 1000, spent["off"] / n * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 s per mode instead of 60")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--clients", type=int, default=8)
    a = ap.parse_args()
    seconds = a.seconds or (10.0 if a.quick else 60.0)
    print(
        f"# machine: {platform.platform()}, {platform.machine()}, python {platform.python_version()}, "
        f"cores={os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the start "
        "(clients and server share the cores; other jobs may be running: noisy)"
    )
    print(
        f"# load: {a.clients} clients x {seconds:.0f} s per mode; per order a 1 MP photo without text, "
        "a 1 MP design with text and a 200-char text"
    )
    images = []
    for seed in range(4):
        jpeg = make_jpeg(seed)
        images.append((jpeg, strip_metadata(jpeg, JPEG).data))
    designs = [make_design(seed) for seed in range(4)]
    print(
        f"# photo: 1000x1000 JPEG, {len(images[0][0]) / 1024:.0f} KiB with Exif/GPS, "
        f"{len(images[0][1]) / 1024:.0f} KiB as stored; design: 1000x1000 PNG with 2 lines of text"
    )
    rates: dict[str, float] = {}
    p50: dict[str, float] = {}
    p99: dict[str, float] = {}
    mismatches = 0
    with tempfile.TemporaryDirectory(prefix="cv-bench-api-") as tmp:
        for label, mode_env in MODES:
            data_dir = Path(tmp) / label.replace(" ", "-").replace(",", "") / "var"
            t0 = time.monotonic()
            server = start_server(data_dir, mode_env)
            print(f"\n# {label}: server ready in {time.monotonic() - t0:.1f} s")
            try:
                result, elapsed = run_load(server, a.clients, seconds, images, designs)
            finally:
                stop_server(server)
            rates[label] = report(label, result, elapsed)
            uploads = result.latencies.get("upload_photo", []) + result.latencies.get("upload_design", [])
            p50[label], p99[label] = pct(uploads, 0.5), pct(uploads, 0.99)
            mismatches += result.mismatches
            if result.iterations == 0:
                print(f"no iteration completed; server log:\n{server.log.read_text()[-3000:]}")
                return 1
    off = rates["screening off"]
    print("\nthroughput (orders/s; an order = 3 uploads and 3 fetches), baseline screening off:")
    for label, _ in MODES:
        print(
            f"  {label:<22} {rates[label]:>7.2f}   ratio vs off {rates[label] / off:>5.2f}   "
            f"image upload p50 {p50[label] * 1000:>7.0f} ms  p99 {p99[label] * 1000:>7.0f} ms"
        )
    print(f"byte-identical fetches: {'all' if mismatches == 0 else f'{mismatches} MISMATCHES'}")

    print(
        f"\n# screening processes alone ({a.clients} callers, {seconds / 2:.0f} s each; photo, design, text):"
    )
    items = [
        (images[0][1], "image/jpeg"),
        (designs[0], "image/png"),
        (make_text(random.Random(1)).encode(), "text/plain"),
    ]
    scaling = screening_scaling(items, seconds / 2, a.clients)
    cost_on, cost_off = photo_cost([jpeg for _, jpeg in images])
    print(f"  photo without text, CPU per screening: OCR gated {cost_on:.1f} ms, OCR off {cost_off:.1f} ms")

    print("\nthe four ratios (targets from the scaling issue):")
    print(f"  screening on / off throughput      {rates['screening on'] / off:>6.2f}   (target >= 0.60)")
    print(f"  image upload p99, screening on     {p99['screening on']:>6.2f} s (target <= 2 s)")
    print(
        f"  2 / 1 screening processes          {scaling[2] / scaling[1]:>6.2f}   (target >= 1.7 on 2 cores)"
    )
    print(f"  photo: OCR gated / OCR off         {cost_on / cost_off:>6.2f}   (target <= 1.5)")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
