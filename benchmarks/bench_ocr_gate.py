"""Claim: the OCR gate (the stroke test on the matchers' decode, then detection on a 320 px copy;
nothing found, nothing more) makes a photo without text cost at most 1.5x its screening with OCR off,
and misses (almost) no text. Each image is read as the screener reads it (`read_text`).

Side by side in one run, one OCR thread (as in a screening process):
- misses: images where the ungated engine reads at least one line but the gate reads none, and
  captions or brand names the ungated engine read in full that the gated one does not, on the image
  development set's caption family (`make_dev_set.py`: captions added above or below a logo, and the
  synthetic text images) and on brand names rendered in 6 DejaVu styles on noisy, gradient and flat
  banners (as `bench_ocr.py` draws them) at 3 sizes;
- cost: whole-image screening (`ImageScreener.screen_image`: decode, regions, hashes, OCR) of 1 MP
  photos without text (as `bench_api.py` makes them) and of the development set's natural photos,
  with the gated OCR, the ungated OCR and OCR off.

    .venv/bin/python benchmarks/bench_ocr_gate.py --dev-set DIR    # DIR: make_dev_set.py's output
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import make_design, make_jpeg
from bench_ocr import BRANDS, FONTS, normalise, render

from screening.image import ImageRegistry, ImageScreener
from screening.image.decode import decode_image
from screening.image.hashing import FINE_SIDE
from screening.image.ocr import RapidOcrEngine
from screening.image.ocr_base import OcrEngine, PreviewGate

OCR_SIDE = 1280  # what ImageScreener decodes for OCR


def read_text(engine: OcrEngine, data: bytes) -> str:
    """What the screener's OCR reads: the matchers' decode (FINE_SIDE: the shipped registry holds no
    artwork) is read as it is when it holds the whole image; otherwise it is first the preview a
    `PreviewGate` judges, and only an image it does not call blank is decoded at OCR's size."""
    preview = decode_image(data, target=FINE_SIDE)
    if preview.image.size == preview.original_size and max(preview.original_size) <= OCR_SIDE:
        image = preview.image
    elif isinstance(engine, PreviewGate) and engine.surely_blank(preview.image):
        return ""
    else:
        image = decode_image(data, target=OCR_SIDE).image
    return " ".join(line.text for line in engine.read(image))


def caption_family(dev: Path) -> list[tuple[str, bytes, str]]:
    """(name, bytes, expected text) for every captioned logo and every synthetic text image."""
    out = []
    for line in (dev / "manifest.jsonl").read_text().splitlines():
        row = json.loads(line)
        params = row.get("params") or {}
        if row["transform"] == "caption":
            want = str(params["text"])
        elif row["transform"] == "text":
            want = " ".join(params["lines"])
        else:
            continue
        out.append((row["file"], (dev / row["file"]).read_bytes(), want))
    return out


def brand_banners(seed: int) -> list[tuple[str, bytes, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for size, px in (((900, 300), 72), ((1000, 1000), 64), ((1200, 800), 40)):
        for n, word in enumerate(BRANDS):
            img = render(rng, word, FONTS[n % len(FONTS)], size, px)
            buf = io.BytesIO()
            img.save(buf, "PNG")
            out.append((f"{word}@{size[0]}x{size[1]}/{px}px", buf.getvalue(), word))
    return out


def misses(
    engines: dict[str, OcrEngine], full: OcrEngine, images: list[tuple[str, bytes, str]], label: str
) -> None:
    """Each engine's reads against the ungated one's (read once per image)."""
    reads_full = [read_text(full, data) for _, data, _ in images]
    n = len(images)
    for key, gated in engines.items():
        read_full = read_gated = lines_lost = words_lost = 0
        examples = []
        for (name, data, want), a in zip(images, reads_full, strict=True):
            b = read_text(gated, data)
            found_full = normalise(want) in normalise(a)
            found_gated = normalise(want) in normalise(b)
            read_full += found_full
            read_gated += found_gated
            lines_lost += bool(a) and not b
            if found_full and not found_gated:
                words_lost += 1
                examples.append(name)
        shown = f"; e.g. {', '.join(examples[:4])}" if examples else ""
        print(
            f"  {label:<32} {key:<16} {n:>4} images: text read in full {read_full}/{n} ungated, "
            f"{read_gated}/{n} gated; gate missed {words_lost} read ({lines_lost} with any line){shown}"
        )


def cost(
    screeners: dict[str, ImageScreener], photos: list[bytes], label: str, rounds: int
) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in screeners}
    for _ in range(rounds):
        for data in photos:
            for name, s in screeners.items():  # interleaved: a noisy machine's drift hits all alike
                t0 = time.process_time()
                s.screen_image(data)
                times[name].append(time.process_time() - t0)
    means = {k: statistics.fmean(v) * 1000 for k, v in times.items()}
    off = means["OCR off"]
    print(f"  {label} ({len(photos)} images x {rounds}), CPU ms per image:")
    for k, v in means.items():
        print(f"    {k:<14} {v:>8.1f} ms   ratio vs OCR off {v / off:>5.2f}")
    return means


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev-set", type=Path, required=True, help="make_dev_set.py's set folder")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--variants", default="strokes+region,strokes+full,strokes+none,cnn-gate+full")
    ap.add_argument("--misses-only", action="store_true", help="skip the cost part")
    a = ap.parse_args()
    print(
        f"# machine: {platform.platform()}, {platform.machine()}, python {platform.python_version()}, "
        f"cores={os.cpu_count()}, load {os.getloadavg()[0]:.1f} (shared: noisy; CPU time is measured)"
    )
    full = RapidOcrEngine(threads=1, gate_side=None)
    full.warm_up()
    # The default (stroke test, 320 px CNN gate, detection again on the gate boxes' region) and the
    # alternatives measured against it: no stroke test, the second pass on the whole image or none
    # (recognise the gate's own boxes).
    variants = {
        "strokes+region": {},
        "strokes+full": {"second_pass": "full"},
        "strokes+none": {"second_pass": "none"},
        "cnn-gate+full": {"second_pass": "full", "stroke_test": False},
    }
    chosen = [v for v in a.variants.split(",") if v]
    passes = {k: RapidOcrEngine(threads=1, **variants[k]) for k in chosen}  # type: ignore[arg-type]
    for engine in passes.values():
        engine.warm_up()
    gated = passes.get("strokes+region") or RapidOcrEngine(threads=1)
    print("misses (text the ungated engine reads that a gated one does not):")
    misses(dict(passes), full, caption_family(a.dev_set), "dev set caption family + text")
    misses(dict(passes), full, brand_banners(7), "rendered brand names (3 sizes)")
    if a.misses_only:
        return 0

    from screening.text import build_text_screener

    text = build_text_screener(None, None, None)
    registry = ImageRegistry.default()
    screeners = {
        "OCR off": ImageScreener(registry, None, None),
        "OCR gated": ImageScreener(registry, gated, text),
        "OCR ungated": ImageScreener(registry, full, text),
    }
    per_pass = {"OCR off": screeners["OCR off"]} | {
        name: ImageScreener(registry, engine, text) for name, engine in passes.items()
    }
    photos = [make_jpeg(seed) for seed in range(6)]
    natural = []
    for line in (a.dev_set / "manifest.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["transform"] == "natural":
            natural.append((a.dev_set / row["file"]).read_bytes())
    print("cost:")
    cost(screeners, photos, "1 MP photos without text (bench_api)", a.rounds)
    cost(screeners, natural[:20], "dev set natural photos", 1)
    cost(per_pass, [make_design(seed) for seed in range(6)], "1 MP designs with text (bench_api)", a.rounds)
    cost(per_pass, photos, "1 MP photos without text, per variant", a.rounds)
    print(
        f"  gate (strokes+region): closed {gated.gate_closed} ({gated.strokes_closed} by the stroke test "
        f"alone), opened {gated.gate_opened} (all reads in this run)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
