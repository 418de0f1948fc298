"""Read an image's declared width and height from its first header bytes, without Pillow.

This lets `validate_image` refuse an over-limit image before Pillow opens it, so the limit applies the
same way whatever Pillow's global `MAX_IMAGE_PIXELS` is and whatever warning filters are active
(Pillow only warns between its limit and twice it). Returns None whenever unsure; Pillow then decides.
"""

from __future__ import annotations

import struct

from customization_vault.intake.sniff import GIF, JPEG, PNG, WEBP, MediaType

# SOFn markers (baseline, progressive, lossless, arithmetic); C4/C8/CC are DHT/JPG/DAC, not frames.
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_MAX_JPEG_SEGMENTS = 4096


def peek_size(data: bytes, media_type: MediaType) -> tuple[int, int] | None:
    try:
        if media_type == PNG and data[12:16] == b"IHDR":
            w, h = struct.unpack_from(">II", data, 16)
            return w, h
        if media_type == GIF:
            w, h = struct.unpack_from("<HH", data, 6)
            return w, h
        if media_type == WEBP:
            return _webp_size(data)
        if media_type == JPEG:
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    fourcc = data[12:16]
    if fourcc == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return (w, h) if len(data) >= 30 else None
    if fourcc == b"VP8L" and data[20:21] == b"\x2f":
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if fourcc == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack_from("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    for _ in range(_MAX_JPEG_SEGMENTS):
        if data[pos : pos + 1] != b"\xff":
            return None
        while data[pos : pos + 1] == b"\xff":
            pos += 1
        marker = data[pos : pos + 1]
        if not marker:
            return None
        m = marker[0]
        pos += 1
        if m in _SOF:
            h, w = struct.unpack_from(">HH", data, pos + 3)
            return (w, h) if h else None  # height 0 means "defined later by DNL"
        if m == 0xDA or m == 0xD9 or m == 0x00:
            return None
        if m == 0x01 or 0xD0 <= m <= 0xD7:
            continue
        (length,) = struct.unpack_from(">H", data, pos)
        pos += length
    return None
