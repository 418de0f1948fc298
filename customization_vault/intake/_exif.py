"""Just enough TIFF/Exif reading to keep Orientation and name what a dropped Exif block held.

We never copy anything out of an Exif block except the Orientation value (1..8), so a hostile block can
at worst make us drop orientation; every offset is bounds-checked and a malformed block reads as "no
orientation" rather than an error, because the block is being discarded anyway.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKER_NOTE = 0x927C
# Tags that identify a device or its owner (camera/lens make, model, serial numbers, owner name).
_DEVICE_TAGS = frozenset({0x010F, 0x0110, 0xC62F, 0xA430, 0xA431, 0xA433, 0xA434, 0xA435, _MAKER_NOTE})
_MAX_ENTRIES = 1024  # a real IFD0/Exif IFD has tens; bounds work on a hostile count
_SHORT = 3


@dataclass(frozen=True, slots=True)
class ExifSummary:
    """What a TIFF/Exif block held, as far as intake cares: nothing of its content is retained."""

    orientation: int = 1
    gps: bool = False
    device: bool = False


def _entries(tiff: bytes, fmt: str, offset: int) -> list[tuple[int, int, int, bytes]]:
    """(tag, type, count, 4-byte value field) of the IFD at `offset`; [] when out of bounds."""
    if offset < 8 or offset + 2 > len(tiff):
        return []
    (count,) = struct.unpack_from(fmt + "H", tiff, offset)
    count = min(count, _MAX_ENTRIES, (len(tiff) - offset - 2) // 12)
    out = []
    for i in range(count):
        pos = offset + 2 + 12 * i
        tag, typ, n = struct.unpack_from(fmt + "HHI", tiff, pos)
        out.append((tag, typ, n, tiff[pos + 8 : pos + 12]))
    return out


def read_tiff(tiff: bytes) -> ExifSummary:
    """Summarise a TIFF-structured Exif block (the bytes after JPEG's "Exif\\0\\0" or PNG's eXIf)."""
    if len(tiff) < 8:
        return ExifSummary()
    if tiff[:4] == b"II*\x00":
        fmt = "<"
    elif tiff[:4] == b"MM\x00*":
        fmt = ">"
    else:
        return ExifSummary()
    (ifd0,) = struct.unpack_from(fmt + "I", tiff, 4)
    orientation, gps, device = 1, False, False
    exif_ifd = 0
    for tag, typ, n, value in _entries(tiff, fmt, ifd0):
        if tag == _ORIENTATION and typ == _SHORT and n == 1:
            (v,) = struct.unpack_from(fmt + "H", value)
            orientation = v if 1 <= v <= 8 else 1
        elif tag == _GPS_IFD:
            gps = True
        elif tag == _EXIF_IFD:
            (exif_ifd,) = struct.unpack_from(fmt + "I", value)
        if tag in _DEVICE_TAGS:
            device = True
    if exif_ifd and not device:
        device = any(tag in _DEVICE_TAGS for tag, _, _, _ in _entries(tiff, fmt, exif_ifd))
    return ExifSummary(orientation=orientation, gps=gps, device=device)


def orientation_only_tiff(orientation: int) -> bytes:
    """A big-endian TIFF with one IFD holding one tag, Orientation: the whole of what we re-emit."""
    if not 1 <= orientation <= 8:
        raise ValueError("orientation is 1..8")
    return b"MM\x00*" + struct.pack(">IHHHIHHI", 8, 1, _ORIENTATION, _SHORT, 1, orientation, 0, 0)
