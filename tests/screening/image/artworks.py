"""Synthetic artwork for the image tests: seeded paintings (textured ground, strokes, blobs, grain) and the
things customers do to them (crop, turn, hue turn, greyscale, caption, placing on a product photo)."""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

SIDE = 448


def painting(seed: int, side: int = SIDE) -> Image.Image:
    """A full-bleed painting: no plain ground around it, so no shape of its own (the logo path refuses it)."""
    rng = np.random.default_rng(seed)
    h0 = rng.uniform()
    palette = [
        tuple(
            int(255 * c)
            for c in colorsys.hsv_to_rgb(
                (h0 + rng.uniform(-0.2, 0.2)) % 1, rng.uniform(0.3, 1), rng.uniform(0.25, 1)
            )
        )
        for _ in range(6)
    ]
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    t = np.clip((xx + yy) / 2, 0, 1)[..., None]
    ground = np.array(palette[0], np.float32) * (1 - t) + np.array(palette[1], np.float32) * t
    im = Image.fromarray(np.clip(ground + rng.normal(0, 8, ground.shape), 0, 255).astype(np.uint8))
    layer = Image.new("RGBA", (side, side))
    d = ImageDraw.Draw(layer)
    for _ in range(45):
        col = (*palette[int(rng.integers(0, len(palette)))], int(rng.integers(140, 256)))
        x, y = rng.uniform(0, side, 2)
        if rng.uniform() < 0.4:
            pts = [(float(x), float(y))]
            for _ in range(int(rng.integers(3, 7))):
                x, y = x + rng.normal(0, 40), y + rng.normal(0, 40)
                pts.append((float(x), float(y)))
            d.line(pts, fill=col, width=int(rng.integers(4, 24)), joint="curve")
        elif rng.uniform() < 0.6:
            rx, ry = rng.uniform(10, 110, 2)
            d.ellipse((x - rx, y - ry, x + rx, y + ry), fill=col)
        else:
            r = rng.uniform(20, 120)
            k = int(rng.integers(3, 7))
            d.polygon(
                [
                    (
                        float(x + r * math.cos(2 * math.pi * i / k)),
                        float(y + r * math.sin(2 * math.pi * i / k)),
                    )
                    for i in range(k)
                ],
                fill=col,
            )
    im = Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB").filter(ImageFilter.GaussianBlur(0.8))
    a = np.asarray(im).astype(np.float32)
    return Image.fromarray(np.clip(a + rng.normal(0, 4, a.shape), 0, 255).astype(np.uint8))


def hue_turn(im: Image.Image, turn: int) -> Image.Image:
    hsv = np.asarray(im.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + turn) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def crop_turn_place(
    im: Image.Image, seed: int, side: int = 380
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Crop to ~60% of the area, turn 12 degrees, mirror, place on a 1200x900 product mock-up at most
    `side` pixels wide and high. Returns the upload and the pasted rectangle (x, y, w, h)."""
    rng = np.random.default_rng(seed)
    w, h = im.size
    cut = im.crop((int(0.1 * w), int(0.15 * h), int(0.85 * w), int(0.95 * h)))
    turned = ImageOps.mirror(cut.rotate(12, Image.Resampling.BICUBIC, expand=True, fillcolor=(240, 240, 240)))
    turned.thumbnail((side, side), Image.Resampling.LANCZOS)
    mock = np.clip(rng.normal(150, 6, (900, 1200, 3)), 0, 255).astype(np.uint8)
    upload = Image.fromarray(mock)
    ImageDraw.Draw(upload).rounded_rectangle((150, 60, 1050, 880), radius=80, fill=(30, 60, 140))
    x, y = 420, 260
    upload.paste(turned, (x, y))
    return upload, (x, y, turned.width, turned.height)


def captioned(im: Image.Image) -> Image.Image:
    out = im.copy()
    d = ImageDraw.Draw(out)
    band = out.height // 5
    d.rectangle((0, out.height - band, out.width, out.height), fill=(250, 250, 250))
    d.text((20, out.height - band + 10), "best grandma ever 2026", fill=(0, 0, 0))
    return out


def illustration(seed: int, side: int = 448) -> Image.Image:
    """A flat-colour cartoon with dark outlines on a plain ground: between a logo and a painting."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (side, side), (235, 230, 215))
    d = ImageDraw.Draw(im)
    ink = (25, 20, 30)
    for _ in range(7):
        x, y = rng.uniform(40, side - 40, 2)
        r = rng.uniform(25, 70)
        fill = tuple(int(v) for v in rng.integers(40, 230, 3))
        if rng.uniform() < 0.5:
            d.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=ink, width=5)
        else:
            d.rectangle((x - r, y - r / 2, x + r, y + r / 2), fill=fill, outline=ink, width=5)
    cx, cy, r = side / 2, side / 2, side / 5
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(250, 200, 60), outline=ink, width=7)
    for s in (-1, 1):
        d.ellipse(
            (cx + s * r / 2 - 12, cy - 20, cx + s * r / 2 + 12, cy + 4),
            fill=(255, 255, 255),
            outline=ink,
            width=4,
        )
    d.arc((cx - r / 2, cy, cx + r / 2, cy + r / 2), 10, 170, fill=ink, width=6)
    return im
