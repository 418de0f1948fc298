"""An artwork eval set of real photographs and drawn illustrations, in the layout of the shared artwork set.

Registered: the colour and grey photographs scikit-image ships in its wheel (`skimage.data`, public
domain or CC0/CC-BY as listed in skimage/data/README.txt and the scikit-image docs: astronaut (NASA),
camera, chelsea, coffee, coins, hubble_deep_field (NASA), ihc, moon, motorcycle_left, retina, rocket
(NASA/SpaceX)), its logo (an illustration), and seeded cartoon illustrations drawn here (flat colours,
dark outlines: the case between a logo and a painting). Each seed draws a character of its own: an
earlier version drew one character in other colours, and its "unregistered" copies were matched.
Each work is altered in the shared generator's 11 families (its `transform`, imported from
--generator). Negatives: the other photographs (brick, grass, gravel, page, text, cell, clock_motion,
color, horse) and unregistered illustrations, each in every family. motorcycle_right is left out: it
is the same scene as motorcycle_left.

    python scripts/make_artwork_photo_set.py --out DIR [--seed N] [--illustrations 40]
        [--generator /work/shared/eval/artwork/make_dev_set.py]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REGISTERED = [
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "coins",
    "hubble_deep_field",
    "ihc",
    "moon",
    "motorcycle_left",
    "retina",
    "rocket",
    "logo",
]
UNREGISTERED = ["brick", "grass", "gravel", "page", "text", "cell", "clock_motion", "color", "horse"]


def photo(name: str) -> Image.Image:
    """A sample image from the files in scikit-image's wheel (read directly: no download helper)."""
    import skimage  # the bench extra; only this script and the benchmark use it

    folder = Path(skimage.__file__).parent / "data"
    (path,) = [p for p in folder.iterdir() if p.stem == name and p.suffix in (".png", ".jpg")]
    with Image.open(path) as raw:
        im = raw.convert("RGBA")
    ground = Image.new("RGBA", im.size, (255, 255, 255, 255))
    ground.alpha_composite(im)
    im = ground.convert("RGB")
    im.thumbnail((640, 640), Image.Resampling.LANCZOS)
    return im


def illustration(seed: int, side: int = 512) -> Image.Image:
    """A cartoon character sticker of its own design: head, eyes, mouth, body and props whose shapes and
    proportions all come from the seed (two seeds never give the same character recoloured)."""
    rng = np.random.default_rng(seed)

    def col() -> tuple[int, int, int]:
        return tuple(int(v) for v in rng.integers(30, 256, 3))  # type: ignore[return-value]

    def blob(x: float, y: float, rx: float, ry: float, width: int) -> None:
        kind = int(rng.integers(0, 3))
        box = (x - rx, y - ry, x + rx, y + ry)
        if kind == 0:
            d.ellipse(box, fill=col(), outline=ink, width=width)
        elif kind == 1:
            d.rounded_rectangle(
                box, radius=int(min(rx, ry) * rng.uniform(0.1, 0.9)), fill=col(), outline=ink, width=width
            )
        else:
            k = int(rng.integers(3, 9))
            turn = rng.uniform(0, 2 * math.pi)
            d.polygon(
                [
                    (
                        x + rx * math.cos(turn + 2 * math.pi * i / k),
                        y + ry * math.sin(turn + 2 * math.pi * i / k),
                    )
                    for i in range(k)
                ],
                fill=col(),
                outline=ink,
                width=width,
            )

    im = Image.new("RGB", (side, side), col())
    d = ImageDraw.Draw(im)
    ink = tuple(int(v) for v in rng.integers(0, 60, 3))
    w = int(rng.integers(3, 10))
    for _ in range(int(rng.integers(2, 8))):  # background props
        blob(*rng.uniform(0, side, 2), *rng.uniform(15, 80, 2), max(1, w // 2))
    cx, cy = side * rng.uniform(0.3, 0.7), side * rng.uniform(0.25, 0.5)
    hr = side * rng.uniform(0.1, 0.22)
    blob(
        cx + rng.normal(0, hr * 0.2),
        cy + hr * rng.uniform(1.2, 2.2),
        hr * rng.uniform(0.6, 1.3),
        hr * rng.uniform(0.7, 1.4),
        w,
    )
    for s in (-1, 1):
        ang = rng.uniform(-1.2, 1.2)
        d.line(
            [
                (cx + s * hr * 0.8, cy + hr * 1.4),
                (cx + s * hr * (0.8 + math.cos(ang)), cy + hr * (1.4 + math.sin(ang))),
            ],
            fill=ink,
            width=int(w * rng.uniform(1, 3)),
        )
    blob(cx, cy, hr * rng.uniform(0.8, 1.3), hr * rng.uniform(0.8, 1.3), w)
    spread, up, er = rng.uniform(0.2, 0.6), rng.uniform(-0.45, 0.15), hr * rng.uniform(0.08, 0.3)
    for s in (-1, 1):
        ex, ey = cx + s * hr * spread, cy + hr * up + rng.normal(0, hr * 0.04)
        blob(ex, ey, er * rng.uniform(0.7, 1.3), er * rng.uniform(0.7, 1.3), max(1, w // 2))
        d.ellipse((ex - er / 3, ey - er / 3, ex + er / 3, ey + er / 3), fill=ink)
    my, mw = cy + hr * rng.uniform(0.2, 0.6), hr * rng.uniform(0.2, 0.7)
    mouth = int(rng.integers(0, 3))
    if mouth == 0:
        d.arc((cx - mw, my - mw / 2, cx + mw, my + mw / 2), 10, 170, fill=ink, width=w)
    elif mouth == 1:
        d.line([(cx - mw, my), (cx + mw, my + rng.normal(0, mw / 4))], fill=ink, width=w)
    else:
        d.ellipse(
            (cx - mw / 2, my - mw / 3, cx + mw / 2, my + mw / 3),
            fill=col(),
            outline=ink,
            width=max(1, w // 2),
        )
    for _ in range(int(rng.integers(0, 5))):  # hair, ears, hat spikes
        a = rng.uniform(math.pi * 1.05, math.pi * 1.95)
        px, py = cx + hr * math.cos(a), cy + hr * math.sin(a)
        d.polygon(
            [
                (px - hr * 0.2, py),
                (px + hr * 0.2, py),
                (px + hr * 0.5 * math.cos(a), py + hr * 0.6 * math.sin(a)),
            ],
            fill=col(),
            outline=ink,
            width=max(1, w // 2),
        )
    return im


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=9090)
    ap.add_argument("--illustrations", type=int, default=40)
    ap.add_argument("--generator", default="/work/shared/eval/artwork/make_dev_set.py")
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("artwork_gen", a.generator)
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    out = Path(a.out)
    (out / "refs").mkdir(parents=True, exist_ok=True)
    (out / "queries").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    works = [(f"skimage:{n}", photo(n)) for n in REGISTERED]
    works += [(f"illustration-{a.seed}-{i}", illustration(a.seed * 1000 + i)) for i in range(a.illustrations)]
    others = [(f"skimage:{n}", photo(n)) for n in UNREGISTERED]
    others += [
        (f"illustration-{a.seed}-neg-{i}", illustration(a.seed * 1000 + 500 + i))
        for i in range(a.illustrations)
    ]
    refs, rows = [], []
    for i, (src, im) in enumerate(works):
        rid = f"P{i:04d}"
        im.save(out / "refs" / f"{rid}.png")
        refs.append({"ref_id": rid, "file": f"refs/{rid}.png", "source": src})
        rows += [(rid, src, im, fam, "positive") for fam in gen.FAMILIES]
    for src, im in others:
        rows += [
            (None, src, im, fam, "negative_photo" if src.startswith("skimage") else "negative_illustration")
            for fam in gen.FAMILIES
        ]
    manifest = []
    for qn, idx in enumerate(rng.permutation(len(rows))):
        rid, src, im, fam, kind = rows[int(idx)]
        q, ext, params = gen.transform(im, fam, rng)
        name = f"queries/Q{qn + 1:05d}.{ext}"
        sha = gen.save(q, out / name, ext, params)
        manifest.append(
            {
                "file": name,
                "label": rid,
                "transform": fam,
                "kind": kind,
                "source": src,
                "params": params,
                "sha256": sha,
            }
        )
    (out / "references.jsonl").write_text("".join(json.dumps(r) + "\n" for r in refs))
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (out / "queries.txt").write_text(
        "".join(m["file"] + "\n" for m in sorted(manifest, key=lambda m: m["file"]))
    )
    print(
        json.dumps(
            {
                "refs": len(refs),
                "queries": len(manifest),
                "negatives": sum(m["label"] is None for m in manifest),
            }
        )
    )


if __name__ == "__main__":
    main()
