"""Segmented streaming AEAD (AES-256-GCM) for vault objects: the only module that touches raw AES-GCM.

Callers (the `Vault`) go through `encrypt_stream` / `decrypt_stream`; nothing else in the code base may
build an `AESGCM` over object data, so the format below is the single source of truth.

Byte format, version 1 (all integers big-endian)::

    header (48 bytes)
        magic          4   b"CVLT"
        version        1   0x01
        segment_size   4   plaintext bytes per segment, 1 .. 16 MiB (default 1 MiB)
        salt          32   random per object, HKDF salt
        nonce_prefix   7   random per object
    segment 0 .. n-1
        AES-256-GCM(subkey, nonce_i, plaintext_i, aad_i) = ciphertext_i ‖ tag_i (16 bytes)

    subkey   = HKDF-SHA256(ikm=DEK, salt=salt, info=b"cv1" ‖ lp(tenant) ‖ lp(order) ‖ lp(object), L=32)
    nonce_i  = nonce_prefix (7) ‖ u32(i) ‖ u8(final)                       -- 12 bytes
    aad_i    = header (48) ‖ lp(tenant) ‖ lp(order) ‖ lp(object) ‖ u32(i) ‖ u8(final)
    lp(s)    = u32(len(utf8(s))) ‖ utf8(s)

Every segment but the last holds exactly `segment_size` plaintext bytes; the last (final = 1) holds
1 .. segment_size bytes, or 0 bytes only when the whole plaintext is empty. So the ciphertext of an
n-byte plaintext is `ciphertext_size(n, segment_size)` = 48 + n + 16 * max(1, ceil(n / segment_size)).

Why each piece is there:
- A fresh random salt gives every object its own subkey even if an object id were reused, so the
  (index, final) counter in the nonce can never repeat under one key; the prefix is belt and braces.
- The decryptor decides "final" from the position (the segment that ends the stream), never from the
  data: a truncated stream ends on a segment sealed with final = 0, an extended one puts a final = 1
  segment in the middle, and both fail authentication. Reordering changes the index in the nonce.
- The AAD binds the whole header (version, segment size, salt, prefix) and tenant/order/object, so a
  ciphertext moved to another order or object, or a re-labelled header, fails to open.
- Every failure, including a malformed header, raises the one opaque `IntegrityError`; plaintext of a
  segment is released only after that segment authenticated (a later failure still raises).
- Memory stays bounded at about two segments however the input is chunked; a header cannot ask for a
  segment larger than `MAX_SEGMENT_SIZE`, so an attacker cannot make the reader buffer gigabytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from customization_vault.errors import IntegrityError

if TYPE_CHECKING:  # typing only: keys.local imports this module, a runtime import would be circular
    from customization_vault.keys.base import DataKey

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "HEADER_SIZE",
    "MAX_SEGMENT_SIZE",
    "TAG_SIZE",
    "ObjectContext",
    "ciphertext_size",
    "decrypt_stream",
    "encrypt_stream",
    "request_digest",
    "unwrap_key",
    "wrap_key",
]

MAGIC = b"CVLT"
VERSION = 1
SALT_SIZE = 32
NONCE_PREFIX_SIZE = 7
TAG_SIZE = 16
_HEADER = struct.Struct(f">4sBI{SALT_SIZE}s{NONCE_PREFIX_SIZE}s")
HEADER_SIZE = _HEADER.size  # 48
DEFAULT_SEGMENT_SIZE = 1 << 20
MAX_SEGMENT_SIZE = 16 << 20
# The nonce carries a 32-bit segment index: 2^32 segments of 1 MiB is 4 PiB, far past any upload limit.
_MAX_SEGMENTS = 1 << 32
_TAIL = struct.Struct(">IB")


@dataclass(frozen=True, slots=True)
class ObjectContext:
    """Who an object belongs to; bound into the subkey and every segment's associated data."""

    tenant: str
    order: str
    object: str

    def encoded(self) -> bytes:
        """Length-prefixed fields, so ("ab", "c") and ("a", "bc") can never produce the same bytes."""
        return _lp(self.tenant, self.order, self.object)


def _lp(*parts: str) -> bytes:
    """lp(s) of each part, concatenated: u32 length then the UTF-8 bytes."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += struct.pack(">I", len(raw))
        out += raw
    return bytes(out)


def ciphertext_size(n: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """Exact ciphertext length of an n-byte plaintext: lets a store or a quota check size it up front."""
    if n < 0 or segment_size < 1:
        raise ValueError("size must be >= 0 and segment size >= 1")
    segments = max(1, -(-n // segment_size))
    return HEADER_SIZE + n + TAG_SIZE * segments


def request_digest(dek: DataKey, tenant: str, order: str, kind: str, payload: bytes) -> str:
    """What an idempotent retry must repeat, as a MAC only the order's data key can compute.

        digest_key = HKDF-SHA256(ikm=DEK, salt=none, info=b"cv-digest1" ‖ lp(tenant) ‖ lp(order), L=32)
        digest     = hex(HMAC-SHA256(digest_key, lp(kind) ‖ payload))

    A plain hash of a short text ("Happy birthday, Ana!") can be found again by guessing; this one
    cannot without the DEK, and once the order's key is shredded nobody can compute it at all, so a
    digest left in a backup says nothing. The info label keeps this key apart from every object subkey.
    """
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cv-digest1" + _lp(tenant, order))
    mac = hmac.new(hkdf.derive(dek.material), _lp(kind), hashlib.sha256)
    mac.update(payload)
    return mac.hexdigest()


def _subkey(dek: DataKey, salt: bytes, ctx_bytes: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"cv1" + ctx_bytes)
    return AESGCM(hkdf.derive(dek.material))


def _segments(
    chunks: Iterable[bytes | memoryview], size: int
) -> Iterator[tuple[bytes | bytearray | memoryview, bool]]:
    """Re-chunk a byte stream into `size`-byte pieces, flagging the last; holds at most ~one piece.

    A piece is emitted as soon as one more byte shows it is not the last. Slices of `bytes` input are
    passed on as zero-copy views; a mutable buffer is copied first, because a producer may refill or
    resize its bytearray once it gets control back while a view of it is still held here.
    """
    pending = bytearray()
    held: bytes | bytearray | memoryview | None = None
    for chunk in chunks:
        if not isinstance(chunk, bytes) and not (
            isinstance(chunk, memoryview) and isinstance(chunk.obj, bytes) and chunk.itemsize == 1
        ):
            chunk = bytes(chunk)  # also turns a multi-byte-item view into plain bytes, so len() counts bytes
        n = len(chunk)
        if not n:
            continue
        if held is not None:
            yield held, False
            held = None
        view = memoryview(chunk)
        pos = 0
        if pending:
            take = min(size - len(pending), n)
            pending += view[:take]
            pos = take
            if len(pending) < size:
                continue
            held = pending  # owned and never touched again: hand it on instead of copying
            pending = bytearray()
        while n - pos >= size:
            if held is not None:
                yield held, False
            held = view[pos : pos + size]
            pos += size
        if pos < n:
            if held is not None:
                yield held, False
                held = None
            pending += view[pos:]
    if held is not None:
        yield held, True
    else:
        yield pending, True


def encrypt_stream(
    dek: DataKey,
    ctx: ObjectContext,
    chunks: Iterable[bytes],
    *,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    _salt: bytes | None = None,
    _nonce_prefix: bytes | None = None,
) -> Iterator[bytes]:
    """Yield the header, then one sealed segment per `segment_size` bytes of plaintext.

    `_salt` / `_nonce_prefix` exist only for fixed test vectors: a caller that reuses them under the same
    DEK and object id reuses GCM nonces and loses both confidentiality and integrity.
    """
    if not 1 <= segment_size <= MAX_SEGMENT_SIZE:
        raise ValueError("segment size out of range")
    salt = os.urandom(SALT_SIZE) if _salt is None else _salt
    prefix = os.urandom(NONCE_PREFIX_SIZE) if _nonce_prefix is None else _nonce_prefix
    if len(salt) != SALT_SIZE or len(prefix) != NONCE_PREFIX_SIZE:
        raise ValueError("bad salt or nonce prefix length")
    header = _HEADER.pack(MAGIC, VERSION, segment_size, salt, prefix)
    ctx_bytes = ctx.encoded()
    aead = _subkey(dek, salt, ctx_bytes)
    aad_prefix = header + ctx_bytes
    yield header
    for index, (piece, final) in enumerate(_segments(chunks, segment_size)):
        if index >= _MAX_SEGMENTS:
            raise ValueError("object too large for the segment counter")
        tail = _TAIL.pack(index, final)
        yield aead.encrypt(prefix + tail, piece, aad_prefix + tail)


def _read_header(it: Iterator[bytes]) -> tuple[bytes, bytes | memoryview]:
    """Pull exactly the header off the stream; returns (header, whatever of the next chunk followed it)."""
    buf = bytearray()
    for chunk in it:
        if not buf and len(chunk) >= HEADER_SIZE and isinstance(chunk, bytes):
            # Common case (one big first chunk: a small object read whole): a view, not a copy of it.
            view = memoryview(chunk)
            return bytes(view[:HEADER_SIZE]), view[HEADER_SIZE:]
        buf += chunk
        if len(buf) >= HEADER_SIZE:
            return bytes(buf[:HEADER_SIZE]), bytes(buf[HEADER_SIZE:])
    raise IntegrityError()


def decrypt_stream(dek: DataKey, ctx: ObjectContext, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield each segment's plaintext once it authenticated; raise `IntegrityError` on any failure.

    The error is raised lazily, while iterating: a consumer streaming to a client must treat it as
    "abort the response", since earlier, authentic segments may already have been sent.
    """
    it = iter(chunks)
    header, rest = _read_header(it)
    try:
        magic, version, segment_size, salt, prefix = _HEADER.unpack(header)
    except struct.error as exc:  # pragma: no cover - length is checked above
        raise IntegrityError() from exc
    if magic != MAGIC or version != VERSION or not 1 <= segment_size <= MAX_SEGMENT_SIZE:
        raise IntegrityError()
    ctx_bytes = ctx.encoded()
    aead = _subkey(dek, salt, ctx_bytes)
    aad_prefix = header + ctx_bytes
    sealed_size = segment_size + TAG_SIZE

    def body() -> Iterator[bytes | memoryview]:
        if rest:
            yield rest
        yield from it

    for index, (piece, final) in enumerate(_segments(body(), sealed_size)):
        if len(piece) < TAG_SIZE or index >= _MAX_SEGMENTS:
            raise IntegrityError()
        tail = _TAIL.pack(index, final)
        try:
            plain = aead.decrypt(prefix + tail, piece, aad_prefix + tail)
        except InvalidTag:
            raise IntegrityError() from None
        # An empty final segment is only ever written for an empty object; elsewhere it is a forgery
        # attempt at a different length, and refusing it keeps the encoding canonical.
        if final and not plain and index:
            raise IntegrityError()
        yield plain


# --- Key wrapping (the local keyring's KEK → DEK layer) -------------------------------------------------

WRAP_NONCE_SIZE = 12


def wrap_key(kek: bytes, dek: bytes, aad: bytes) -> bytes:
    """AES-256-GCM key wrap: random nonce (12) ‖ ciphertext ‖ tag. `aad` binds owner and KEK id.

    A random 96-bit nonce is safe here because one KEK wraps far fewer than 2^32 keys before rotation.
    """
    nonce = os.urandom(WRAP_NONCE_SIZE)
    return nonce + AESGCM(kek).encrypt(nonce, dek, aad)


def unwrap_key(kek: bytes, blob: bytes, aad: bytes) -> bytes:
    """Inverse of `wrap_key`; any failure (wrong KEK, owner, tampering, length) is one `IntegrityError`."""
    if len(blob) < WRAP_NONCE_SIZE + TAG_SIZE:
        raise IntegrityError()
    try:
        return AESGCM(kek).decrypt(blob[:WRAP_NONCE_SIZE], blob[WRAP_NONCE_SIZE:], aad)
    except (InvalidTag, ValueError):
        raise IntegrityError() from None
