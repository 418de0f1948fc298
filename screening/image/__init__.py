"""Image screening: protected logos found by shape (hashes, region proposals, verification), and OCR text.

Public API: `ImageRegistry` (reference images), `ImageScreener` (bytes -> Verdict), `decode_image`, and
the error tree rooted at `ImageError` (a ValueError).
"""

from screening.image.decode import DecodedImage, decode_image
from screening.image.errors import ImageDecodeError, ImageError, ImageTooLarge, RegistryError
from screening.image.registry import ImageEntry, ImageRegistry
from screening.image.screener import ImageMatch, ImageScreener, MatchReport, TextScreener

__all__ = [
    "DecodedImage",
    "ImageDecodeError",
    "ImageEntry",
    "ImageError",
    "ImageMatch",
    "ImageRegistry",
    "ImageScreener",
    "ImageTooLarge",
    "MatchReport",
    "RegistryError",
    "TextScreener",
    "decode_image",
]
