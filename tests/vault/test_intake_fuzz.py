"""Fuzzing: for ANY bytes, intake answers with a typed InvalidInput or a file that decodes to the same pixels.

Inputs are random bytes behind each accepted magic, and valid sample files mutated (bit flips, byte
sets, truncation, insertion, deletion, duplication), biased towards the header where parsers branch.
"""

from __future__ import annotations

import io
import os
import string
import struct
import warnings
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageSequence

from customization_vault.errors import InvalidInput
from customization_vault.intake import Limits, accept_file, sniff, strip_metadata, validate_text
from tests.vault.intake_samples import (
    CANARY,
    apng_with_text,
    gif_animated,
    gif_app_extension,
    jpeg_full,
    jpeg_plain,
    jpeg_segment,
    png_chunk,
    png_full,
    riff_chunk,
    riff_chunks,
    webp_full,
)

# Small budgets keep each example cheap: a mutated header may declare any size.
LIMITS = Limits(max_pixels=1 << 18, max_frames=16, max_upload_bytes=1 << 16, max_text_chars=64)
# CV_FUZZ_EXAMPLES=20000 for a deep run; the default keeps the suite fast.
FUZZ = settings(
    max_examples=int(os.environ.get("CV_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SEEDS: dict[str, Callable[[], bytes]] = {
    "jpeg": jpeg_plain,
    "jpeg-meta": lambda: jpeg_full(orientation=6),
    "jpeg-progressive": lambda: jpeg_full(progressive=True),
    "png": png_full,
    "apng": apng_with_text,
    "webp": webp_full,
    "webp-lossy": lambda: webp_full(lossless=False),
    "webp-animated": lambda: webp_full(animated=True),
    "gif": gif_animated,
}
MAGICS = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"RIFF\x00\x01\x00\x00WEBP",
    b"GIF89a",
    b"GIF87a",
    b"\x00\x01\x00\x00",
    b"OTTO",
    b"wOFF",
    b"wOF2",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))]())
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        if size == 0:
            break
        pos = draw(st.one_of(st.integers(0, min(size - 1, 400)), st.integers(0, size - 1)))
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "dup"]))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[pos] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 64))]
    return bytes(data)


def _frames(data: bytes) -> list[tuple[str, tuple[int, int], bytes]] | None:
    """Pillow's own decoding of every frame, or None when Pillow cannot decode the file at all."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                return [(f.mode, f.size, f.tobytes()) for f in ImageSequence.Iterator(im)]
    except Exception:
        return None


def _accept_or_reject(data: bytes) -> None:
    try:
        accepted = accept_file(data, LIMITS)
    except InvalidInput:
        return
    if accepted.media_type.kind == "font":  # fonts are parsed by screening, not here
        assert accepted.data == data
        return
    # An accepted image: the stored bytes decode, and to exactly the pixels the original decodes to.
    after = _frames(accepted.data)
    assert after is not None
    assert accepted.image is not None
    assert len(after) == accepted.image.frames
    before = _frames(data)
    if before is not None:
        assert after == before


@FUZZ
@given(mutated())
def test_mutated_valid_files_are_rejected_typed_or_keep_their_pixels(data: bytes) -> None:
    _accept_or_reject(data)


@FUZZ
@given(st.sampled_from(MAGICS), st.binary(max_size=600))
def test_random_bytes_behind_a_magic_are_rejected_typed(magic: bytes, tail: bytes) -> None:
    _accept_or_reject(magic + tail)


@FUZZ
@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_raise_untyped(data: bytes) -> None:
    _accept_or_reject(data)


@FUZZ
@given(mutated())
def test_strip_metadata_alone_raises_only_typed_errors(data: bytes) -> None:
    try:
        media_type = sniff(data)
        strip_metadata(data, media_type)
    except InvalidInput:
        pass


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80))
def test_validate_text_returns_input_or_raises_typed(text: str) -> None:
    try:
        assert validate_text(text, LIMITS) is text
    except InvalidInput:
        pass


# --------------------------------------------------------------- structured: random metadata inserted
_DROPPABLE_JPEG_PAYLOADS = [
    (0xE1, b"Exif\x00\x00"),
    (0xE1, b"http://ns.adobe.com/xap/1.0/\x00"),
    (0xE1, b"http://ns.adobe.com/xmp/extension/\x00"),
    (0xE1, b""),
    (0xE0, b"JFXX\x00\x10"),
    (0xE0, b"AVI1"),
    (0xE2, b"MPF\x00"),
    (0xE2, b"FPXR\x00"),
    (0xED, b"Photoshop 3.0\x00"),
    (0xFE, b""),
    *((m, b"") for m in range(0xE3, 0xED)),
    (0xEF, b""),
]


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(_DROPPABLE_JPEG_PAYLOADS), st.binary(max_size=40)),
        min_size=1,
        max_size=6,
    )
)
def test_any_droppable_jpeg_segment_is_gone_and_pixels_stay(
    segments: list[tuple[tuple[int, bytes], bytes]],
) -> None:
    base = jpeg_plain()
    inserted = b"".join(jpeg_segment(m, prefix + noise + CANARY) for (m, prefix), noise in segments)
    data = base[:2] + inserted + base[2:]
    accepted = accept_file(data, LIMITS)
    assert CANARY not in accepted.data
    assert _frames(accepted.data) == _frames(base)


_PNG_KEPT_ANCILLARY = {b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCv", b"cLLi", b"sBIT"}
_PNG_KEPT_ANCILLARY |= {b"bKGD", b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT"}
# Any ancillary chunk type (lower-case first letter) we do not keep for rendering.
_PNG_DROPPABLE = st.one_of(
    st.sampled_from([b"tEXt", b"zTXt", b"iTXt", b"tIME", b"eXIf"]),
    st.builds(
        lambda first, rest: (first + rest).encode(),
        st.sampled_from(string.ascii_lowercase),
        st.text(string.ascii_letters, min_size=3, max_size=3),
    ).filter(lambda t: t not in _PNG_KEPT_ANCILLARY),
)


@FUZZ
@given(st.lists(st.tuples(_PNG_DROPPABLE, st.binary(max_size=40)), min_size=1, max_size=6))
def test_any_droppable_png_chunk_is_gone_and_pixels_stay(chunks: list[tuple[bytes, bytes]]) -> None:
    base = png_full(orientation=1)
    inserted = b"".join(png_chunk(ctype, noise + CANARY) for ctype, noise in chunks)
    data = base[:33] + inserted + base[33:]  # right after IHDR
    accepted = accept_file(data, LIMITS)
    assert CANARY not in accepted.data
    assert _frames(accepted.data) == _frames(base)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from([b"EXIF", b"XMP "]), st.binary(min_size=4, max_size=4)).filter(
                lambda f: f not in {b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
            ),
            st.binary(max_size=41),
        ),
        min_size=1,
        max_size=5,
    ),
    st.booleans(),
)
def test_any_droppable_webp_chunk_is_gone_and_pixels_stay(
    chunks: list[tuple[bytes, bytes]], at_end: bool
) -> None:
    base = webp_full(orientation=1)
    body = riff_chunks(base)
    extra = [riff_chunk(fourcc, noise + CANARY) for fourcc, noise in chunks]
    parts = [c for _, c in body if _ not in (b"EXIF", b"XMP ", b"CANY")]
    parts = parts + extra if at_end else parts[:1] + extra + parts[1:]
    payload = b"".join(parts)
    data = b"RIFF" + struct.pack("<I", len(payload) + 4) + b"WEBP" + payload
    accepted = accept_file(data, LIMITS)
    assert CANARY not in accepted.data
    assert _frames(accepted.data) == _frames(base)


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(["comment", "app", "xmp"]), st.binary(max_size=600)), min_size=1, max_size=4
    )
)
def test_any_gif_comment_or_foreign_application_block_is_gone(blocks: list[tuple[str, bytes]]) -> None:
    base = gif_animated()
    inserted = b""
    for kind, noise in blocks:
        payload = noise + CANARY
        if kind == "comment":
            subs = b"".join(
                bytes((len(payload[i : i + 255]),)) + payload[i : i + 255]
                for i in range(0, len(payload), 255)
            )
            inserted += b"\x21\xfe" + subs + b"\x00"
        else:
            inserted += gif_app_extension(b"XMP DataXMP" if kind == "xmp" else b"FUZZAPP1.00", payload)
    flags = base[10]
    gct_end = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    data = base[:gct_end] + inserted + base[gct_end:]
    accepted = accept_file(data, LIMITS)
    assert CANARY not in accepted.data
    assert _frames(accepted.data) == _frames(base)
