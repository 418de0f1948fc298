"""Remove location and device metadata from images by rewriting the container, never the pixels.

Each format's walker copies the segments/chunks/blocks that carry pixels or colour byte for byte and
drops the ones that carry metadata; re-encoding would be lossy for JPEG and slow for all. Orientation
alone survives (as a freshly built one-tag Exif) so a portrait photo does not print sideways. Where we
go beyond "drop Exif/XMP", it is to minimise data: embedded thumbnails (which can show what a crop
removed), trailing bytes after the image's end (motion-photo videos, secondary MPO images) and
unknown ancillary chunks are dropped too, since no decoder needs them to draw the image.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field

from customization_vault.intake._exif import ExifSummary, orientation_only_tiff, read_tiff
from customization_vault.intake.errors import CorruptImage, TooManyFrames
from customization_vault.intake.sniff import GIF, JPEG, PNG, WEBP, MediaType

__all__ = ["Sanitized", "strip_metadata"]


@dataclass(frozen=True, slots=True)
class Sanitized:
    """The rewritten file and what was removed, as stable tokens in order of first encounter:

    "exif" (any Exif block; also when replaced by our orientation-only one), "gps" (GPS IFD, or GPS in
    XMP), "device" (make/model/serial/owner/maker note), "xmp", "iptc", "comment", "thumbnail"
    (JFIF/JFXX), "mpf" (multi-picture index), "appN" (other JPEG APPn), "text" / "time" (PNG),
    "ancillary_chunk" (PNG), "unknown_chunk" (WebP), "application_extension" (GIF), "trailing_data".
    """

    data: bytes = field(repr=False)
    removed: tuple[str, ...]

    def __repr__(self) -> str:  # the bytes are customer content: never in logs or reprs
        return f"Sanitized(<{len(self.data)} bytes>, removed={self.removed!r})"


class _Removed:
    """An insertion-ordered set of removal tokens, so `removed` is deterministic for the item record."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, *tokens: str) -> None:
        for t in tokens:
            self._items.setdefault(t, None)

    def exif(self, summary: ExifSummary) -> None:
        self.add("exif")
        if summary.gps:
            self.add("gps")
        if summary.device:
            self.add("device")

    def xmp(self, payload: bytes) -> None:
        self.add("xmp")
        # XMP spells GPS as exif:GPSLatitude etc.; a case-sensitive "GPS" is a cheap, safe tell.
        if b"GPS" in payload:
            self.add("gps")

    def tuple(self) -> tuple[str, ...]:
        return tuple(self._items)


def strip_metadata(data: bytes, media_type: MediaType, *, max_frames: int | None = None) -> Sanitized:
    """`data` with metadata removed; pixels and colour data byte-identical; fonts returned unchanged.

    Raises `CorruptImage` when the container structure is malformed, `TooManyFrames` as above, and
    nothing else for any input.
    The walkers check structure, not that the pixels decode: `validate_image` the result.
    `max_frames` stops a GIF's walk at its frame limit (`TooManyFrames`): GIF declares no frame count,
    and an animation of thousands of tiny frames would otherwise exhaust the block budget first and
    be called corrupt when it is only too long.
    Every walker caps how many segments/chunks/blocks it visits, so a file made of millions of
    empty structures (25 MiB of 4-byte JPEG comments) is refused in milliseconds, not minutes.
    """
    walker = _WALKERS.get(media_type)
    if walker is None:
        return Sanitized(data, ())
    try:
        if media_type == GIF:
            return _strip_gif(data, max_frames)
        return walker(data)
    except (IndexError, struct.error) as exc:  # safety net: every read is bounds-checked beforehand
        raise CorruptImage(f"malformed {media_type} structure") from exc


def _corrupt(what: str) -> CorruptImage:
    return CorruptImage(f"malformed image structure: {what}")


# --------------------------------------------------------------------------------------------- JPEG
_JFIF = b"JFIF\x00"
_JFXX = b"JFXX\x00"
_EXIF = b"Exif\x00\x00"
_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT = b"http://ns.adobe.com/xmp/extension/\x00"
_ICC = b"ICC_PROFILE\x00"
_MPF = b"MPF\x00"
_ADOBE = b"Adobe"
_SOS, _EOI, _COM, _APP0, _APP1, _APP2, _APP13, _APP14 = 0xDA, 0xD9, 0xFE, 0xE0, 0xE1, 0xE2, 0xED, 0xEE
# Markers with no length field: TEM and RST0-7 (SOI/EOI are handled on their own).
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# Real JPEGs have tens of segments outside the scans (hundreds with split ICC/extended XMP).
_MAX_JPEG_MARKERS = 10_000
# Encoders write at most a few dozen scans; each progressive scan can make the decoder revisit every
# coefficient block, so thousands of tiny scans are a CPU bomb in a small file.
_MAX_JPEG_SCANS = 256
_FILL = re.compile(rb"\xff*")
# Inside a scan 0xFF is followed by 0x00 (stuffing), RSTn or another 0xFF (fill); anything else is a
# marker ending the scan. Searched with `re` so hostile scan data costs C speed, not a Python loop.
_END_OF_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise _corrupt("JPEG segment too long")
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _strip_jpeg(data: bytes) -> Sanitized:
    n = len(data)
    if data[:2] != b"\xff\xd8":
        raise _corrupt("JPEG without start-of-image")
    out = bytearray(b"\xff\xd8")
    removed = _Removed()
    pos = 2
    orientation, exif_slot = 1, -1
    in_scans = False
    scans = 0
    for _ in range(_MAX_JPEG_MARKERS):
        if pos >= n:
            if in_scans:  # no EOI: a decoder that accepted it stops at the end of data anyway
                break
            raise _corrupt("JPEG ends before its first scan")
        if data[pos] != 0xFF:
            raise _corrupt("JPEG marker expected")
        fill = _FILL.match(data, pos)  # fill bytes may precede any marker
        pos = fill.end() if fill else pos
        if pos >= n:
            raise _corrupt("JPEG ends inside a marker")
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            out += b"\xff\xd9"
            if pos < n:
                removed.add("trailing_data")
            break
        if marker in _STANDALONE:
            out += bytes((0xFF, marker))
            continue
        if marker in (0x00, 0xD8):
            raise _corrupt("unexpected JPEG marker")
        if pos + 2 > n:
            raise _corrupt("JPEG segment header truncated")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > n:
            raise _corrupt("JPEG segment length out of range")
        payload = data[pos + 2 : pos + length]
        pos += length
        keep = bytes((0xFF, marker)) + data[pos - length : pos]
        if marker == _APP0:
            if payload.startswith(_JFIF):
                if len(payload) > 14 or (len(payload) == 14 and payload[12] * payload[13] > 0):
                    # JFIF may carry an uncompressed RGB thumbnail (or bytes past its fixed fields):
                    # keep the 14 fixed bytes with a 0x0 thumbnail.
                    keep = _jpeg_segment(_APP0, payload[:12] + b"\x00\x00")
                    removed.add("thumbnail" if payload[12] * payload[13] > 0 else "app0")
                out += keep
            else:
                removed.add("thumbnail" if payload.startswith(_JFXX) else "app0")
        elif marker == _APP1:
            if payload.startswith(_EXIF):
                summary = read_tiff(payload[len(_EXIF) :])
                removed.exif(summary)
                if exif_slot < 0 and not in_scans:
                    exif_slot, orientation = len(out), summary.orientation
            elif payload.startswith((_XMP, _XMP_EXT)):
                removed.xmp(payload)
            else:
                removed.add("app1")
        elif marker == _APP2:
            if payload.startswith(_ICC):
                out += keep  # colour management: dropping it would change how pixels look
            else:
                removed.add("mpf" if payload.startswith(_MPF) else "app2")
        elif marker == _APP14 and payload.startswith(_ADOBE):
            out += keep  # its transform flag decides how CMYK/YCCK samples are interpreted
        elif marker == _APP13:
            removed.add("iptc")
        elif 0xE0 <= marker <= 0xEF:
            removed.add(f"app{marker - 0xE0}")
        elif marker == _COM:
            removed.add("comment")
        else:
            out += keep  # tables, frame and scan headers, restart intervals
        if marker == _SOS:
            in_scans = True
            scans += 1
            if scans > _MAX_JPEG_SCANS:
                raise _corrupt("too many JPEG scans")
            end = _END_OF_SCAN.search(data, pos)
            scan_end = n if end is None else end.start()
            out += data[pos:scan_end]
            pos = scan_end
    else:
        raise _corrupt("too many JPEG segments")
    if exif_slot >= 0 and orientation != 1:
        tiff = orientation_only_tiff(orientation)
        out[exif_slot:exif_slot] = _jpeg_segment(_APP1, _EXIF + tiff)
    return Sanitized(bytes(out), removed.tuple())


# ---------------------------------------------------------------------------------------------- PNG
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
# Chunks a decoder needs to draw the image right: header, palette, data, transparency, colour
# management, HDR colour, physical size, animation (APNG). Everything else ancillary is dropped.
_PNG_KEEP = frozenset(
    {
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP",
        b"mDCV", b"mDCv", b"cLLI", b"cLLi", b"sBIT", b"bKGD", b"hIST", b"pHYs", b"sPLT",
        b"acTL", b"fcTL", b"fdAT",
    }
)  # fmt: skip
_PNG_TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt"})
_XMP_KEYWORD = b"XML:com.adobe.xmp"
_RAW_PROFILES = {b"exif": "exif", b"app1": "exif", b"iptc": "iptc", b"8bim": "iptc", b"xmp": "xmp"}


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _strip_png(data: bytes) -> Sanitized:
    n = len(data)
    if not data.startswith(_PNG_SIG):
        raise _corrupt("PNG without signature")
    out = bytearray(_PNG_SIG)
    removed = _Removed()
    pos = len(_PNG_SIG)
    orientation, exif_slot = 1, -1
    first = True
    # IDAT may be split into many chunks (8 KiB is common; one per row is rare but legal).
    for _ in range(65_536 + n // 256):
        if pos + 12 > n:
            raise _corrupt("PNG ends before IEND")
        (length,) = struct.unpack_from(">I", data, pos)
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > n or not ctype.isalpha():
            raise _corrupt("PNG chunk out of range")
        if first and ctype != b"IHDR":
            raise _corrupt("PNG does not start with IHDR")
        first = False
        body = data[pos + 8 : pos + 8 + length]
        if ctype in _PNG_KEEP:
            out += data[pos:end]
        elif ctype == b"eXIf":
            summary = read_tiff(body)
            removed.exif(summary)
            if exif_slot < 0:
                exif_slot, orientation = len(out), summary.orientation
        elif ctype in _PNG_TEXT:
            keyword = body.split(b"\x00", 1)[0]
            if keyword == _XMP_KEYWORD:
                removed.xmp(body)
            elif keyword.startswith(b"Raw profile type "):  # ImageMagick's hex-encoded Exif/IPTC/XMP
                removed.add(_RAW_PROFILES.get(keyword[17:].lower(), "text"))
            else:
                removed.add("text")
        elif ctype == b"tIME":
            removed.add("time")
        elif ctype[0:1].isupper():
            out += data[pos:end]  # an unknown critical chunk may matter to pixels: never drop it
        else:
            removed.add("ancillary_chunk")
        pos = end
        if ctype == b"IEND":
            if pos < n:
                removed.add("trailing_data")
            break
    else:
        raise _corrupt("too many PNG chunks")
    if exif_slot >= 0 and orientation != 1:
        out[exif_slot:exif_slot] = _png_chunk(b"eXIf", orientation_only_tiff(orientation))
    return Sanitized(bytes(out), removed.tuple())


# --------------------------------------------------------------------------------------------- WebP
# Image data, colour and animation chunks; EXIF/XMP and unknown chunks (readers must ignore them, so no
# rendering depends on them) are dropped.
_WEBP_KEEP = frozenset({b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04
_MAX_WEBP_CHUNKS = 65_536  # one ANMF per frame; frame counts far below this are enforced later


def _riff_chunk(fourcc: bytes, body: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def _strip_webp(data: bytes) -> Sanitized:
    n = len(data)
    if n < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _corrupt("WebP without RIFF header")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = 8 + riff_size
    if riff_size < 4 or end > n:
        raise _corrupt("RIFF size out of range")
    removed = _Removed()
    if end < n:
        removed.add("trailing_data")
    parts: list[bytes] = []
    vp8x_index = -1
    orientation, exif_slot = 1, -1
    pos = 12
    chunks = 0
    while pos < end:
        chunks += 1
        if chunks > _MAX_WEBP_CHUNKS:
            raise _corrupt("too many WebP chunks")
        if pos + 8 > end:
            raise _corrupt("WebP chunk header truncated")
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body_end = pos + 8 + size
        if body_end > end:
            raise _corrupt("WebP chunk out of range")
        body = data[pos + 8 : body_end]
        # Chunks are padded to even length; a missing final pad byte is tolerated and restored.
        nxt = min(body_end + (size & 1), end)
        if fourcc in _WEBP_KEEP:
            if fourcc == b"VP8X":
                vp8x_index = len(parts)
            parts.append(data[pos:nxt] if nxt - pos == 8 + size + (size & 1) else _riff_chunk(fourcc, body))
        elif fourcc == b"EXIF":
            # Some writers prefix the TIFF with JPEG's "Exif\0\0"; accept both.
            summary = read_tiff(body[len(_EXIF) :] if body.startswith(_EXIF) else body)
            removed.exif(summary)
            if exif_slot < 0:
                exif_slot, orientation = len(parts), summary.orientation
        elif fourcc == b"XMP ":
            removed.xmp(body)
        else:
            removed.add("unknown_chunk")
        pos = nxt
    emit_exif = vp8x_index >= 0 and exif_slot >= 0 and orientation != 1
    if emit_exif:
        parts.insert(exif_slot, _riff_chunk(b"EXIF", orientation_only_tiff(orientation)))
        if exif_slot <= vp8x_index:
            vp8x_index += 1
    if vp8x_index >= 0:
        vp8x = bytearray(parts[vp8x_index])
        if len(vp8x) < 9:
            raise _corrupt("VP8X chunk too short")
        # The flags must agree with the chunks present, or strict readers reject the file.
        vp8x[8] &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
        if emit_exif:
            vp8x[8] |= _VP8X_EXIF
        parts[vp8x_index] = bytes(vp8x)
    body = b"".join(parts)
    return Sanitized(b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body, removed.tuple())


# ---------------------------------------------------------------------------------------------- GIF
# Application extensions that only set the loop count; every other one (XMP, ICC, vendor data) goes.
_GIF_LOOPING = frozenset({b"NETSCAPE2.0", b"ANIMEXTS1.0"})


class _Budget:
    """Counts GIF blocks and sub-blocks. Encoders fill sub-blocks to 255 bytes, so a real file has
    about len/256 of them; a file of 1-byte sub-blocks (len/2) is refused once it passes len/200."""

    def __init__(self, n: int) -> None:
        self.left = 10_000 + n // 200

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _corrupt("too many GIF blocks")


def _skip_sub_blocks(data: bytes, pos: int, budget: _Budget) -> int:
    n = len(data)
    while True:
        if pos >= n:
            raise _corrupt("GIF data sub-blocks truncated")
        budget.spend()
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _color_table_size(flags: int) -> int:
    return 3 << ((flags & 0x07) + 1) if flags & 0x80 else 0


def _strip_gif(data: bytes, max_frames: int | None = None) -> Sanitized:
    n = len(data)
    if n < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        raise _corrupt("GIF without header")
    pos = 13 + _color_table_size(data[10])
    if pos > n:
        raise _corrupt("GIF global colour table truncated")
    out = bytearray(data[:pos])
    removed = _Removed()
    budget = _Budget(n)
    frames = 0
    while pos < n:  # a missing trailer is tolerated, as decoders do
        budget.spend()
        introducer = data[pos]
        if introducer == 0x3B:
            out += b";"
            if pos + 1 < n:
                removed.add("trailing_data")
            break
        if introducer == 0x21:
            if pos + 2 > n:
                raise _corrupt("GIF extension truncated")
            label = data[pos + 1]
            end = _skip_sub_blocks(data, pos + 2, budget)
            if label == 0xFE:
                removed.add("comment")
            elif label == 0xFF:
                app = data[pos + 3 : pos + 14] if data[pos + 2] == 11 else b""
                if app in _GIF_LOOPING:
                    out += data[pos:end]
                elif app == b"XMP DataXMP":
                    removed.xmp(data[pos + 14 : end])
                else:
                    removed.add("application_extension")
            else:
                out += data[pos:end]  # graphic control (delay, transparency, disposal) and plain text
            pos = end
        elif introducer == 0x2C:
            frames += 1
            if max_frames is not None and frames > max_frames:
                raise TooManyFrames(f"the animation exceeds {max_frames} frames")
            if pos + 10 > n:
                raise _corrupt("GIF image descriptor truncated")
            start = pos + 10 + _color_table_size(data[pos + 9]) + 1  # + LZW minimum code size
            end = _skip_sub_blocks(data, start, budget)
            out += data[pos:end]
            pos = end
        else:
            raise _corrupt("unknown GIF block")
    return Sanitized(bytes(out), removed.tuple())


_WALKERS = {JPEG: _strip_jpeg, PNG: _strip_png, WEBP: _strip_webp, GIF: _strip_gif}
