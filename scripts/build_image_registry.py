"""Build the shipped default image registry from the CC0 npm package `simple-icons`.

Installs simple-icons (pinned) with npm into a cache, renders every icon in its brand colour on white
(black when the brand colour is too pale to see on white) with rsvg-convert, and registers it:
  .venv/bin/python scripts/build_image_registry.py --cache /work/.cache/simple-icons
Output: screening/data/images/registry.json + registry.npz (hashes, 16x16 grids, 128 px palette thumbnails).

`--null-pool` builds instead the calibration pool (screening/data/images/null_pool.npz, see
screening/image/calibration.py): the region shapes an upload of each logo of the development quarter
(the generator's pool, sha256(slug) mod 4 == 0) would bring. Only that quarter, so sets drawn from the
other three quarters stay unseen by the calibration.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from screening.image.errors import ImageError
from screening.image.hashing import small_grids
from screening.image.registry import ImageEntry, ImageRegistry, PreparedReference, prepare_reference
from screening.image.screener import query_shapes

VERSION = "16.37.0"
RENDER_SIDE = 410
CANVAS = 512
THUMB_SIDE = 128
THUMB_COLOURS = 32
OUT = Path(__file__).resolve().parent.parent / "screening" / "data" / "images"


def _luminance(hexs: str) -> float:
    def f(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hexs[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)


def fill_for(hexs: str) -> str:
    return hexs if 1.05 / (_luminance(hexs) + 0.05) >= 1.5 else "000000"


def ensure_package(cache: Path) -> Path:
    prefix = cache / f"simple-icons-{VERSION}"
    pkg = prefix / "node_modules" / "simple-icons"
    if not (pkg / "package.json").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        cmd = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-save"]
        subprocess.run([*cmd, "--loglevel", "error", f"simple-icons@{VERSION}"], check=True)
    return pkg


def render(task: tuple[str, str]) -> PreparedReference | None:
    canvas = render_canvas(task)
    if canvas is None:
        return None
    try:
        return prepare_reference(canvas, THUMB_SIDE, THUMB_COLOURS)
    except ImageError:
        return None


def pool_shapes(task: tuple[str, str]) -> npt.NDArray[np.uint8]:
    """(n, 16, 16) grids of the region shapes a plain upload of the logo brings, identity orientation."""
    canvas = render_canvas(task)
    shapes = [] if canvas is None else query_shapes(canvas)[0]
    if not shapes:
        return np.zeros((0, 16, 16), np.uint8)
    return small_grids(np.stack([p.grid for p in shapes]).astype(np.float32))


def render_canvas(task: tuple[str, str]) -> Image.Image | None:
    """The logo in its colour on a white 512 px canvas, as the evaluation sets' generator draws it."""
    svg_path, fill = task
    svg = Path(svg_path).read_text().replace("<svg ", f'<svg fill="#{fill}" ', 1)
    png = subprocess.run(
        ["rsvg-convert", "-w", str(RENDER_SIDE), "-h", str(RENDER_SIDE)],
        input=svg.encode(),
        capture_output=True,
    )
    if png.returncode != 0:
        return None
    glyph = Image.open(io.BytesIO(png.stdout)).convert("RGBA")
    canvas = Image.new("RGBA", (CANVAS, CANVAS), (255, 255, 255, 255))
    off = (CANVAS - glyph.width) // 2
    canvas.alpha_composite(glyph, (off, off))
    return canvas.convert("RGB")


def build_null_pool(tasks: list[tuple[str, str]], slugs: list[str], out: Path, jobs: int) -> None:
    dev = [k for k, slug in enumerate(slugs) if int(hashlib.sha256(slug.encode()).hexdigest(), 16) % 4 == 0]
    with ProcessPoolExecutor(jobs) as pool:
        shapes = list(pool.map(pool_shapes, [tasks[k] for k in dev], chunksize=8))
    grids = np.concatenate(shapes)
    owner = np.concatenate([np.full(len(s), k, dtype=np.int32) for k, s in enumerate(shapes)])
    np.savez_compressed(out / "null_pool.npz", grids=grids, owner=owner)
    print(f"null pool: {len(grids)} shapes of {len(dev)} logos in {out / 'null_pool.npz'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "cv-simple-icons")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limit", type=int, default=0, help="only the first N icons (smoke test)")
    ap.add_argument("--null-pool", action="store_true", help="build the calibration pool instead")
    ap.add_argument(
        "--calibrate", action="store_true", help="only (re)compute the null tails of the registry in --out"
    )
    args = ap.parse_args(argv)
    if args.calibrate:  # loading computes tails that are missing or were made against another pool
        ImageRegistry.load(args.out).save_calibration(args.out)
        print(f"calibrated {args.out}")
        return 0
    pkg = ensure_package(args.cache)
    icons = json.loads((pkg / "data" / "simple-icons.json").read_text())
    icons = icons if isinstance(icons, list) else icons.get("icons", [])
    tasks, entries = [], []
    for icon in icons:
        slug = icon.get("slug") or icon["title"].lower()
        svg = pkg / "icons" / f"{slug}.svg"
        if not svg.exists():
            continue
        tasks.append((str(svg), fill_for(icon["hex"])))
        entries.append(ImageEntry(slug, icon["title"], None))
    if args.limit:
        tasks, entries = tasks[: args.limit], entries[: args.limit]
    if args.null_pool:
        build_null_pool(tasks, [e.entry_id for e in entries], args.out, args.jobs)
        return 0
    registry = ImageRegistry("simple-icons", VERSION, thumb_side=THUMB_SIDE)
    skipped = 0
    with ProcessPoolExecutor(args.jobs) as pool:
        for i, (entry, prepared) in enumerate(
            zip(entries, pool.map(render, tasks, chunksize=8), strict=True)
        ):
            if prepared is None:
                skipped += 1
                continue
            registry.add_prepared(entry, prepared)
            if i % 250 == 0:
                print(f"{i}/{len(tasks)}", file=sys.stderr)
    registry.save(args.out)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"{len(registry)} references ({skipped} skipped), {size / 1e6:.1f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
