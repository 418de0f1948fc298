"""Decode an upload small: JPEG DCT scaling, `reduce` for other formats, EXIF orientation, alpha on white.

Matching works on a few hundred pixels, so a 12-megapixel photo is never decoded whole when the format
allows scaling in the decoder; the pixel limit is checked from the header, before any decoding.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from screening.image.errors import ImageDecodeError, ImageTooLarge

# 64 MP covers every phone camera; a larger declared size is far more likely a decompression bomb
# (a few KB of PNG that inflates to gigabytes) than a customer photo.
DEFAULT_MAX_PIXELS = 64_000_000
_SLACK = 1.25
_ROTATING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An RGB image at working size, and the size of the original as displayed (EXIF applied)."""

    image: Image.Image
    original_size: tuple[int, int]

    @property
    def scale(self) -> float:
        """Original pixels per working pixel (>= 1 when the decoder scaled down)."""
        return self.original_size[0] / max(1, self.image.width)

    def __repr__(self) -> str:
        return f"DecodedImage(size={self.image.size}, original_size={self.original_size})"


def flatten(image: Image.Image) -> Image.Image:
    """RGB with any transparency composited on white: a transparent logo matches its white-ground form."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        ground = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        ground.alpha_composite(rgba)
        return ground.convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def decode_image(data: bytes, target: int = 512, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode `data` so that its longer side is about `target` pixels (at most 1.25x; never upscaled).

    Raises ImageTooLarge above `max_pixels` (checked on the header) and ImageDecodeError for
    anything Pillow cannot decode.
    """
    try:
        im: Image.Image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge("image declares more pixels than Pillow's bomb limit") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError("not a decodable image") from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        raise ImageDecodeError("image has an empty size")
    if width * height > max_pixels:
        raise ImageTooLarge(f"image has {width * height} pixels; the limit is {max_pixels}")
    try:
        orientation = int(im.getexif().get(0x0112, 1))
    except Exception:
        orientation = 1
    original = (height, width) if orientation in _ROTATING_ORIENTATIONS else (width, height)
    try:
        if getattr(im, "format", None) == "JPEG":
            # DCT scaling: decodes at 1/2, 1/4 or 1/8 directly, keeping at least `target` pixels.
            im.draft("RGB", (target, target))
        im.load()
        # Integer box reduction to within 1.25x of target, then no resampling at all: the shapes are
        # resampled to a small grid later anyway, and a resize would cost as much as the matching.
        factor = round(max(im.size) / target)
        if factor >= 2:
            im = im.reduce(factor)
        # Applied by hand: `reduce` returns an image without the Exif block exif_transpose would read.
        if orientation in _TRANSPOSES:
            im = im.transpose(_TRANSPOSES[orientation])
        rgb = flatten(im)
        if max(rgb.size) > target * _SLACK:
            # resize, not thumbnail: thumbnail on a JPEG file object re-runs draft and decodes again.
            scale = target / max(rgb.size)
            size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
            rgb = rgb.resize(size, Image.Resampling.BOX)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge("image declares more pixels than Pillow's bomb limit") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError("image data is truncated or corrupt") from exc
    return DecodedImage(rgb, original)
