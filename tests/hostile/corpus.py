"""The hostile input corpus: every case is built here by code (no committed binaries), as the request an
attacker would send and the exact answer the service owes it.

A case is a `Hostile`: the request (`body` and its `content_type`, or a multipart file with its
declared type and name), the status and problem `code` the service must answer, and nothing stored.
Cases the service legitimately accepts (a bidi flood around visible text is valid engraving text, a
polyglot's trailing bytes are stripped with the rest of the metadata) are `Accepted` cases instead:
they say what the stored item must look like.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

from PIL import Image

from tests.font_samples import build_font
from tests.vault.intake_samples import pattern, png_chunk, riff_chunk

BOUNDARY = "h0stile"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
JSON = "application/json"


@dataclass(frozen=True)
class Hostile:
    """A request the service must refuse with `status`/`code`, leaving nothing behind."""

    id: str
    body: bytes
    content_type: str | None
    status: int
    code: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    """A hostile-looking request the service accepts; `absent` are bytes the stored item must not hold
    (what the sanitiser strips), `exact` says the stored item is the upload byte for byte."""

    id: str
    body: bytes
    content_type: str | None
    absent: tuple[bytes, ...] = ()
    exact: bool = False


def multipart(
    data: bytes,
    *,
    filename: str | bytes = "upload.bin",
    ctype: str | None = "application/octet-stream",
    name: str = "file",
) -> bytes:
    fname = filename if isinstance(filename, bytes) else filename.encode()
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="'.encode()
        + fname
        + b'"\r\n'
    )
    if ctype:
        head += f"Content-Type: {ctype}\r\n".encode()
    return head + b"\r\n" + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def file_case(
    id: str, data: bytes, status: int, code: str | None, ctype: str | None = "application/octet-stream"
) -> Hostile:
    return Hostile(id, multipart(data, ctype=ctype), MULTIPART, status, code)


# ------------------------------------------------------------------------------------------- images


@cache
def png() -> bytes:
    buf = io.BytesIO()
    pattern((64, 48)).save(buf, "PNG")
    return buf.getvalue()


@cache
def jpeg() -> bytes:
    buf = io.BytesIO()
    pattern((64, 48)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


@cache
def gif() -> bytes:
    buf = io.BytesIO()
    pattern((64, 48)).convert("P", palette=Image.Palette.ADAPTIVE, colors=32).save(buf, "GIF")
    return buf.getvalue()


@cache
def webp() -> bytes:
    buf = io.BytesIO()
    pattern((64, 48)).save(buf, "WEBP", lossless=True)
    return buf.getvalue()


def png_claiming(width: int, height: int, *, frames: int | None = None) -> bytes:
    """A PNG whose IHDR claims `width` x `height` (and an APNG `acTL` claiming `frames`), with a few
    bytes of real deflate data: a decoder that trusts the header allocates gigabytes."""
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if frames is not None:
        out += png_chunk(b"acTL", struct.pack(">II", frames, 0))
    return out + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + png_chunk(b"IEND", b"")


def png_zlib_bomb() -> bytes:
    """Within the pixel budget by its header (4000 x 4000 grey), its IDAT a 16 MB run of zeros
    squeezed into ~16 KB: a valid picture, and a costly one — the budget is what caps it."""
    raw = b"\x00" * (4001 * 4000)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4000, 4000, 8, 0, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(raw, 9))
        + png_chunk(b"IEND", b"")
    )


def png_chunk_flood(n: int = 200_000) -> bytes:
    sig, rest = png()[:8], png()[8:]
    ihdr_end = 8 + 25
    flood = png_chunk(b"tEXt", b"k\x00v") * n
    return sig + rest[: ihdr_end - 8] + flood + rest[ihdr_end - 8 :]


def png_bad_crc(ctype: bytes) -> bytes:
    data = bytearray(png())
    at = data.index(ctype)
    (length,) = struct.unpack(">I", data[at - 4 : at])
    data[at + 4 + length] ^= 0xFF  # the first byte of the chunk's CRC
    return bytes(data)


def png_corrupt_idat() -> bytes:
    data = bytearray(png())
    at = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[at - 4 : at])
    body = bytes(b ^ 0x5A for b in data[at + 4 : at + 4 + length])
    return bytes(data[: at - 4]) + png_chunk(b"IDAT", body) + bytes(data[at + 8 + length :])


def jpeg_claiming(width: int, height: int) -> bytes:
    """The SOF0 of a real JPEG patched to claim another size."""
    data = bytearray(jpeg())
    at = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def jpeg_marker_flood(n: int = 300_000) -> bytes:
    """Hundreds of thousands of empty COM segments before the frame: cheap to send, costly to walk."""
    data = jpeg()
    return data[:2] + b"\xff\xfe\x00\x02" * n + data[2:]


def jpeg_sof_without_scan() -> bytes:
    data = jpeg()
    return data[: data.index(b"\xff\xda")] + b"\xff\xd9"


def gif_claiming(width: int, height: int) -> bytes:
    data = bytearray(gif())
    struct.pack_into("<HH", data, 6, width, height)
    # The image descriptor too, so the first frame claims it as well.
    at = data.index(b"\x2c", 13)
    struct.pack_into("<HH", data, at + 5, width, height)
    return bytes(data)


def gif_frames(n: int) -> bytes:
    """`n` 1x1 frames: tiny on the wire, each one a decode."""
    header = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return header + frame * n + b";"


def gif_bad_lzw() -> bytes:
    data = bytearray(gif())
    at = data.index(b"\x2c", 13)
    data[at + 10] = 0x0F  # LZW minimum code size 15: past the format's 12-bit limit
    return bytes(data)


def webp_vp8x(width: int, height: int, *, animated: bool = False, frames: int = 0) -> bytes:
    """A VP8X canvas of `width` x `height` (the format allows 2^24 a side)."""
    flags = 0x02 if animated else 0
    body = riff_chunk(
        b"VP8X",
        struct.pack("<I", flags) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"),
    )
    if animated:
        body += riff_chunk(b"ANIM", b"\x00\x00\x00\x00\x00\x00")
        inner = riff_chunks_of(webp())
        frame = riff_chunk(
            b"ANMF",
            b"\x00" * 6
            + (63).to_bytes(3, "little")
            + (47).to_bytes(3, "little")
            + b"\x64\x00\x00\x00"
            + inner,
        )
        body += frame * frames
    else:
        body += riff_chunks_of(webp())
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def riff_chunks_of(data: bytes) -> bytes:
    """The chunks of a simple WebP after its 12-byte RIFF header."""
    return data[12:]


def webp_size_lie() -> bytes:
    data = bytearray(webp())
    struct.pack_into("<I", data, 4, 0xFFFF_FFF0)
    return bytes(data)


def tiff_claiming(width: int, height: int, order: bytes = b"II") -> bytes:
    pack = "<" if order == b"II" else ">"
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1)]
    ifd = struct.pack(pack + "H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack(pack + "HHII", tag, typ, count, value)
    magic = b"II*\x00" if order == b"II" else b"MM\x00*"
    return magic + struct.pack(pack + "I", 8) + ifd + b"\x00\x00\x00\x00"


def truncations(name: str, data: bytes, status: int, code: str) -> Iterator[Hostile]:
    for pct in (5, 25, 50, 75, 95):
        cut = max(len(data) * pct // 100, 1)
        yield file_case(f"truncated-{name}-{pct}pct", data[:cut], status, code)


# -------------------------------------------------------------------------------------------- fonts


@cache
def font(flavor: str | None = None, cff: bool = False) -> bytes:
    return build_font(cff=cff, flavor=flavor)


def sfnt_records(data: bytes) -> list[tuple[int, bytes, int, int, int]]:
    (n,) = struct.unpack_from(">H", data, 4)
    return [(12 + 16 * k, *struct.unpack_from(">4sIII", data, 12 + 16 * k)) for k in range(n)]


def sfnt_patch(data: bytes, tag: bytes, *, offset: int | None = None, length: int | None = None) -> bytes:
    out = bytearray(data)
    for at, t, checksum, off, ln in sfnt_records(data):
        if t == tag:
            struct.pack_into(
                ">4sIII",
                out,
                at,
                t,
                checksum,
                off if offset is None else offset,
                ln if length is None else length,
            )
    return bytes(out)


def sfnt_rename(data: bytes, tag: bytes, to: bytes) -> bytes:
    out = bytearray(data)
    for at, t, *_ in sfnt_records(data):
        if t == tag:
            out[at : at + 4] = to
    return bytes(out)


def woff_patch(data: bytes, tag: bytes, **change: int) -> bytes:
    out = bytearray(data)
    (n,) = struct.unpack_from(">H", data, 12)
    for k in range(n):
        t, offset, comp, orig, checksum = struct.unpack_from(">4sIIII", data, 44 + 20 * k)
        if t == tag:
            v = {"offset": offset, "comp": comp, "orig": orig, **change}
            struct.pack_into(">4sIIII", out, 44 + 20 * k, t, v["offset"], v["comp"], v["orig"], checksum)
    return bytes(out)


def woff_zlib_bomb() -> bytes:
    """A WOFF whose `glyf` inflates to 64 MB from ~64 KB, its directory claiming exactly that."""
    data = font("woff")
    bomb = zlib.compress(b"\x00" * (64 << 20), 9)
    (n,) = struct.unpack_from(">H", data, 12)
    out = bytearray(data)
    for k in range(n):
        t, _offset, _comp, _orig, checksum = struct.unpack_from(">4sIIII", data, 44 + 20 * k)
        if t == b"glyf":
            struct.pack_into(">4sIIII", out, 44 + 20 * k, t, len(data), len(bomb), 64 << 20, checksum)
    out += bomb
    struct.pack_into(">I", out, 8, len(out))  # the header's total length
    struct.pack_into(">I", out, 16, (64 << 20) + 4096)  # totalSfntSize
    return bytes(out)


def woff2_claiming(total_sfnt: int) -> bytes:
    data = bytearray(font("woff2"))
    struct.pack_into(">I", data, 16, total_sfnt)  # totalSfntSize
    return bytes(data)


def woff2_brotli_bomb() -> bytes:
    """A WOFF2 whose compressed table stream is a brotli bomb: 64 MB of zeros in a few hundred bytes,
    the header's length and totalCompressedSize patched to match, the directory unchanged."""
    import brotli

    data = bytearray(font("woff2"))
    bomb = brotli.compress(b"\x00" * (64 << 20), quality=5)
    (total_compressed,) = struct.unpack_from(">I", data, 20)
    end = len(data)  # build_font writes no metadata or private block: the stream ends the file
    out = bytes(data[: end - total_compressed]) + bomb
    out = bytearray(out)
    struct.pack_into(">I", out, 8, len(out))
    struct.pack_into(">I", out, 20, len(bomb))
    return bytes(out)


# --------------------------------------------------------------------------------------------- text


def text_body(text: str) -> bytes:
    return json.dumps({"kind": "text", "text": text}).encode()


def text_case(id: str, raw: bytes, status: int, code: str | None) -> Hostile:
    return Hostile(id, raw, JSON, status, code)


# ------------------------------------------------------------------------------------------- corpus


def refused() -> list[Hostile]:
    """The cases the service must refuse. Sizes of the decompression bombs are chosen past every
    default limit (40 Mpx, 1,000 frames, 25 MB)."""
    cases: list[Hostile] = []
    add = cases.append

    # Decompression bombs: headers claiming huge sizes, and animations of thousands of frames.
    for w, h in ((65_535, 65_535), (2**31 - 1, 1), (1, 2**31 - 1), (100_000, 100_000), (7000, 6000)):
        add(file_case(f"png-claims-{w}x{h}", png_claiming(w, h), 413, "too_many_pixels"))
    add(file_case("png-claims-0x0", png_claiming(0, 0), 422, "corrupt_image"))
    add(file_case("apng-claims-100000-frames", png_claiming(64, 48, frames=100_000), 413, "too_many_frames"))
    add(file_case("apng-frames-times-pixels", png_claiming(2000, 2000, frames=20), 413, "too_many_pixels"))
    for w, h in ((65_535, 65_535), (65_535, 1000), (10_000, 5_000)):
        add(file_case(f"jpeg-claims-{w}x{h}", jpeg_claiming(w, h), 413, "too_many_pixels"))
    add(file_case("jpeg-claims-0x0", jpeg_claiming(0, 0), 422, "corrupt_image"))
    for w, h in ((65_535, 65_535), (20_000, 10_000)):
        add(file_case(f"gif-claims-{w}x{h}", gif_claiming(w, h), 413, "too_many_pixels"))
    add(file_case("gif-5000-frames", gif_frames(5000), 413, "too_many_frames"))
    add(file_case("gif-100000-frames", gif_frames(100_000), 413, "too_many_frames"))
    for w, h in ((16_777_216, 16_777_216), (16_777_216, 1000), (9000, 9000)):
        add(file_case(f"webp-claims-{w}x{h}", webp_vp8x(w, h), 413, "too_many_pixels"))
    add(file_case("webp-5000-frames", webp_vp8x(64, 48, animated=True, frames=5000), 413, "too_many_frames"))
    for order in (b"II", b"MM"):
        add(
            file_case(
                f"tiff-{order.decode()}-claims-100000x100000",
                tiff_claiming(100_000, 100_000, order),
                415,
                "unknown_format",
            )
        )
        add(
            file_case(
                f"tiff-{order.decode()}-as-image-png",
                tiff_claiming(64, 48, order),
                415,
                "unknown_format",
                "image/png",
            )
        )

    # Truncated and corrupt images of every accepted type, and fonts of every accepted type.
    for name, data in (("png", png()), ("jpeg", jpeg()), ("gif", gif()), ("webp", webp())):
        cases.extend(truncations(name, data, 422, "corrupt_image"))
    add(file_case("png-bad-ihdr-crc", png_bad_crc(b"IHDR"), 422, "corrupt_image"))
    add(file_case("png-bad-idat-crc", png_bad_crc(b"IDAT"), 422, "corrupt_image"))
    add(file_case("png-corrupt-deflate", png_corrupt_idat(), 422, "corrupt_image"))
    add(file_case("png-without-iend-or-idat", png()[:33], 422, "corrupt_image"))
    add(file_case("png-200000-chunks", png_chunk_flood(), 422, "corrupt_image"))
    add(file_case("jpeg-300000-com-segments", jpeg_marker_flood(), 422, "corrupt_image"))
    add(file_case("jpeg-frame-without-scan", jpeg_sof_without_scan(), 422, "corrupt_image"))
    add(file_case("jpeg-soi-then-garbage", b"\xff\xd8\xff" + bytes(range(256)) * 8, 422, "corrupt_image"))
    add(file_case("gif-bad-lzw-code-size", gif_bad_lzw(), 422, "corrupt_image"))
    add(file_case("gif-header-only", b"GIF89a", 422, "corrupt_image"))
    add(file_case("webp-riff-size-lie", webp_size_lie(), 422, "corrupt_image"))
    add(file_case("webp-riff-header-only", b"RIFF\x00\x00\x00\x00WEBP", 422, "corrupt_image"))
    for name, data in (
        ("ttf", font()),
        ("otf", font(cff=True)),
        ("woff", font("woff")),
        ("woff2", font("woff2")),
    ):
        for pct in (10, 50, 90):
            add(file_case(f"truncated-{name}-{pct}pct", data[: len(data) * pct // 100], 422, "corrupt_font"))

    # Corrupt font tables.
    ttf = font()
    add(file_case("ttf-glyf-past-end", sfnt_patch(ttf, b"glyf", offset=len(ttf) + 100), 422, "corrupt_font"))
    add(file_case("ttf-name-claims-4gb", sfnt_patch(ttf, b"name", length=0xFFFF_FFF0), 422, "corrupt_font"))
    add(file_case("ttf-head-overlaps-directory", sfnt_patch(ttf, b"head", offset=4), 422, "corrupt_font"))
    for tag in (b"head", b"cmap", b"glyf", b"maxp", b"hhea", b"loca"):
        add(file_case(f"ttf-without-{tag.decode()}", sfnt_rename(ttf, tag, b"zzzz"), 422, "corrupt_font"))
    add(file_case("ttf-65535-tables", ttf[:4] + b"\xff\xff" + ttf[6:], 422, "corrupt_font"))
    add(file_case("ttf-0-tables", ttf[:4] + b"\x00\x00" + ttf[6:], 422, "corrupt_font"))
    add(
        file_case(
            "otf-cff-past-end", sfnt_patch(font(cff=True), b"CFF ", offset=1 << 30), 422, "corrupt_font"
        )
    )
    woff = font("woff")
    add(file_case("woff-glyf-past-end", woff_patch(woff, b"glyf", offset=len(woff)), 422, "corrupt_font"))
    add(file_case("woff-name-claims-2gb", woff_patch(woff, b"name", orig=0x7FFF_FFFF), 422, "corrupt_font"))
    add(file_case("woff-zlib-bomb-64mb", woff_zlib_bomb(), 422, "corrupt_font"))
    add(file_case("woff2-claims-4gb", woff2_claiming(0xFFFF_FFF0), 422, "corrupt_font"))
    add(file_case("woff2-brotli-bomb-64mb", woff2_brotli_bomb(), 422, "corrupt_font"))

    # Other formats under image names and types; content-type lies.
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<!doctype html><html><body><script>fetch('/steal')</script></body></html>"
    for name, data in (
        ("svg", svg),
        ("html", html),
        ("exe-mz", b"MZ\x90\x00\x03" + b"\x00" * 200 + b"This program cannot be run in DOS mode"),
        ("elf", b"\x7fELF\x02\x01\x01" + b"\x00" * 200),
        ("zip", b"PK\x03\x04" + b"\x00" * 200),
        ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        ("shell-script", b"#!/bin/sh\nrm -rf /\n"),
    ):
        for declared in ("image/png", "image/jpeg"):
            add(
                file_case(
                    f"{name}-declared-{declared.replace('/', '-')}", data, 415, "unknown_format", declared
                )
            )
    for declared, data, label in (
        ("image/jpeg", png(), "png-as-jpeg"),
        ("image/gif", webp(), "webp-as-gif"),
        ("image/png", jpeg(), "jpeg-as-png"),
        ("font/ttf", png(), "png-as-ttf"),
        ("image/png", font(), "ttf-as-png"),
        ("image/svg+xml", png(), "png-as-svg"),
        ("text/html", gif(), "gif-as-html"),
    ):
        add(file_case(f"content-type-lie-{label}", data, 415, "type_mismatch", declared))
    add(Hostile("json-sent-as-multipart", text_body("hello"), MULTIPART, 400, "malformed_request"))
    add(Hostile("multipart-sent-as-json", multipart(png()), JSON, 400, "malformed_request"))
    add(Hostile("image-sent-as-text-plain", png(), "text/plain", 415, "unsupported_type"))
    add(Hostile("image-sent-raw-as-image-png", png(), "image/png", 415, "unsupported_type"))
    add(Hostile("no-content-type", png(), None, 415, "unsupported_type"))

    # Text: 10 MB, invalid UTF-8, NUL, lone surrogates, invisible floods.
    add(text_case("text-10mb", text_body("A" * 10_000_000), 413, "upload_too_large"))
    add(text_case("text-over-limit", text_body("A" * 5001), 413, "text_too_long"))
    add(
        text_case(
            "text-invalid-utf8", b'{"kind": "text", "text": "caf\xe9 \xff\xfe"}', 400, "malformed_request"
        )
    )
    add(
        text_case(
            "text-overlong-utf8-nul", b'{"kind": "text", "text": "a\xc0\x80b"}', 400, "malformed_request"
        )
    )
    add(text_case("text-nul", text_body("Happy\x00birthday"), 422, "invalid_text"))
    add(text_case("text-only-nuls", text_body("\x00" * 1000), 422, "invalid_text"))
    add(text_case("text-lone-surrogate", b'{"kind": "text", "text": "a\\ud800b"}', 422, "invalid_text"))
    add(text_case("text-only-zero-width-flood", text_body("\u200b\u200c\u200d\ufeff" * 1000), 400, "empty"))
    add(text_case("text-only-bidi-flood", text_body("\u202e\u2066\u2069\u202c" * 1000), 400, "empty"))
    add(text_case("text-bidi-flood-over-limit", text_body("\u202e" * 6000 + "abc"), 413, "text_too_long"))
    add(text_case("text-zero-width-over-limit", text_body("a" + "\u200b" * 6000), 413, "text_too_long"))
    add(text_case("text-null-json", b"null", 422, "invalid_input"))
    add(text_case("text-top-level-string", b'"hello"', 422, "invalid_input"))
    add(text_case("text-number", b'{"kind": "text", "text": 1e999}', 422, "invalid_input"))
    add(
        text_case(
            "text-duplicate-keys-wrong-kind",
            b'{"kind": "text", "kind": "image", "text": "x"}',
            422,
            "invalid_input",
        )
    )

    # JSON nesting bombs.
    for depth in (1_000, 10_000):
        add(text_case(f"json-array-nesting-{depth}", b"[" * depth + b"]" * depth, 400, "malformed_request"))
        add(
            text_case(
                f"json-object-nesting-{depth}",
                b'{"a":' * depth + b"1" + b"}" * depth,
                400,
                "malformed_request",
            )
        )
    # Deeper bombs are larger than any text upload can be: the body bound answers before the parser.
    depth = 100_000
    add(text_case(f"json-array-nesting-{depth}", b"[" * depth + b"]" * depth, 413, "upload_too_large"))
    add(
        text_case(
            f"json-object-nesting-{depth}", b'{"a":' * depth + b"1" + b"}" * depth, 413, "upload_too_large"
        )
    )
    add(
        text_case(
            "json-nesting-in-text-field",
            b'{"kind":"text","text":' + b"[" * 5000 + b"]" * 5000 + b"}",
            400,
            "malformed_request",
        )
    )
    add(text_case("json-unclosed-nesting", b"[" * 50_000, 400, "malformed_request"))

    # Multipart structure floods and lies.
    many = (
        b"".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'.encode()
            for i in range(10_000)
        )
        + f"--{BOUNDARY}--\r\n".encode()
    )
    add(Hostile("multipart-10000-fields", many, MULTIPART, 400, "malformed_request"))
    many_files = (
        b"".join(
            multipart(png(), filename=f"p{i}.png", ctype="image/png")[: -len(f"--{BOUNDARY}--\r\n")]
            for i in range(10_000)
        )
        + f"--{BOUNDARY}--\r\n".encode()
    )
    add(Hostile("multipart-10000-files", many_files, MULTIPART, 400, "malformed_request"))
    add(
        Hostile(
            "multipart-two-files",
            multipart(png(), ctype="image/png")[: -len(f"--{BOUNDARY}--\r\n")]
            + multipart(jpeg(), ctype="image/jpeg"),
            MULTIPART,
            400,
            "malformed_request",
        )
    )
    add(
        Hostile(
            "multipart-header-flood",
            f"--{BOUNDARY}\r\n".encode()
            + b"".join(f"X-H{i}: v\r\n".encode() for i in range(20_000))
            + b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
            + png()
            + f"\r\n--{BOUNDARY}--\r\n".encode(),
            MULTIPART,
            400,
            "malformed_request",
        )
    )
    add(
        Hostile(
            "multipart-huge-boundary",
            multipart(png()),
            "multipart/form-data; boundary=" + "b" * 10_000,
            400,
            "malformed_request",
        )
    )
    add(
        Hostile(
            "multipart-file-in-wrong-field",
            multipart(png(), name="avatar"),
            MULTIPART,
            400,
            "malformed_request",
        )
    )
    add(Hostile("multipart-empty-file", multipart(b""), MULTIPART, 400, "empty"))
    # A part header longer than the multipart parser keeps is malformed framing, whatever it names.
    add(
        Hostile(
            "filename-10k",
            multipart(png(), filename="a" * 10_000 + ".png"),
            MULTIPART,
            400,
            "malformed_request",
        )
    )

    # Idempotency keys: huge, binary, control characters.
    for label, key in (
        ("201-chars", "k" * 201),
        ("10k-chars", "k" * 10_000),
        ("30k-chars", "k" * 30_000),
        ("control-chars", "abc\x01\x7fdef"),
        ("tab-inside", "key\twith-tab"),
    ):
        add(
            Hostile(
                f"idempotency-key-{label}",
                text_body("hello"),
                JSON,
                422,
                "invalid_input",
                {"Idempotency-Key": key},
            )
        )
    return cases


def accepted() -> list[Accepted]:
    """Hostile-looking uploads that are valid: the documented behaviour (api.md, *Uploads*) is that
    images are stored with everything after their end and every metadata carrier stripped, text is
    stored exactly as sent, and a client's file name is never used."""
    zip_tail = (
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00EVIL-ZIP-PAYLOAD" + b"\x00" * 64 + b"PK\x05\x06" + b"\x00" * 18
    )
    html_tail = b"<html><script>alert('polyglot')</script></html>"
    png_html_chunk = png()[:33] + png_chunk(b"tEXt", b"Comment\x00" + html_tail) + png()[33:]
    return [
        Accepted(
            "polyglot-jpeg-zip",
            multipart(jpeg() + zip_tail),
            MULTIPART,
            absent=(b"EVIL-ZIP-PAYLOAD", b"PK\x05\x06"),
        ),
        Accepted(
            "polyglot-png-html-after-iend", multipart(png() + html_tail), MULTIPART, absent=(b"<script>",)
        ),
        Accepted(
            "polyglot-png-html-in-text-chunk", multipart(png_html_chunk), MULTIPART, absent=(b"<script>",)
        ),
        Accepted(
            "polyglot-gif-html-after-trailer", multipart(gif() + html_tail), MULTIPART, absent=(b"<script>",)
        ),
        Accepted(
            "filename-dot-dot", multipart(png(), filename="../../../etc/passwd", ctype="image/png"), MULTIPART
        ),
        Accepted("filename-nul", multipart(png(), filename=b"a.png\x00.exe", ctype="image/png"), MULTIPART),
        Accepted(
            "filename-absolute-windows", multipart(png(), filename="C:\\Windows\\system32\\x.png"), MULTIPART
        ),
        Accepted("text-utf8-bom-before-json", b"\xef\xbb\xbf" + text_body("hello"), JSON, exact=True),
        Accepted(
            "text-bidi-flood-around-text",
            text_body("\u202e" * 2000 + "Ana" + "\u202c" * 2000),
            JSON,
            exact=True,
        ),
        Accepted(
            "text-zero-width-flood-around-text",
            text_body("\u200b" * 2500 + "Ana" + "\u200d" * 2400),
            JSON,
            exact=True,
        ),
        Accepted("text-combining-flood", text_body("e" + "\u0301" * 4999), JSON, exact=True),
        Accepted(
            "text-html-and-sql",
            text_body("<script>alert(1)</script>'; DROP TABLE items;--"),
            JSON,
            exact=True,
        ),
    ]
