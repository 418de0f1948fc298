"""Workbench sessions on both backend families: who may sign in, what the catalog keeps, when they end."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from customization_vault.apikeys import Role, Unauthenticated
from customization_vault.catalog.db import session_scope
from customization_vault.clock import FrozenClock
from customization_vault.errors import NotPermitted
from customization_vault.reviewer_sessions import ReviewerSessions, SignInRequired, csrf_token_for


def sessions(services: Any) -> ReviewerSessions:
    s: ReviewerSessions = services.sessions
    return s


def stored_hashes(services: Any) -> list[str]:
    from sqlalchemy import select

    from customization_vault.catalog.models import ReviewerSession

    with session_scope(services.catalog.sessions) as s:
        return list(s.execute(select(ReviewerSession.token_hash)).scalars())


def test_reviewer_and_admin_keys_sign_in_and_only_a_hash_is_stored(services: Any) -> None:
    reviewer, info = services.api_keys.create(Role.REVIEWER)
    admin, _ = services.api_keys.create(Role.ADMIN)
    token, signed = sessions(services).sign_in(reviewer)
    assert signed.principal.key_id == info.id
    assert not signed.admin
    assert sessions(services).sign_in(admin)[1].admin
    hashes = stored_hashes(services)
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert token not in hashes
    assert reviewer not in hashes
    resumed = sessions(services).resume(token)
    assert resumed.principal == signed.principal
    assert resumed.csrf_token == signed.csrf_token == csrf_token_for(token)
    assert [e.action for e in services.audit.history(info.id)][-1] == "session.sign_in"


def test_fulfilment_unknown_and_revoked_keys_cannot_sign_in(services: Any) -> None:
    seller = services.vault.orders.ensure_seller("s-1")
    fulfilment, _ = services.api_keys.create(Role.FULFILMENT, seller_id=seller)
    revoked, info = services.api_keys.create(Role.REVIEWER)
    services.api_keys.revoke(info.id)
    with pytest.raises(NotPermitted):
        sessions(services).sign_in(fulfilment)
    with pytest.raises(Unauthenticated):
        sessions(services).sign_in(revoked)
    with pytest.raises(Unauthenticated):
        sessions(services).sign_in("cv_nope_nope")
    assert stored_hashes(services) == []


def test_idle_and_absolute_limits_end_a_session(services: Any, clock: FrozenClock) -> None:
    key, _ = services.api_keys.create(Role.REVIEWER)
    desk = sessions(services)
    idle_token, _ = desk.sign_in(key)
    clock.advance(desk.idle - timedelta(seconds=1))
    desk.resume(idle_token)  # used just in time: the idle clock starts again
    clock.advance(desk.idle - timedelta(seconds=1))
    desk.resume(idle_token)
    clock.advance(desk.idle)
    with pytest.raises(SignInRequired):
        desk.resume(idle_token)
    with pytest.raises(SignInRequired):  # and it stays ended: the row is gone
        desk.resume(idle_token)

    busy_token, signed = desk.sign_in(key)
    while clock() + desk.idle / 2 < signed.expires_at:
        clock.advance(desk.idle / 2)
        desk.resume(busy_token)
    clock.advance(signed.expires_at - clock())
    with pytest.raises(SignInRequired):
        desk.resume(busy_token)


def test_revoking_the_key_and_signing_out_end_sessions(services: Any) -> None:
    key, info = services.api_keys.create(Role.REVIEWER)
    desk = sessions(services)
    a, _ = desk.sign_in(key)
    b, _ = desk.sign_in(key)
    assert a != b  # a fresh token at every sign-in (no fixation)
    desk.sign_out(a)
    with pytest.raises(SignInRequired):
        desk.resume(a)
    desk.resume(b)
    services.api_keys.revoke(info.id)
    with pytest.raises(SignInRequired):
        desk.resume(b)
    with pytest.raises(SignInRequired):
        desk.resume(None)


def test_csrf_tokens_belong_to_their_session() -> None:
    assert ReviewerSessions.csrf_ok("token-a", csrf_token_for("token-a"))
    assert not ReviewerSessions.csrf_ok("token-a", csrf_token_for("token-b"))
    assert not ReviewerSessions.csrf_ok("token-a", None)
    assert not ReviewerSessions.csrf_ok("token-a", "")


def test_sign_in_prunes_ended_sessions(services: Any, clock: FrozenClock) -> None:
    key, _ = services.api_keys.create(Role.REVIEWER)
    desk = sessions(services)
    desk.sign_in(key)
    clock.advance(desk.idle + timedelta(seconds=1))
    token, _ = desk.sign_in(key)
    assert stored_hashes(services) == [hashlib.sha256(token.encode()).hexdigest()]
