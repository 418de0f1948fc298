"""`/metrics` counts across sellers: protected by setting, and by default in production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from api.wiring import build_services
from tests.api.conftest import Api, ApiClient, Keys, assert_problem, make_keys
from tests.conftest import make_settings

TOKEN = "scrape-0123456789abcdef"
PRODUCTION = {"environment": "production", "database": {"url": "postgresql+psycopg://cv@db/cv"}}


def test_production_protects_metrics_unless_told_otherwise(tmp_path: Path) -> None:
    assert not make_settings(tmp_path, **PRODUCTION, keys={"backend": "kms"}).metrics_public
    assert make_settings(
        tmp_path, **PRODUCTION, keys={"backend": "kms"}, metrics={"public": True}
    ).metrics_public
    assert make_settings(tmp_path).metrics_public
    assert not make_settings(tmp_path, metrics={"public": False}).metrics_public


@pytest.fixture
def protected(tmp_path: Path) -> Iterator[tuple[ApiClient, Keys]]:
    settings = make_settings(tmp_path / "var", metrics={"public": False, "token": TOKEN})
    svc = build_services(settings)
    keys = make_keys(svc)
    try:
        with ApiClient(create_app(settings, svc)) as client:
            yield client, keys
    finally:
        svc.close()


def test_protected_metrics_take_the_token_or_an_admin_key(protected: tuple[ApiClient, Keys]) -> None:
    client, keys = protected
    assert_problem(client.get("/metrics"), 401, "unauthenticated")
    assert_problem(client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401, "unauthenticated")
    assert_problem(client.get("/metrics", headers=keys.auth(keys.revoked)), 401, "unauthenticated")
    assert_problem(client.get("/metrics", headers=keys.a), 403, "forbidden")
    assert_problem(client.get("/metrics", headers=keys.auth(keys.reviewer)), 403, "forbidden")
    for headers in ({"Authorization": f"Bearer {TOKEN}"}, keys.auth(keys.admin)):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 200
        assert "cv_http_requests_total" in r.text


def test_public_metrics_need_nothing(embedded_api: Api) -> None:
    assert embedded_api.client.get("/metrics").status_code == 200
