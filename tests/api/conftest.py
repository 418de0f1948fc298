"""Fixtures for the HTTP API: an app over wired services, a blocking httpx client, and keys per role.

The client drives the real ASGI app through `httpx.ASGITransport` (lifespan included) from a blocking
portal, so tests stay synchronous and can call it from several threads at once.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, ExitStack
from dataclasses import dataclass
from typing import Any

import anyio.from_thread
import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from api.app import create_app
from api.wiring import Services, build_services
from customization_vault.apikeys import Role
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import FindingRow, Item, ReviewCase, WrappedDataKey
from screening.composite import CompositeScreener
from screening.findings import Finding, FindingKind, Severity, Verdict
from screening.screener import NullScreener


class ApiClient:
    """A synchronous face over `httpx.AsyncClient(ASGITransport(app))`, lifespan entered once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._stack = ExitStack()

    def __enter__(self) -> ApiClient:
        self.portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        lifespan: AbstractAsyncContextManager[None] = self.app.router.lifespan_context(self.app)
        self.portal.call(lifespan.__aenter__)
        self._stack.callback(lambda: self.portal.call(lifespan.__aexit__, None, None, None))
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://api.test"
        )
        self._stack.callback(lambda: self.portal.call(self.client.aclose))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.portal.call(functools.partial(self.client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


# Words the test screener reacts to, standing in for list entries (engines have their own suites).
FLAG_WORD = b"ACMECOLA"
BLOCK_WORD = b"SLURWORD"


class WordScreener:
    """Deterministic screener: review finding for FLAG_WORD, block finding for BLOCK_WORD."""

    def screen(self, data: bytes, media_type: str) -> Verdict:
        findings = []
        for word, severity, kind in (
            (FLAG_WORD, Severity.REVIEW, FindingKind.TRADEMARK),
            (BLOCK_WORD, Severity.BLOCK, FindingKind.OFFENSIVE),
        ):
            at = data.find(word)
            if at >= 0:
                findings.append(
                    Finding(
                        kind, "test-list@1", word.decode().lower(), 1.0, severity, span=(at, at + len(word))
                    )
                )
        return Verdict.of(findings)


def word_screener() -> CompositeScreener:
    return CompositeScreener(text=WordScreener, image=NullScreener, font=NullScreener)


@dataclass
class Keys:
    seller_a: str
    seller_b: str
    reviewer: str
    admin: str
    revoked: str

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @property
    def a(self) -> dict[str, str]:
        return self.auth(self.seller_a)

    @property
    def b(self) -> dict[str, str]:
        return self.auth(self.seller_b)


def make_keys(svc: Services) -> Keys:
    sa = svc.vault.orders.ensure_seller("seller-a")
    sb = svc.vault.orders.ensure_seller("seller-b")
    a, _ = svc.api_keys.create(Role.FULFILMENT, seller_id=sa)
    b, _ = svc.api_keys.create(Role.FULFILMENT, seller_id=sb)
    r, _ = svc.api_keys.create(Role.REVIEWER)
    adm, _ = svc.api_keys.create(Role.ADMIN)
    rev, info = svc.api_keys.create(Role.FULFILMENT, seller_id=sa)
    svc.api_keys.revoke(info.id)
    return Keys(a, b, r, adm, rev)


@dataclass
class Api:
    client: ApiClient
    services: Services
    keys: Keys


@pytest.fixture
def api(services: Services) -> Iterator[Api]:
    """The app over the shared `services` fixture: embedded default and PostgreSQL + S3 + KMS (moto)."""
    services.screener = word_screener()
    keys = make_keys(services)
    with ApiClient(create_app(services.settings, services)) as client:
        yield Api(client, services, keys)


@pytest.fixture
def embedded_api(tmp_path: Any, clock: Any) -> Iterator[Api]:
    """The embedded default only: for properties of the API layer that no backend can change."""
    from tests.conftest import make_settings

    svc = build_services(make_settings(tmp_path / "var"), clock=clock)
    svc.screener = word_screener()
    keys = make_keys(svc)
    try:
        with ApiClient(create_app(svc.settings, svc)) as client:
            yield Api(client, svc, keys)
    finally:
        svc.close()


def png_bytes(size: tuple[int, int] = (32, 24), color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "blue").save(buf, "JPEG", quality=80)
    return buf.getvalue()


@dataclass(frozen=True)
class Leftovers:
    items: int
    findings: int
    reviews: int
    keys: int
    blobs: int


def leftovers(svc: Services) -> Leftovers:
    """Everything an upload could leave behind, counted from the catalog and the blob store listing."""
    with session_scope(svc.catalog.sessions) as s:
        counts = [
            s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Item, FindingRow, ReviewCase, WrappedDataKey)
        ]
    items, findings, reviews, keys = counts
    return Leftovers(items, findings, reviews, keys, blobs=len(list(svc.blobs.list(""))))


def assert_problem(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert {"type", "title", "status", "code"} <= body.keys()
    # Support's first question: every problem names its request, as the response header does.
    assert body["request_id"] == resp.headers["x-request-id"], body
    if code is not None:
        assert body["code"] == code, body
    return body
