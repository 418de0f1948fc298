"""Public recipe over the segmented AEAD in `_crypto`: stream or one-shot seal/unseal of vault objects.

Callers never pick nonces, salts or key derivations: they hand over an order's `DataKey` and the
object's `ObjectContext`, and any failure to open surfaces as the one opaque `IntegrityError`.
"""

from __future__ import annotations

from customization_vault._crypto import (
    DEFAULT_SEGMENT_SIZE,
    ObjectContext,
    ciphertext_size,
    decrypt_stream,
    encrypt_stream,
)
from customization_vault.keys.base import DataKey

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "ObjectContext",
    "ciphertext_size",
    "decrypt_stream",
    "encrypt_stream",
    "seal",
    "unseal",
]


def seal(dek: DataKey, ctx: ObjectContext, data: bytes, *, segment_size: int = DEFAULT_SEGMENT_SIZE) -> bytes:
    """Encrypt a small in-memory value (e.g. a derived artefact) in the same format as a streamed object."""
    return b"".join(encrypt_stream(dek, ctx, (data,), segment_size=segment_size))


def unseal(dek: DataKey, ctx: ObjectContext, blob: bytes) -> bytes:
    """Decrypt what `seal` produced; all-or-nothing, so no partial plaintext escapes on failure."""
    return b"".join(decrypt_stream(dek, ctx, (blob,)))
