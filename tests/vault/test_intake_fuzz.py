"""Fuzzing: for ANY bytes, intake answers with a typed InvalidInput or a file that decodes to the same pixels.

Inputs are random bytes behind each accepted magic, and valid sample files mutated (bit flips, byte
sets, truncation, insertion, deletion, duplication), biased towards the header where parsers branch.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageSequence

from customization_vault.errors import InvalidInput
from customization_vault.intake import Limits, accept_file, sniff, strip_metadata, validate_text
from tests.vault.intake_samples import (
    apng_with_text,
    gif_animated,
    jpeg_full,
    jpeg_plain,
    png_full,
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
