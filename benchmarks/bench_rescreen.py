"""Claim: a list import re-screens open orders at a measured rate (items/s), text items and images.

On the embedded default (SQLite, local blob files, local keyring) in a temporary data directory: N text
items (and, separately, M photo-like images with a logo on them) are stored in open orders, a new
version of the terms list is imported (the shipped terms plus one), and one foreground job re-screens
every item: decrypt under the order's key, audit the read, screen with the current engines, write only
what changed. Side by side, the baseline: the same engines screening the same plaintexts from memory,
with no catalog, key, blob or audit work. Printed: items/s of each, the ratio, and the machine.

    .venv/bin/python benchmarks/bench_rescreen.py            # 2,000 texts, 60 images
    .venv/bin/python benchmarks/bench_rescreen.py --quick    # 300 texts, 10 images
    .venv/bin/python benchmarks/bench_rescreen.py --texts 10000 --images 200
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.settings import Settings  # noqa: E402
from api.wiring import Services, build_services  # noqa: E402
from customization_vault.content import NewItem  # noqa: E402
from customization_vault.lists import ListKind  # noqa: E402
from screening.findings import Verdict  # noqa: E402
from screening.text.screener import DEFAULT_TERMS  # noqa: E402

WORDS = (
    "happy birthday to the best grandma in the world love from all of us forever and always "
    "mr mrs smith est wedding day team captain number one dad mum sister brother anniversary"
).split()
ITEMS_PER_ORDER = 20


def texts(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))).title().encode() for _ in range(n)]


def photo(seed: int) -> bytes:
    """A 1200x900 JPEG: a smooth noisy background, a shirt, a drawn mark and a line of text."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(40, 220, (6, 8, 3)).astype(np.uint8)
    img = Image.fromarray(small).resize((1200, 900), Image.Resampling.BICUBIC)
    d = ImageDraw.Draw(img)
    d.rectangle((350, 150, 850, 850), fill=(30, 40, 70))
    d.ellipse((500, 300, 700, 500), outline=(230, 200, 40), width=18)
    d.text((420, 600), f"TEAM {seed}", fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def seed(svc: Services, items: list[bytes], kind: str, content_type: str) -> None:
    """Store the items as already screened clear (seeding is not what is measured)."""
    seller = svc.vault.orders.ensure_seller("bench-shop")
    order = None
    for i, data in enumerate(items):
        if i % ITEMS_PER_ORDER == 0:
            order, _ = svc.vault.orders.create(seller, f"B-{kind}-{i // ITEMS_PER_ORDER}", actor="bench")
        assert order is not None
        svc.vault.content.put_item(
            order,
            [data],
            NewItem(kind=kind, content_type=content_type, verdict=Verdict.of(())),
            actor="bench",
        )


def measure(label: str, items: list[bytes], kind: str, content_type: str, ocr: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="cv-bench-rescreen-") as tmp:
        settings = Settings(
            environment="test", data_dir=Path(tmp), bootstrap_demo=False, screening={"ocr": ocr}
        )
        svc = build_services(settings)
        try:
            seed(svc, items, kind, content_type)
            svc.lists.import_list(
                ListKind.TERMS,
                DEFAULT_TERMS.read_bytes() + b"bench:zorblax,zorblax,profanity,review\n",
                source="bench",
                actor="bench",
            )
            svc.screener.warm()  # both sides screen with built engines: build time is not a rate
            assert svc.reloader is not None
            svc.reloader.reload()

            for data in items[:5]:  # first calls warm caches and the OCR runtime: neither side pays them
                svc.screener.screen(data, content_type)
            t0 = time.perf_counter()
            for data in items:
                svc.screener.screen(data, content_type)
            baseline = time.perf_counter() - t0

            rescreener = svc.rescreener()
            job = rescreener.request(reason="bench", actor="bench")
            t0 = time.perf_counter()
            done = rescreener.run(job.id)
            ours = time.perf_counter() - t0
            assert done is not None
            assert (done.done, done.failed) == (len(items), 0), done
        finally:
            svc.close()
    n = len(items)
    print(
        f"{label:<28} {n:>6} items  screen only {n / baseline:>8.1f} items/s   "
        f"re-screen {n / ours:>8.1f} items/s   ratio {baseline / ours:.2f}   ({ours:.1f} s)",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--texts", type=int, default=None)
    ap.add_argument("--images", type=int, default=None)
    a = ap.parse_args()
    n_texts = a.texts or (300 if a.quick else 2000)
    n_images = a.images if a.images is not None else (10 if a.quick else 60)
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"cores={os.cpu_count()}, python {platform.python_version()}"
    )
    print("embedded default: SQLite, local blobs, local keyring; one foreground re-screen job, batch 100")
    measure("text items", texts(n_texts), "text", "text/plain; charset=utf-8", ocr=True)
    photos = [photo(i) for i in range(n_images)]
    measure("images (logos, no OCR)", photos, "image", "image/jpeg", ocr=False)
    measure("images (logos and OCR)", photos, "image", "image/jpeg", ocr=True)


if __name__ == "__main__":
    main()
