"""Test images for the intake tests, generated with Pillow plus hand-built metadata segments.

Every metadata carrier holds a CANARY string (and GPS tags where the format has them), so a test can
prove by byte search that stripping removed it. Images are small and cached: they are built once.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from functools import cache

from PIL import Image, ImageCms, ImageDraw, ImageSequence

CANARY = b"CANARY-7f3a91"
# What a stripped file must never contain: the canary, the camera make/model and the serial number.
FORBIDDEN = (CANARY, b"CanaryCam", b"SN-0042-CANARY")


def pattern(size: tuple[int, int] = (96, 64), seed: int = 0, mode: str = "RGB") -> Image.Image:
    """An asymmetric picture (so a wrong rotation or a re-encode is visible in the pixels)."""
    im = Image.new("RGB", size, (20 + seed * 30 % 200, 40, 90))
    draw = ImageDraw.Draw(im)
    w, h = size
    draw.rectangle((0, 0, w // 3, h // 4), fill=(250, 220, 10))
    draw.ellipse((w // 2, h // 3, w - 4, h - 2), fill=(10, 200, 120))
    draw.line((0, h - 1, w - 1, 0), fill=(255, 255, 255), width=3)
    for x in range(0, w, 7):
        im.putpixel((x, (x * 5 + seed) % h), (x * 3 % 256, 0, 255 - x % 256))
    return im.convert(mode)


def exif_bytes(orientation: int = 6, with_gps: bool = True) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "CanaryCam"  # Make
    exif[0x0110] = "CanaryCam X1"  # Model
    exif[0x010E] = CANARY.decode()  # ImageDescription
    sub = exif.get_ifd(0x8769)
    sub[0xA431] = "SN-0042-CANARY"  # BodySerialNumber
    if with_gps:
        gps = exif.get_ifd(0x8825)
        gps[1] = "N"
        gps[2] = (52.0, 31.0, 12.5)
        gps[3] = "E"
        gps[4] = (13.0, 24.0, 1.25)
        gps[27] = b"ASCII\x00\x00\x00" + CANARY  # GPSProcessingMethod
    return exif.tobytes()


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,31.2N" '
    b'exif:GPSLongitude="13,24.0E">' + CANARY + b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


@cache
def srgb_icc() -> bytes:
    # Cached: a freshly created profile embeds its creation time, so two calls a second apart differ.
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


@cache
def jpeg_full(orientation: int = 6, progressive: bool = False) -> bytes:
    """A JPEG carrying every metadata kind intake strips, plus ICC and Adobe segments it keeps."""
    buf = io.BytesIO()
    pattern().save(
        buf,
        "JPEG",
        quality=90,
        progressive=progressive,
        exif=exif_bytes(orientation),
        icc_profile=srgb_icc(),
        comment=CANARY,
        xmp=XMP,
    )
    data = buf.getvalue()
    assert data[2:4] == b"\xff\xe0"  # Pillow's JFIF APP0; replaced by one with a thumbnail
    app0_len = struct.unpack(">H", data[4:6])[0]
    rest = data[4 + app0_len :]
    # JFIF with a 2x2 RGB thumbnail (12 bytes of "pixels": the canary).
    jfif = jpeg_segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x48\x00\x48\x02\x02" + CANARY[:12])
    jfxx = jpeg_segment(0xE0, b"JFXX\x00\x13" + CANARY)
    iptc = jpeg_segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10" + CANARY)
    mpf = jpeg_segment(0xE2, b"MPF\x00" + CANARY)
    adobe = jpeg_segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01")
    other = jpeg_segment(0xEB, b"JP\x00" + CANARY)  # APP11 (e.g. JUMBF/C2PA)
    return b"\xff\xd8" + jfif + jfxx + iptc + mpf + other + adobe + rest + b"SAMSUNG" + CANARY


@cache
def jpeg_plain(orientation: int | None = None) -> bytes:
    """A JPEG with at most an Exif orientation: what a stripped file should look like."""
    buf = io.BytesIO()
    kwargs: dict[str, object] = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    pattern().save(buf, "JPEG", quality=85, **kwargs)
    return buf.getvalue()


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, whole chunk bytes) in file order, for byte-for-byte comparisons."""
    out = []
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        out.append((ctype, data[pos : pos + 12 + length]))
        pos += 12 + length
        if ctype == b"IEND":
            break
    return out


@cache
def png_full(orientation: int = 6, mode: str = "RGBA") -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", CANARY.decode())
    info.add_text("Author", CANARY.decode(), zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add_itxt("Description", "caf\u00e9 " + CANARY.decode(), lang="fr", tkey="Beschreibung")
    buf = io.BytesIO()
    pattern(mode=mode).save(buf, "PNG", pnginfo=info, exif=exif_bytes(orientation), icc_profile=srgb_icc())
    data = buf.getvalue()
    ihdr_end = 8 + 25
    extra = png_chunk(b"tIME", struct.pack(">HBBBBB", 2024, 5, 17, 13, 4, 59))
    extra += png_chunk(b"caNY", CANARY)  # an unknown ancillary chunk (think C2PA's caBX)
    return data[:ihdr_end] + extra + data[ihdr_end:] + CANARY


@cache
def apng_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", CANARY.decode())
    frames = [pattern(seed=i) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0, pnginfo=info)
    return buf.getvalue()


def riff_chunk(fourcc: bytes, body: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    pos = 12
    end = 8 + struct.unpack("<I", data[4:8])[0]
    while pos + 8 <= end:
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        nxt = pos + 8 + size + (size & 1)
        out.append((fourcc, data[pos:nxt]))
        pos = nxt
    return out


@cache
def webp_full(orientation: int = 6, lossless: bool = True, animated: bool = False) -> bytes:
    buf = io.BytesIO()
    frames = [pattern(seed=i, mode="RGBA") for i in range(3 if animated else 1)]
    frames[0].save(
        buf,
        "WEBP",
        lossless=lossless,
        quality=80,
        exif=exif_bytes(orientation),
        xmp=XMP,
        icc_profile=srgb_icc(),
        save_all=animated,
        append_images=frames[1:],
        duration=120,
    )
    data = buf.getvalue()
    body = data[12:] + riff_chunk(b"CANY", CANARY)  # an unknown chunk readers must ignore
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body + CANARY


def gif_app_extension(app: bytes, payload: bytes) -> bytes:
    assert len(app) == 11
    blocks = b"".join(
        bytes((len(payload[i : i + 255]),)) + payload[i : i + 255] for i in range(0, len(payload), 255)
    )
    return b"\x21\xff\x0b" + app + blocks + b"\x00"


@cache
def gif_animated() -> bytes:
    frames = [pattern(seed=i).convert("P", palette=Image.Palette.ADAPTIVE, colors=32) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0, comment=CANARY)
    data = buf.getvalue()
    flags = data[10]
    gct_end = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    xmp = gif_app_extension(b"XMP DataXMP", XMP)
    vendor = gif_app_extension(b"CANARYAPP01", CANARY)
    comment2 = b"\x21\xfe" + bytes((len(CANARY),)) + CANARY + b"\x00"
    # Metadata before the first image and a comment just before the trailer, then trailing bytes.
    return data[:gct_end] + xmp + vendor + data[gct_end:-1] + comment2 + b";" + CANARY


def decode_frames(data: bytes) -> list[tuple[str, tuple[int, int], bytes]]:
    """Every frame's mode, size and raw pixels, exactly as Pillow decodes them."""
    with warnings.catch_warnings():
        # The originals carry a deliberately bogus MPF segment, which Pillow warns about.
        warnings.simplefilter("ignore", UserWarning)
        with Image.open(io.BytesIO(data)) as im:
            return [(f.mode, f.size, f.tobytes()) for f in ImageSequence.Iterator(im)]


def oriented_pixels(data: bytes) -> tuple[tuple[int, int], bytes]:
    """Pixels as a viewer that honours Exif orientation would show them."""
    from PIL import ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with Image.open(io.BytesIO(data)) as im:
            shown = ImageOps.exif_transpose(im)
            return shown.size, shown.tobytes()
