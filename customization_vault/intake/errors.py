"""Typed rejections of client input at intake; each `code` is stable and safe to show to the client.

    InvalidInput (customization_vault.errors)
    ├── EmptyInput          "empty"            no bytes, or text that is only whitespace/invisible
    ├── TypeMismatch        "type_mismatch"    declared Content-Type disagrees with the sniffed type
    ├── CorruptImage        "corrupt_image"    truncated/malformed image or container structure
    ├── CorruptFont         "corrupt_font"     a table directory out of bounds, or required tables missing
    ├── InvalidText         "invalid_text"     NUL or unpaired surrogate in a text item
    ├── TooLarge
    │   ├── UploadTooLarge  "upload_too_large" byte size over `max_upload_bytes`
    │   ├── FontTooLarge    "font_too_large"   byte size over `max_font_bytes`
    │   ├── TooManyPixels   "too_many_pixels"  width x height x frames over `max_pixels`
    │   ├── TooManyFrames   "too_many_frames"  animation longer than `max_frames`
    │   ├── DecompressionBomb "decompression_bomb"  Pillow's own bomb guard fired
    │   └── TextTooLong     "text_too_long"    more than `max_text_chars` code points
    └── UnsupportedType
        └── UnknownFormat   "unknown_format"   magic bytes of no accepted format

Messages name limits and formats only, never bytes or text from the upload (they may reach logs).
"""

from __future__ import annotations

from customization_vault.errors import InvalidInput, TooLarge, UnsupportedType

__all__ = [
    "CorruptFont",
    "CorruptImage",
    "DecompressionBomb",
    "EmptyInput",
    "FontTooLarge",
    "InvalidText",
    "TextTooLong",
    "TooManyFrames",
    "TooManyPixels",
    "TypeMismatch",
    "UnknownFormat",
    "UploadTooLarge",
]


class EmptyInput(InvalidInput):
    code = "empty"


class TypeMismatch(InvalidInput):
    code = "type_mismatch"


class CorruptImage(InvalidInput):
    code = "corrupt_image"


class CorruptFont(InvalidInput):
    code = "corrupt_font"


class InvalidText(InvalidInput):
    code = "invalid_text"


class UploadTooLarge(TooLarge):
    code = "upload_too_large"


class FontTooLarge(TooLarge):
    code = "font_too_large"


class TooManyPixels(TooLarge):
    code = "too_many_pixels"


class TooManyFrames(TooLarge):
    code = "too_many_frames"


class DecompressionBomb(TooLarge):
    code = "decompression_bomb"


class TextTooLong(TooLarge):
    code = "text_too_long"


class UnknownFormat(UnsupportedType):
    code = "unknown_format"
