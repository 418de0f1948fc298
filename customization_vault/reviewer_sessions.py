"""Reviewers' browser sessions: a reviewer or admin API key signs in once; the browser then holds a
random session token, and the catalog holds only its SHA-256 (a copy of the table opens nothing).

A session ends when it has been idle too long, at its absolute limit, at sign-out, or as soon as its
key is revoked (the key is re-read on every request). Fulfilment keys never sign in: sellers reach
content only through the fulfilment API. The CSRF token is derived from the session token by HMAC, so
it needs no storage, differs per session, and cannot be computed by a page that cannot read the
HttpOnly cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from customization_vault.apikeys import ApiKeys, Principal, Role, Unauthenticated
from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog, SessionRecord
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import NotPermitted

__all__ = ["ReviewerSessions", "SignInRequired", "SignedIn"]

# last_seen_at is written at most this often: a page and its images would otherwise write per request.
_TOUCH_EVERY = timedelta(seconds=60)
_CSRF_LABEL = b"cv-workbench-csrf-v1"
_WORKBENCH_ROLES = (Role.REVIEWER, Role.ADMIN)


class SignInRequired(Unauthenticated):
    """No session, or one that ended (idle, expired, signed out, key revoked)."""

    code = "sign_in_required"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: who it is, the CSRF token its forms carry, and when it ends at the latest."""

    principal: Principal
    csrf_token: str
    expires_at: datetime

    @property
    def admin(self) -> bool:
        return self.principal.role == Role.ADMIN


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(session_token: str) -> str:
    mac = hmac.new(session_token.encode(), _CSRF_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


class ReviewerSessions:
    def __init__(
        self,
        catalog: Catalog,
        api_keys: ApiKeys,
        audit: AuditLog,
        *,
        idle: timedelta = timedelta(minutes=30),
        absolute: timedelta = timedelta(hours=12),
        clock: Clock = system_clock,
    ) -> None:
        self._catalog = catalog
        self._api_keys = api_keys
        self._audit = audit
        self.idle = idle
        self.absolute = absolute
        self._clock = clock

    def sign_in(self, api_key: str) -> tuple[str, SignedIn]:
        """A new session for a reviewer or admin key: (the token for the cookie, the session).

        Always a fresh token, so a token planted before sign-in (session fixation) is never promoted.
        """
        principal = self._api_keys.authenticate(api_key.strip())
        if principal.role not in _WORKBENCH_ROLES:
            raise NotPermitted("only reviewer and admin keys sign in to the workbench")
        token = secrets.token_urlsafe(32)
        now = self._clock()
        expires = now + self.absolute
        with self._catalog.unit() as u:
            u.sessions.prune(now=now, idle_before=now - self.idle)
            u.sessions.add(token_hash=_hash(token), key_id=principal.key_id, now=now, expires_at=expires)
            self._audit.record(
                u,
                actor=principal.actor,
                action="session.sign_in",
                target_type="api_key",
                target_id=principal.key_id,
                details={"expires_at": expires.isoformat()},
            )
        return token, SignedIn(principal, csrf_token_for(token), expires)

    def resume(self, token: str | None) -> SignedIn:
        """The live session this token names; `SignInRequired` when there is none any more."""
        if not token:
            raise SignInRequired("sign in to the workbench")
        now = self._clock()
        with self._catalog.unit() as u:
            found = u.sessions.get(_hash(token))
            ended = found is None or self._ended(found, now)
            if ended:
                if found is not None:
                    u.sessions.delete(found.token_hash)
            elif found is not None and now - found.last_seen_at >= _TOUCH_EVERY:
                u.sessions.touch(found.token_hash, now)
        if ended or found is None:
            raise SignInRequired("the session ended: sign in again")
        key = found.key
        principal = Principal(key.id, Role(key.role), key.seller_id, key.seller_external_id)
        return SignedIn(principal, csrf_token_for(token), found.expires_at)

    def _ended(self, s: SessionRecord, now: datetime) -> bool:
        return (
            now >= s.expires_at
            or now - s.last_seen_at >= self.idle
            or s.key.revoked_at is not None
            or s.key.role not in _WORKBENCH_ROLES
        )

    def sign_out(self, token: str | None) -> None:
        """End the session (nothing to do when it already ended)."""
        if not token:
            return
        with self._catalog.unit() as u:
            found = u.sessions.get(_hash(token))
            if found is None:
                return
            u.sessions.delete(found.token_hash)
            self._audit.record(
                u,
                actor=f"{found.key.role}:{found.key.id}",
                action="session.sign_out",
                target_type="api_key",
                target_id=found.key.id,
            )

    @staticmethod
    def csrf_ok(session_token: str, presented: str | None) -> bool:
        """Whether a form's token is this session's (constant time)."""
        return presented is not None and hmac.compare_digest(csrf_token_for(session_token), presented)
