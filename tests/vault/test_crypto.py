"""The segmented object format: fixed vectors, round trips under any chunking, and every tamper class."""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from customization_vault._crypto import (
    HEADER_SIZE,
    MAX_SEGMENT_SIZE,
    TAG_SIZE,
    ObjectContext,
    ciphertext_size,
    decrypt_stream,
    encrypt_stream,
    unwrap_key,
    wrap_key,
)
from customization_vault.config import StorageConfig
from customization_vault.errors import IntegrityError
from customization_vault.keys.base import DataKey

DEK = DataKey(bytes(range(32)))
CTX = ObjectContext("tenant-1", "order-1", "object-1")
SALT = b"\x11" * 32
PREFIX = b"\x22" * 7
SEG = 16

# Computed once with this implementation and pasted; `test_vectors_follow_the_documented_format`
# re-derives them from the module docstring's formulas with the raw primitives, independently.
VECTORS = {
    b"": (
        "43564c54010000001011111111111111111111111111111111111111111111111111111111111111"
        "112222222222222276eac733ee134df1f0a78fb1a9ef4f77"
    ),
    b"customization vault fixed vector": (
        "43564c54010000001011111111111111111111111111111111111111111111111111111111111111"
        "11222222222222225609d58c601c556a888c51b32d1010b15501247982feed76a788017ab4146894"
        "3d8b60fcfb4d6213c996d76f7f55bff8d0bb9898e56634a552f5d3e61d9e3249"
    ),
    b"engrave: Happy 40th, Sam!": (
        "43564c54010000001011111111111111111111111111111111111111111111111111111111111111"
        "11222222222222225012c18a6e07592ac9b059ac334946e4081a8262b45101bcd8c4886fd5209a8a"
        "78937cf0bd777b1b8cac529bab35bcc6c7a704418f03650013"
    ),
}


def enc(data: bytes, ctx: ObjectContext = CTX, seg: int = SEG, dek: DataKey = DEK) -> bytes:
    return b"".join(encrypt_stream(dek, ctx, [data], segment_size=seg))


def dec(blob: bytes, ctx: ObjectContext = CTX, dek: DataKey = DEK) -> bytes:
    return b"".join(decrypt_stream(dek, ctx, [blob]))


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def segments_of(blob: bytes, seg: int = SEG) -> list[bytes]:
    body = blob[HEADER_SIZE:]
    size = seg + TAG_SIZE
    return [body[i : i + size] for i in range(0, len(body), size)]


# --- fixed vectors -------------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", list(VECTORS))
def test_fixed_vectors(plaintext: bytes) -> None:
    blob = b"".join(encrypt_stream(DEK, CTX, [plaintext], segment_size=SEG, _salt=SALT, _nonce_prefix=PREFIX))
    assert blob.hex() == VECTORS[plaintext]
    assert dec(blob) == plaintext


def _lp(s: str) -> bytes:
    raw = s.encode()
    return struct.pack(">I", len(raw)) + raw


def _reference_encrypt(plaintext: bytes) -> bytes:
    """The format exactly as the `_crypto` docstring states it, built from the raw primitives."""
    header = b"CVLT" + bytes([1]) + struct.pack(">I", SEG) + SALT + PREFIX
    ctx = _lp(CTX.tenant) + _lp(CTX.order) + _lp(CTX.object)
    key = HKDF(hashes.SHA256(), 32, SALT, b"cv1" + ctx).derive(DEK.material)
    pieces = [plaintext[i : i + SEG] for i in range(0, len(plaintext), SEG)] or [b""]
    out = header
    for i, piece in enumerate(pieces):
        tail = struct.pack(">IB", i, i == len(pieces) - 1)
        out += AESGCM(key).encrypt(PREFIX + tail, piece, header + ctx + tail)
    return out


@pytest.mark.parametrize("plaintext", list(VECTORS))
def test_vectors_follow_the_documented_format(plaintext: bytes) -> None:
    assert _reference_encrypt(plaintext).hex() == VECTORS[plaintext]


# --- round trips ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=200),
    seg=st.integers(min_value=1, max_value=48),
    cuts_in=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    cuts_out=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    mutable=st.booleans(),
)
def test_round_trip_any_size_and_chunking(
    data: bytes, seg: int, cuts_in: list[int], cuts_out: list[int], mutable: bool
) -> None:
    chunks: list[bytes] = split_at(data, cuts_in)
    if mutable:
        chunks = [bytearray(c) for c in chunks]  # type: ignore[misc]
    blob_parts = list(encrypt_stream(DEK, CTX, chunks, segment_size=seg))
    blob = b"".join(blob_parts)
    assert len(blob) == ciphertext_size(len(data), seg)
    # Every non-final segment is full; the final one is non-empty unless the object is empty.
    assert len(blob_parts) == 1 + max(1, -(-len(data) // seg))
    sealed: list[bytes] = split_at(blob, cuts_out)
    if mutable:
        sealed = [memoryview(bytearray(c)) for c in sealed]  # type: ignore[misc]
    out = list(decrypt_stream(DEK, CTX, sealed))
    assert b"".join(out) == data


def test_round_trip_several_default_segments() -> None:
    data = os.urandom(3 * (1 << 20) + 5)
    assert dec(enc(data, seg=1 << 20)) == data


def test_producer_reusing_its_buffer_is_safe() -> None:
    """A reader that refills (and resizes) one bytearray, like readinto loops, must not corrupt output."""
    data = os.urandom(1000)

    def reader() -> Iterator[bytes]:
        buf = bytearray()
        for i in range(0, len(data), 70):
            buf.clear()  # resizing raises BufferError if a view of it were still exported
            buf += data[i : i + 70]
            yield buf  # type: ignore[misc]

    blob = b"".join(encrypt_stream(DEK, CTX, reader(), segment_size=64))
    assert dec(blob) == data


def test_streams_without_reading_everything_first() -> None:
    """Plaintext of segment 0 comes out before the input is consumed: bounded memory, not buffering."""
    seg = 64
    blob = enc(os.urandom(seg * 10), seg=seg)
    consumed = 0

    def source() -> Iterator[bytes]:
        nonlocal consumed
        for i in range(0, len(blob), 10):
            consumed += 10
            yield blob[i : i + 10]

    first = next(decrypt_stream(DEK, CTX, source()))
    assert len(first) == seg
    assert consumed < HEADER_SIZE + 3 * (seg + TAG_SIZE)


def test_one_shot_round_trip_at_the_default_segment_size() -> None:
    """A small value sealed in one call and opened from one chunk (the header read's no-copy path)."""
    blob = b"".join(encrypt_stream(DEK, CTX, [b"hello"]))
    assert len(blob) == ciphertext_size(5)
    assert b"".join(decrypt_stream(DEK, CTX, [blob])) == b"hello"
    with pytest.raises(IntegrityError):  # all or nothing: a one-chunk open still authenticates
        b"".join(decrypt_stream(DEK, CTX, [blob[:-1]]))


def test_fresh_salt_and_prefix_per_object() -> None:
    a, b = enc(b"same"), enc(b"same")
    assert a != b
    assert dec(a) == dec(b) == b"same"


def test_ciphertext_size() -> None:
    assert ciphertext_size(0, 16) == HEADER_SIZE + 16
    assert ciphertext_size(16, 16) == HEADER_SIZE + 16 + 16
    assert ciphertext_size(17, 16) == HEADER_SIZE + 17 + 32
    with pytest.raises(ValueError, match="size"):
        ciphertext_size(-1, 16)


def test_segment_size_bounds() -> None:
    for bad in (0, MAX_SEGMENT_SIZE + 1):
        with pytest.raises(ValueError, match="segment size"):
            enc(b"x", seg=bad)
    # The setting refuses at start-up what the format would refuse at every upload.
    assert StorageConfig(segment_size=MAX_SEGMENT_SIZE).segment_size == MAX_SEGMENT_SIZE
    with pytest.raises(ValidationError):
        StorageConfig(segment_size=MAX_SEGMENT_SIZE + 1)


# --- tampering: one opaque error for every failure -----------------------------------------------

PLAIN = bytes(range(40))  # three segments of 16: 16, 16, 8


@pytest.fixture
def blob() -> bytes:
    return enc(PLAIN)


@pytest.mark.parametrize(
    "other",
    [
        ObjectContext("tenant-2", "order-1", "object-1"),
        ObjectContext("tenant-1", "order-2", "object-1"),
        ObjectContext("tenant-1", "order-1", "object-2"),
        ObjectContext("tenant-1order-1", "", "object-1"),  # length prefixes stop field-shifting
    ],
)
def test_moved_to_another_owner_fails(blob: bytes, other: ObjectContext) -> None:
    with pytest.raises(IntegrityError):
        dec(blob, ctx=other)


def test_wrong_key_fails(blob: bytes) -> None:
    with pytest.raises(IntegrityError):
        dec(blob, dek=DataKey(os.urandom(32)))


def test_segment_swapped_from_another_object_fails(blob: bytes) -> None:
    other = enc(PLAIN, ctx=ObjectContext("tenant-1", "order-1", "object-2"))
    mixed = blob[:HEADER_SIZE] + segments_of(other)[0] + b"".join(segments_of(blob)[1:])
    with pytest.raises(IntegrityError):
        dec(mixed)


def test_reordered_segments_fail(blob: bytes) -> None:
    s = segments_of(blob)
    with pytest.raises(IntegrityError):
        dec(blob[:HEADER_SIZE] + s[1] + s[0] + s[2])


@pytest.mark.parametrize(
    "cut",
    [
        0,
        HEADER_SIZE - 1,
        HEADER_SIZE,  # header only: the final segment never came
        HEADER_SIZE + SEG + TAG_SIZE,  # at a segment boundary
        HEADER_SIZE + 2 * (SEG + TAG_SIZE),  # drops exactly the final segment
        HEADER_SIZE + SEG + TAG_SIZE + 5,  # mid-segment
        -1,
    ],
)
def test_truncated_fails(blob: bytes, cut: int) -> None:
    with pytest.raises(IntegrityError):
        dec(blob[:cut])


def test_truncation_yields_only_authentic_plaintext(blob: bytes) -> None:
    stream = decrypt_stream(DEK, CTX, [blob[: HEADER_SIZE + 2 * (SEG + TAG_SIZE)]])
    assert next(stream) == PLAIN[:SEG]  # segment 0 authenticated on its own and is real
    with pytest.raises(IntegrityError):
        next(stream)  # segment 1 now ends the stream but was sealed as non-final


@pytest.mark.parametrize(
    "extra",
    [b"\x00", os.urandom(SEG + TAG_SIZE), "copy-of-last"],
)
def test_extended_fails(blob: bytes, extra: bytes | str) -> None:
    tail = segments_of(blob)[-1] if extra == "copy-of-last" else extra
    assert isinstance(tail, bytes)
    with pytest.raises(IntegrityError):
        dec(blob + tail)


def test_extension_with_empty_final_segment_fails() -> None:
    """A full-segment object followed by a forged empty final segment is refused (canonical form)."""
    data = os.urandom(2 * SEG)
    blob = enc(data)
    with pytest.raises(IntegrityError):
        dec(blob + os.urandom(TAG_SIZE))


def test_every_single_bit_flip_fails(blob: bytes) -> None:
    for pos in range(len(blob)):
        for bit in (0x01, 0x80):
            bad = bytearray(blob)
            bad[pos] ^= bit
            with pytest.raises(IntegrityError):
                dec(bytes(bad))


@pytest.mark.parametrize(
    "header_patch",
    [
        (0, b"XXXX"),  # magic
        (4, b"\x02"),  # version
        (5, struct.pack(">I", 0)),  # segment size 0
        (5, struct.pack(">I", MAX_SEGMENT_SIZE + 1)),  # a reader-exhausting segment size
        (5, struct.pack(">I", 2 * SEG)),  # re-labelled segment size
    ],
)
def test_bad_header_fails(blob: bytes, header_patch: tuple[int, bytes]) -> None:
    at, patch = header_patch
    bad = blob[:at] + patch + blob[at + len(patch) :]
    with pytest.raises(IntegrityError):
        dec(bad)


def test_empty_stream_fails() -> None:
    with pytest.raises(IntegrityError):
        dec(b"")


# --- key wrapping primitive ----------------------------------------------------------------------


def test_wrap_unwrap_binds_aad() -> None:
    kek, dek = os.urandom(32), os.urandom(32)
    blob = wrap_key(kek, dek, b"owner-a")
    assert unwrap_key(kek, blob, b"owner-a") == dek
    for bad_kek, bad_blob, aad in (
        (kek, blob, b"owner-b"),
        (os.urandom(32), blob, b"owner-a"),
        (kek, blob[:-1], b"owner-a"),
        (kek, b"short", b"owner-a"),
    ):
        with pytest.raises(IntegrityError):
            unwrap_key(bad_kek, bad_blob, aad)
