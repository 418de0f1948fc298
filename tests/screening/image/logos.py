"""Synthetic logos for the image tests: seeded flat-colour glyphs, and the alterations customers make."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

CANVAS = 512


def glyph(seed: int, colour: tuple[int, int, int] = (200, 30, 40)) -> Image.Image:
    """A distinctive RGBA glyph: a star-like polygon, a ring and a bar, all placed by the seed."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGBA", (410, 410), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    n = int(rng.integers(5, 9))
    cx, cy = rng.uniform(150, 260, 2)
    pts = []
    for k in range(2 * n):
        r = rng.uniform(120, 190) if k % 2 == 0 else rng.uniform(40, 90)
        a = math.pi * k / n + rng.uniform(-0.15, 0.15)
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    d.polygon(pts, fill=(*colour, 255))
    x, y = rng.uniform(20, 300, 2)
    r = rng.uniform(30, 60)
    d.ellipse((x, y, x + 2 * r, y + 2 * r), outline=(*colour, 255), width=int(rng.integers(10, 20)))
    bx, by = rng.uniform(10, 250, 2)
    d.rectangle((bx, by, bx + rng.uniform(80, 150), by + rng.uniform(15, 30)), fill=(*colour, 255))
    return im


def tile(seed: int, colour: tuple[int, int, int] = (100, 80, 240)) -> Image.Image:
    """An app-icon style logo: a filled square with the seed's glyph cut out of it in white."""
    g = glyph(seed).resize((300, 300), Image.Resampling.LANCZOS)
    im = Image.new("RGBA", (410, 410), (*colour, 255))
    cut = Image.new("RGBA", g.size, (255, 255, 255, 255))
    im.paste(cut, (55, 55), g.getchannel("A"))
    return im


def on_white(g: Image.Image, ground: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    im = Image.new("RGB", (CANVAS, CANVAS), ground)
    off = (CANVAS - g.width) // 2
    im.paste(g, (off, off), g)
    return im


def recolour(g: Image.Image, rgb: tuple[int, int, int]) -> Image.Image:
    solid = Image.new("RGBA", g.size, (*rgb, 255))
    solid.putalpha(g.getchannel("A"))
    return solid


def encode(im: Image.Image, fmt: str = "PNG", **params: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **params)
    return buf.getvalue()


def placed(
    g: Image.Image, seed: int, size: tuple[int, int] = (1200, 900)
) -> tuple[Image.Image, tuple[int, ...]]:
    """The glyph on a t-shirt-like rectangle over a noisy gradient; returns the image and glyph box."""
    rng = np.random.default_rng(seed)
    w, h = size
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    bg = np.array([90, 120, 90], np.float32) * (1 - t) + np.array([160, 140, 170], np.float32) * t
    bg = np.broadcast_to(bg, (h, w, 3)) + rng.normal(0, 8, (h, w, 3))
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    shirt = np.clip(np.array([30, 40, 70], np.float32) + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rounded_rectangle((150, 80, w - 150, h - 20), radius=90, fill=255)
    img.paste(Image.fromarray(shirt), (0, 0), mask)
    side = int(0.45 * min(w, h))
    small = g.resize((side, side), Image.Resampling.LANCZOS)
    x, y = (w - side) // 2, (h - side) // 2
    img.paste(small, (x, y), small)
    return img, (x, y, side, side)


def captioned(base: Image.Image, text: str = "Happy Birthday Anna") -> Image.Image:
    im = Image.new("RGB", (base.width, base.height + 150), (255, 255, 255))
    im.paste(base, (0, 0))
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=48)
    d.text((40, base.height + 40), text, fill=(20, 20, 20), font=font)
    return im


def bordered(base: Image.Image) -> Image.Image:
    im = ImageOps.expand(base, border=(120, 60, 90, 150), fill=(240, 232, 220))
    ImageDraw.Draw(im).rectangle((0, 0, im.width - 1, im.height - 1), outline=(20, 90, 30), width=10)
    return im
