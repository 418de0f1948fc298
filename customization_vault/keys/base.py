"""The KeyProvider seam: data keys are generated and unwrapped here and nowhere else.

An order's data key (DEK) is wrapped by the key-encryption key (KEK) of the epoch current when the
order was created; destroying an epoch's KEK crypto-shreds every order of that epoch at once, which
bounds what a database backup can ever reveal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol, runtime_checkable

# Epoch labels are the UTC year, month or day a KEK serves: "2026", "2026-11", "2026-11-03".
EpochLength = Literal["year", "month", "day"]
EPOCH_PATTERN = r"\d{4}(?:-\d{2}){0,2}"
_EPOCH_RE = re.compile(EPOCH_PATTERN)
_EPOCH_FORMATS: dict[str, str] = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d"}


def epoch_format(length: EpochLength) -> str:
    """The strftime format of epochs of this length; anything else is refused."""
    if length not in _EPOCH_FORMATS:
        raise ValueError("epoch_length must be year, month or day")
    return _EPOCH_FORMATS[length]


def epoch_label(when: datetime, fmt: str) -> str:
    """The label of the epoch `when` falls in (UTC); a naive datetime is refused, not guessed at."""
    if when.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return when.astimezone(UTC).strftime(fmt)


def is_epoch_label(label: str) -> bool:
    return _EPOCH_RE.fullmatch(label) is not None


def checked_epoch_label(label: str) -> str:
    """`label` if it is an epoch label: it names files and aliases, so nothing else may pass."""
    if not is_epoch_label(label):
        raise ValueError("malformed epoch")
    return label


class DataKey:
    """A plaintext 256-bit data key. Lives in memory only, briefly; never printed or logged."""

    __slots__ = ("_material",)

    def __init__(self, material: bytes) -> None:
        if len(material) != 32:
            raise ValueError("a data key is 32 bytes")
        self._material = material

    @property
    def material(self) -> bytes:
        return self._material

    def __repr__(self) -> str:
        return "DataKey(<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class KeyContext:
    """Binds a wrapped key to its owner: KMS encryption context, AAD for the local keyring."""

    tenant: str
    order: str

    def as_dict(self) -> dict[str, str]:
        return {"tenant": self.tenant, "order": self.order}


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A DEK as stored in the catalog: ciphertext under `kek_id`, which names provider+epoch+version."""

    provider: str
    kek_id: str
    epoch: str
    blob: bytes

    def __repr__(self) -> str:
        return f"WrappedKey(provider={self.provider!r}, kek_id={self.kek_id!r}, epoch={self.epoch!r})"


@dataclass(frozen=True, slots=True)
class EpochInfo:
    epoch: str
    kek_id: str
    created_at: datetime
    destroyed: bool


@runtime_checkable
class KeyProvider(Protocol):
    """Generates and unwraps per-order data keys under epoch KEKs.

    Every unwrap failure (wrong context, tampered blob, destroyed epoch) raises a
    `customization_vault.errors.KeyUnavailable` subclass, never a provider-specific error.
    """

    name: str

    def current_epoch(self, now: datetime | None = None) -> str:
        """The epoch label for `now` (default: the injected clock), e.g. "2026-11"."""
        ...

    def generate(self, ctx: KeyContext, now: datetime | None = None) -> tuple[DataKey, WrappedKey]:
        """A fresh DEK from the OS CSPRNG (or KMS), and its wrapping under the current epoch KEK."""
        ...

    def unwrap(self, wrapped: WrappedKey, ctx: KeyContext) -> DataKey: ...

    def rotate(self, epoch: str | None = None) -> str:
        """Create a new KEK version for `epoch` (default current); returns its kek_id."""
        ...

    def rewrap(self, wrapped: WrappedKey, ctx: KeyContext) -> WrappedKey:
        """Re-wrap under the newest KEK of the same epoch; no blob is touched."""
        ...

    def retire(self, kek_id: str) -> None:
        """Destroy one superseded KEK version after every DEK under it was rewrapped."""
        ...

    def destroy_epoch(self, epoch: str) -> None:
        """Destroy every KEK of an epoch (KMS: schedule deletion). Irreversible."""
        ...

    def epochs(self) -> list[EpochInfo]: ...

    def check(self) -> None:
        """Raise BackendError if the provider is unreachable (readiness probe)."""
        ...
