"""The vault's exception tree. Domains raise these; only `api/errors.py` maps them to HTTP statuses.

VaultError
├── NotFound                  a seller, order, item, blob or key that does not exist (or is not yours)
│   ├── OrderNotFound
│   ├── RescreenJobNotFound
│   ├── ItemNotFound
│   ├── CaseNotFound
│   └── BlobNotFound
├── IntegrityError            any decryption/authentication failure; deliberately opaque
├── KeyUnavailable            the data key cannot be unwrapped
│   └── KeyDestroyed          crypto-shredded order, or its KEK epoch was destroyed
├── InsecureKeyring           a KEK file readable by group/world; refuse to start
├── InvalidInput              malformed, oversized, unsupported or mismatched client input
│   ├── TooLarge
│   ├── UnsupportedType
│   └── ListRejected          a screening list file its loader refused (names the file, line and rule)
├── StateConflict             the action is not allowed in the object's lifecycle state
│   ├── ContentGone           fulfilled/cancelled/expired/purged: the content is no longer served
│   ├── ContentHeld           flagged / in review: not yet released
│   │   └── ContentPending    received, its screening job not finished yet: ask again shortly
│   ├── ContentRefused        blocked / rejected: never released
│   └── LeaseConflict         a review case someone else holds, or that the caller does not hold
├── NotPermitted              the caller's role may not take this decision (escalated, own appeal)
└── BackendError              a blob store, key service or database that failed to answer
"""

from __future__ import annotations


class VaultError(Exception):
    """Base of every error the vault raises on purpose. Messages never hold customer content."""

    code = "vault_error"


class NotFound(VaultError):
    code = "not_found"


class OrderNotFound(NotFound):
    code = "order_not_found"


class ItemNotFound(NotFound):
    code = "item_not_found"


class RescreenJobNotFound(NotFound):
    code = "rescreen_job_not_found"


class BlobNotFound(NotFound):
    code = "blob_not_found"


class IntegrityError(VaultError):
    """Raised for every way a ciphertext can fail to open, so callers learn nothing about why."""

    code = "integrity_error"

    def __init__(self, message: str = "ciphertext failed authentication") -> None:
        super().__init__(message)


class KeyUnavailable(VaultError):
    code = "key_unavailable"


class KeyDestroyed(KeyUnavailable):
    code = "key_destroyed"


class InsecureKeyring(VaultError):
    code = "insecure_keyring"


class InvalidInput(VaultError):
    code = "invalid_input"


class TooLarge(InvalidInput):
    code = "too_large"


class UnsupportedType(InvalidInput):
    code = "unsupported_type"


class ListRejected(InvalidInput):
    """A list import its loader refused; the message is the loader's (file, line, rule), nothing stored."""

    code = "list_rejected"


class StateConflict(VaultError):
    code = "state_conflict"


class ContentGone(StateConflict):
    code = "content_gone"


class ContentHeld(StateConflict):
    code = "content_held"


class ContentPending(ContentHeld):
    """Not screened yet: the verdict lands within seconds, so the client is told when to ask again."""

    code = "screening_pending"
    retry_after_seconds = 2


class ContentRefused(StateConflict):
    code = "content_refused"


class LeaseConflict(StateConflict):
    code = "lease_conflict"


class CaseClosed(LeaseConflict):
    """A lease the purge or a list version ended: the reviewer did nothing wrong and has nothing left
    to decide, which "claim it first" would not tell them."""

    code = "case_closed"


class NotPermitted(VaultError):
    code = "not_permitted"


class CaseNotFound(NotFound):
    code = "case_not_found"


class BackendError(VaultError):
    code = "backend_error"
