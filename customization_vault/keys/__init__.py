"""Key providers: per-order data keys wrapped by epoch KEKs (local keyring files or AWS KMS)."""

from customization_vault.keys.base import DataKey, EpochInfo, KeyContext, KeyProvider, WrappedKey
from customization_vault.keys.kms import AwsKmsKeyProvider
from customization_vault.keys.local import LocalKeyring

__all__ = [
    "AwsKmsKeyProvider",
    "DataKey",
    "EpochInfo",
    "KeyContext",
    "KeyProvider",
    "LocalKeyring",
    "WrappedKey",
]
