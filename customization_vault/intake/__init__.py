"""Upload intake: type by content, bounded validation, metadata stripping without re-encoding.

Pure functions the API calls on every upload (already in memory, bounded by `Limits.max_upload_bytes`)
before the vault encrypts and the screener screens it. `accept_file` runs the whole sequence; the parts
are public for callers that need one step. Errors: see `customization_vault.intake.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from customization_vault.intake.errors import (
    CorruptFont,
    CorruptImage,
    DecompressionBomb,
    EmptyInput,
    FontTooLarge,
    InvalidText,
    TextTooLong,
    TooManyFrames,
    TooManyPixels,
    TypeMismatch,
    UnknownFormat,
    UploadTooLarge,
)
from customization_vault.intake.limits import Limits
from customization_vault.intake.sanitize import Sanitized, strip_metadata
from customization_vault.intake.sniff import MEDIA_TYPES, MediaType, check_declared_type, sniff
from customization_vault.intake.validate import (
    ImageFacts,
    check_size,
    validate_font,
    validate_image,
    validate_text,
)

__all__ = [
    "MEDIA_TYPES",
    "AcceptedFile",
    "CorruptFont",
    "CorruptImage",
    "DecompressionBomb",
    "EmptyInput",
    "FontTooLarge",
    "ImageFacts",
    "InvalidText",
    "Limits",
    "MediaType",
    "Sanitized",
    "TextTooLong",
    "TooManyFrames",
    "TooManyPixels",
    "TypeMismatch",
    "UnknownFormat",
    "UploadTooLarge",
    "accept_file",
    "check_declared_type",
    "check_size",
    "sniff",
    "strip_metadata",
    "validate_font",
    "validate_image",
    "validate_text",
]


@dataclass(frozen=True, slots=True)
class AcceptedFile:
    """A file fit to encrypt and screen: `data` is the sanitised bytes, `removed` what was stripped."""

    media_type: MediaType
    data: bytes = field(repr=False)
    removed: tuple[str, ...]
    image: ImageFacts | None
    original_size: int

    def __repr__(self) -> str:  # the bytes are customer content: never in logs or reprs
        return (
            f"AcceptedFile({self.media_type}, <{len(self.data)} bytes>, removed={self.removed!r}, "
            f"image={self.image!r}, original_size={self.original_size})"
        )


def accept_file(data: bytes, limits: Limits, declared_type: str | None = None) -> AcceptedFile:
    """Size, sniff, (optionally) compare the declared type, validate, strip metadata — in that order.

    Cheapest checks first: size and magic cost nothing, decoding costs the most. The image is
    validated AFTER stripping, on the very bytes that will be stored, so whatever the vault keeps is
    known to decode within the limits (tests prove stripping leaves the pixels identical).
    Pass `declared_type=None` to skip the Content-Type comparison.
    """
    check_size(len(data), limits)
    media_type = sniff(data)
    check_declared_type(declared_type, media_type)
    if media_type.kind == "font":
        validate_font(data, media_type, limits)
        return AcceptedFile(media_type, data, (), None, len(data))
    clean = strip_metadata(data, media_type, max_frames=limits.max_frames)
    facts = validate_image(clean.data, media_type, limits)
    return AcceptedFile(media_type, clean.data, clean.removed, facts, len(data))
