"""Retention's exception tree, rooted in the vault's so `api/errors.py` maps it with the rest.

VaultError
├── StateConflict
│   └── HoldConflict           a hold that cannot be placed/released in the order's state
└── RetentionError
    ├── VerificationFailed     after deletion a blob or the key row is still there; the step reruns
    └── SigningKeyError        the receipt signing key is missing, malformed or readable by others
"""

from __future__ import annotations

from customization_vault.errors import StateConflict, VaultError


class RetentionError(VaultError):
    code = "retention_error"


class VerificationFailed(RetentionError):
    code = "purge_verification_failed"


class SigningKeyError(RetentionError):
    code = "signing_key_error"


class HoldConflict(StateConflict):
    code = "hold_conflict"
