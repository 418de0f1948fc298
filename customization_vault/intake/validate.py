"""Bounded validation of uploads: images decode within the pixel budget, text and fonts within theirs.

Every function here raises only the typed errors of `intake.errors` for any input, so the API can map
each to a 4xx and never answer 500 to a hostile file.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from PIL import Image

from customization_vault.errors import UnsupportedType, VaultError
from customization_vault.intake._fonts import check_font_structure
from customization_vault.intake._headers import peek_size
from customization_vault.intake.errors import (
    CorruptImage,
    DecompressionBomb,
    EmptyInput,
    FontTooLarge,
    InvalidText,
    TextTooLong,
    TooManyFrames,
    TooManyPixels,
    UploadTooLarge,
)
from customization_vault.intake.limits import Limits
from customization_vault.intake.sanitize import strip_metadata
from customization_vault.intake.sniff import MediaType

__all__ = ["ImageFacts", "check_size", "validate_font", "validate_image", "validate_text"]

_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """Non-content facts about a validated image: safe to store and log."""

    width: int
    height: int
    frames: int
    mode: str
    orientation: int = 1  # Exif Orientation kept by the sanitiser (1-8)

    @property
    def displayed(self) -> tuple[int, int]:
        """(width, height) as viewers show it: orientations 5-8 turn the picture a quarter."""
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


def check_size(size: int, limits: Limits, media_type: MediaType | None = None) -> None:
    """Raise `UploadTooLarge` / `FontTooLarge` for a byte size over the limit for its kind.

    The API should also bound its read with `limits.max_upload_bytes` and raise `UploadTooLarge`
    itself, so an oversized body is never held whole in memory.
    """
    if size > limits.max_upload_bytes:
        raise UploadTooLarge(f"the upload exceeds {limits.max_upload_bytes} bytes")
    if media_type is not None and media_type.kind == "font" and size > limits.max_font_bytes:
        raise FontTooLarge(f"a font may not exceed {limits.max_font_bytes} bytes")


def validate_font(data: bytes, media_type: MediaType, limits: Limits) -> None:
    """Size, then the table directory (`_fonts.check_font_structure`: bounds, required tables, `head`
    and `maxp`), so fulfilment never receives a font it cannot open; reading the names and licence
    bits belongs to `screening.fonts`."""
    if media_type.kind != "font":
        raise UnsupportedType(f"{media_type} is not a font type")
    if not data:
        raise EmptyInput("the upload is empty")
    check_size(len(data), limits, media_type)
    check_font_structure(data, media_type)


def validate_image(data: bytes, media_type: MediaType, limits: Limits) -> ImageFacts:
    """Walk the container, enforce the pixel and frame budgets, then decode every frame.

    Order matters: the budget is checked from the header (`_headers.peek_size`, then Pillow's size and
    declared frame count) before any pixel is decoded, so a 50-byte PNG declaring 100k x 100k pixels
    costs nothing. Decoding is the only reliable truncation check; JPEG decodes in DCT draft mode
    (1/8 scale), which still entropy-decodes the whole stream but needs 1/64 of the memory.
    Relies on Pillow's process-wide `ImageFile.LOAD_TRUNCATED_IMAGES` staying False (the default):
    nothing in this service may set it, or truncated files would decode grey-filled and pass.
    """
    fmt = _PIL_FORMATS.get(media_type.content_type)
    if fmt is None:
        raise UnsupportedType(f"{media_type} is not an image type")
    if not data:
        raise EmptyInput("the upload is empty")
    check_size(len(data), limits, media_type)
    size = peek_size(data, media_type)
    if size is not None:
        _check_pixels(size[0] * size[1], limits)
    # The container walk before Pillow: bounded, and it refuses structure floods (millions of empty
    # segments) that Pillow's own per-segment Python loops would take minutes over.
    strip_metadata(data, media_type, max_frames=limits.max_frames)
    try:
        return _decode(data, fmt, limits)
    except VaultError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The warning is an exception when warnings are errors (as under pytest); either way the
        # image is past Pillow's global bound, which is far above any sane `max_pixels`.
        raise DecompressionBomb("the image exceeds the decoder's pixel limit") from None
    except Exception as exc:
        # Pillow's failure modes on hostile bytes are unbounded (OSError, SyntaxError, ValueError,
        # struct.error, EOFError, ZeroDivisionError...): all mean "not a decodable image". The
        # original is not chained: some Pillow messages quote bytes of the file.
        raise CorruptImage(f"the image could not be decoded ({type(exc).__name__})") from None


def _check_pixels(pixels: int, limits: Limits) -> None:
    if pixels > limits.max_pixels:
        raise TooManyPixels(f"the image exceeds {limits.max_pixels} pixels (width x height x frames)")


def _decode(data: bytes, fmt: str, limits: Limits) -> ImageFacts:
    if fmt == "PNG":
        # Only PNG's verify() does work (chunk CRCs); it consumes the image, so it gets its own open.
        with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
            probe.verify()
    with Image.open(io.BytesIO(data), formats=[fmt]) as im:
        width, height = im.size
        mode = im.mode
        orientation = 1
        if width < 1 or height < 1:
            raise CorruptImage("the image has no pixels")
        # GIF has no frame count in its header (counting means parsing every frame), so GIF is
        # bounded frame by frame below; the others declare it.
        declared = 1 if fmt == "GIF" else int(getattr(im, "n_frames", 1))
        if declared > limits.max_frames:
            raise TooManyFrames(f"the animation exceeds {limits.max_frames} frames")
        _check_pixels(width * height * declared, limits)
        frames = total = 0
        while True:
            if frames:
                try:
                    im.seek(frames)
                except EOFError:
                    break
                if frames >= limits.max_frames:
                    raise TooManyFrames(f"the animation exceeds {limits.max_frames} frames")
            w, h = im.size  # a GIF frame can grow the canvas
            total += w * h
            _check_pixels(total, limits)
            if fmt == "JPEG" and frames == 0:
                im.draft(im.mode, (max(1, w // 8), max(1, h // 8)))
            im.load()
            if frames == 0:
                # Only after the first frame decoded: Pillow's PNG `getexif()` loads the image itself,
                # and `_orientation` swallows every error, so read first, a corrupt stream passed as
                # decoded (the hostile corpus's png-corrupt-deflate).
                orientation = _orientation(im)
            frames += 1
        return ImageFacts(width=width, height=height, frames=frames, mode=mode, orientation=orientation)


def _orientation(im: Image.Image) -> int:
    """The Exif Orientation the sanitiser kept (1 when absent or unreadable: it was kept only if valid)."""
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # a malformed block reads as "no orientation", as the sanitiser reads it
        return 1
    return value if 1 <= value <= 8 else 1


# Surrogates cannot be encoded to UTF-8; in a Python str every one of them is unpaired by definition.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters that print nothing: whitespace, format (ZWSP, ZWJ, BOM, bidi marks) and control.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})


def validate_text(text: str, limits: Limits) -> str:
    """Return `text` unchanged (no normalisation: the customer's exact text is what gets printed).

    Raises `TextTooLong` over `max_text_chars` code points, `InvalidText` for NUL or a lone
    surrogate (neither survives storage or printing), `EmptyInput` when nothing visible remains.
    """
    if len(text) > limits.max_text_chars:
        raise TextTooLong(f"the text exceeds {limits.max_text_chars} characters")
    if "\x00" in text or _SURROGATE.search(text):
        raise InvalidText("the text contains NUL or an unpaired surrogate")
    if all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text):
        raise EmptyInput("the text is empty or only whitespace")
    return text
