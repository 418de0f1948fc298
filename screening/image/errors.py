"""Errors of the image engine.

    ValueError
      ImageError                 anything the image engine refuses
        ImageDecodeError         bytes that are not a decodable image (or a truncated one)
          ImageTooLarge          more pixels than the decompression-bomb limit allows
        RegistryError            a registry that cannot be built or loaded (bad CSV row, bad files)

Messages name positions (a CSV line, a pixel count) and never the customer's content.
"""

from __future__ import annotations


class ImageError(ValueError):
    """Base of every error raised by `screening.image`."""


class ImageDecodeError(ImageError):
    """The bytes are not an image this engine can decode."""


class ImageTooLarge(ImageDecodeError):
    """The image declares more pixels than allowed: refused before decoding (decompression bombs)."""


class RegistryError(ImageError):
    """A reference registry row, file or directory is invalid."""
