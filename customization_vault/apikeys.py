"""API keys: bearer tokens whose secret half is stored only as a hash, each carrying one role.

Token format: `cv_<prefix>_<secret>`; the prefix finds the row in O(1), the secret (256 bits from the
OS CSPRNG) is compared as a SHA-256 digest in constant time. A slow password hash buys nothing for
secrets of this entropy and would cost every request.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from customization_vault.audit import AuditLog
from customization_vault.catalog import ApiKeyRecord, Catalog
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import InvalidInput, NotFound, VaultError

# Labels of the keys `serve` mints on a development data directory's first start. Reserved: no other
# key may carry them, so production can tell demo keys from an operator's and refuse to serve them.
DEMO_LABELS = ("demo admin", "demo fulfilment")


class Role(enum.StrEnum):
    FULFILMENT = "fulfilment"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Unauthenticated(VaultError):
    code = "unauthenticated"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id (the audit actor), its role, and for fulfilment keys the seller."""

    key_id: str
    role: Role
    seller_id: str | None
    seller_external_id: str | None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.key_id}"


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: str
    prefix: str
    role: Role
    seller: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: ApiKeyRecord) -> ApiKeyInfo:
    return ApiKeyInfo(
        row.id, row.prefix, Role(row.role), row.seller_external_id, row.label, row.created_at, row.revoked_at
    )


class ApiKeys:
    def __init__(self, catalog: Catalog, audit: AuditLog, clock: Clock = system_clock) -> None:
        self._catalog = catalog
        self._audit = audit
        self._clock = clock

    def create(
        self,
        role: Role,
        *,
        seller_id: str | None = None,
        label: str | None = None,
        actor: str = "cli",
        demo: bool = False,
    ) -> tuple[str, ApiKeyInfo]:
        """Returns the token (shown once, never stored) and the key's public facts.

        `demo` marks the development bootstrap's keys (`DEMO_LABELS`); no other key may take those labels.
        """
        if (label in DEMO_LABELS) != demo:
            raise InvalidInput(f"the labels {', '.join(DEMO_LABELS)} are reserved for the demo keys")
        if role == Role.FULFILMENT and seller_id is None:
            raise InvalidInput("a fulfilment key is bound to one seller: give --seller")
        if role != Role.FULFILMENT and seller_id is not None:
            raise InvalidInput("only fulfilment keys are bound to a seller")
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self._catalog.unit() as u:
            row = u.apikeys.add(
                prefix=prefix,
                secret_hash=_digest(secret),
                role=role.value,
                seller_id=seller_id,
                label=label,
                now=self._clock(),
            )
            self._audit.record(
                u,
                actor=actor,
                action="apikey.create",
                target_type="api_key",
                target_id=row.id,
                details={"role": role.value, "seller_id": seller_id},
            )
        return f"cv_{prefix}_{secret}", _info(row)

    def list(self) -> list[ApiKeyInfo]:
        with self._catalog.unit() as u:
            return [_info(r) for r in u.apikeys.all()]

    def active_demo_keys(self) -> tuple[ApiKeyInfo, ...]:
        """Demo keys still unrevoked: production refuses to serve while any is."""
        return tuple(k for k in self.list() if k.label in DEMO_LABELS and k.revoked_at is None)

    def revoke(self, key_id_or_prefix: str, *, actor: str = "cli") -> ApiKeyInfo:
        with self._catalog.unit() as u:
            found = u.apikeys.revoke(key_id_or_prefix, self._clock())
            if found is None:
                raise NotFound("no such API key")
            row, fresh = found
            if fresh:
                self._audit.record(
                    u, actor=actor, action="apikey.revoke", target_type="api_key", target_id=row.id
                )
            return _info(row)

    def authenticate(self, token: str) -> Principal:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "cv" or not parts[1] or not parts[2]:
            raise Unauthenticated("malformed API key")
        _, prefix, secret = parts
        with self._catalog.unit() as u:
            row = u.apikeys.by_prefix(prefix)
        ok = row is not None and hmac.compare_digest(row.secret_hash, _digest(secret))
        if row is None or not ok or row.revoked_at is not None:
            raise Unauthenticated("unknown or revoked API key")
        return Principal(row.id, Role(row.role), row.seller_id, row.seller_external_id)
