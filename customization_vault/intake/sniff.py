"""Type an upload by its magic bytes alone; a filename or declared header is the client's claim, not fact.

The declared Content-Type is only compared afterwards (`check_declared_type`), so a renamed or mislabelled
file can never route bytes to the wrong parser or be served back under a type it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from customization_vault.intake.errors import EmptyInput, TypeMismatch, UnknownFormat

__all__ = [
    "GIF",
    "JPEG",
    "MEDIA_TYPES",
    "OTF",
    "PNG",
    "TTF",
    "WEBP",
    "WOFF",
    "WOFF2",
    "MediaType",
    "check_declared_type",
    "sniff",
]

Kind = Literal["image", "font"]


@dataclass(frozen=True, slots=True)
class MediaType:
    """A media type we accept: `content_type` is the IANA string served back, `kind` routes screening."""

    content_type: str
    kind: Kind

    def __str__(self) -> str:
        return self.content_type


PNG = MediaType("image/png", "image")
JPEG = MediaType("image/jpeg", "image")
WEBP = MediaType("image/webp", "image")
GIF = MediaType("image/gif", "image")
TTF = MediaType("font/ttf", "font")
OTF = MediaType("font/otf", "font")
WOFF = MediaType("font/woff", "font")
WOFF2 = MediaType("font/woff2", "font")

MEDIA_TYPES: dict[str, MediaType] = {m.content_type: m for m in (PNG, JPEG, WEBP, GIF, TTF, OTF, WOFF, WOFF2)}

# (prefix, media type). JPEG needs only SOI + the next marker's 0xFF: every JPEG continues with a marker.
_PREFIXES: tuple[tuple[bytes, MediaType], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"\x00\x01\x00\x00", TTF),
    (b"true", TTF),  # Apple's TrueType sfnt version tag
    (b"OTTO", OTF),
    (b"wOFF", WOFF),
    (b"wOF2", WOFF2),
)


def sniff(data: bytes) -> MediaType:
    """The accepted media type `data` starts with.

    Raises `EmptyInput` for no bytes and `UnknownFormat` (an `UnsupportedType`) for anything else,
    including formats Pillow could read but we do not accept (BMP, TIFF, ICO...), which widen the
    parser attack surface for no customer benefit.
    """
    if not data:
        raise EmptyInput("the upload is empty")
    for prefix, media_type in _PREFIXES:
        if data.startswith(prefix):
            return media_type
    # RIFF is a generic container (AVI, WAV...): only the form type at offset 8 makes it WebP.
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    raise UnknownFormat("the content is not a supported image or font format")


# Non-canonical names clients and libraries still send. `font/sfnt` and its aliases name the container
# TrueType and OpenType/CFF share, so they accept both.
_ALIASES: dict[str, frozenset[MediaType]] = {
    "image/jpg": frozenset({JPEG}),
    "image/pjpeg": frozenset({JPEG}),
    "image/x-png": frozenset({PNG}),
    "application/x-font-ttf": frozenset({TTF}),
    "application/x-font-truetype": frozenset({TTF}),
    "application/x-font-otf": frozenset({OTF}),
    "application/x-font-opentype": frozenset({OTF}),
    "application/vnd.ms-opentype": frozenset({OTF}),
    "font/sfnt": frozenset({TTF, OTF}),
    "application/font-sfnt": frozenset({TTF, OTF}),
    "application/font-woff": frozenset({WOFF}),
    "application/x-font-woff": frozenset({WOFF}),
    "application/font-woff2": frozenset({WOFF2}),
}

# "I don't know" from the client: nothing to contradict.
_UNDECLARED = frozenset({"", "application/octet-stream"})


def check_declared_type(declared: str | None, sniffed: MediaType) -> None:
    """Raise `TypeMismatch` when a client-declared Content-Type contradicts the sniffed one.

    Parameters (`; charset=...`) and case are ignored; absent or `application/octet-stream` passes.
    The declared value is never echoed in the message: it is client-controlled text.
    """
    if declared is None:
        return
    essence = declared.split(";", 1)[0].strip().lower()
    if essence in _UNDECLARED or essence == sniffed.content_type:
        return
    if sniffed in _ALIASES.get(essence, frozenset()):
        return
    raise TypeMismatch(f"the declared content type does not match the content, which is {sniffed}")
