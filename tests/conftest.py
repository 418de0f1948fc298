"""Shared fixtures: databases (SQLite and a real PostgreSQL), clocks, and backend parametrisation.

PostgreSQL comes from `CV_TEST_DATABASE_URL` if set, else from pip `pgserver` started once per session.
When `CV_REQUIRE_ALL_BACKENDS` is set (CI), a backend that cannot start fails the run instead of
skipping: nothing may be skipped in CI.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from customization_vault.clock import FrozenClock
from tests.fixtures_pg import fresh_pg_database

REQUIRE_ALL = bool(os.environ.get("CV_REQUIRE_ALL_BACKENDS"))


_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI every test must run: a skip there means a missing install step, so it fails the run."""
    if REQUIRE_ALL and _SKIPPED and exitstatus == 0:
        print(f"\nCV_REQUIRE_ALL_BACKENDS is set and {len(_SKIPPED)} tests were skipped: failing the run")
        for nodeid in _SKIPPED[:20]:
            print(f"  skipped: {nodeid}")
        session.exitstatus = 1


def unavailable(reason: str) -> None:
    """Skip locally with a plain reason; fail in CI, where every backend must run."""
    if REQUIRE_ALL:
        pytest.fail(f"required backend unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database (postgresql+psycopg://...)."""
    env = os.environ.get("CV_TEST_DATABASE_URL")
    if env:
        yield env
        return
    try:
        import pgserver
    except ImportError:
        unavailable("PostgreSQL: pgserver is not installed and CV_TEST_DATABASE_URL is not set")
        return
    pgdata = Path(tempfile.mkdtemp(prefix="cv-pg-"))
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:  # any start failure means "no PostgreSQL here"
        unavailable(f"PostgreSQL: pgserver could not start ({type(exc).__name__})")
        return
    uri = make_url(server.get_uri())
    url = uri.set(drivername="postgresql+psycopg")
    yield url.render_as_string(hide_password=False)
    server.cleanup()


@pytest.fixture
def pg_url(pg_server_url: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return fresh_pg_database(pg_server_url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    server: str = request.getfixturevalue("pg_server_url")
    return fresh_pg_database(server)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Fake credentials so boto3 never looks for real ones (moto accepts anything)."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def make_settings(data_dir: Path, **overrides: Any) -> Any:
    """Settings for a test process; `overrides` are Settings fields (nested models as dicts)."""
    from api.settings import Settings

    values: dict[str, Any] = {"environment": "test", "data_dir": data_dir, "bootstrap_demo": False}
    values.update(overrides)
    if values["environment"] != "production":
        # Suites hand the app their own screener (`services.screener`): jobs run it in the test's
        # process, and every backend screens in-process. tests/api/test_scale.py and
        # tests/screening/test_isolation.py run the isolated processes.
        values["screening"] = {
            "isolation": "thread",
            "worker_in_process": True,
            **values.get("screening", {}),
        }
    return Settings(**values)


@pytest.fixture(params=["embedded", pytest.param("production", marks=[pytest.mark.postgres, pytest.mark.s3])])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Settings for the embedded default (SQLite, local files, local keyring) and for production
    backends (PostgreSQL, S3 and KMS on moto in-process). Tests that take this run on both."""
    if request.param == "embedded":
        yield make_settings(tmp_path / "var")
        return
    from moto import mock_aws

    request.getfixturevalue("aws_env")
    server: str = request.getfixturevalue("pg_server_url")
    with mock_aws():
        yield make_settings(
            tmp_path / "var",
            database={"url": fresh_pg_database(server)},
            storage={"backend": "s3", "s3_bucket": f"cv-test-{uuid.uuid4().hex[:8]}"},
            keys={"backend": "kms"},
        )


@pytest.fixture
def services(backend_settings: Any, clock: FrozenClock) -> Iterator[Any]:
    """Fully wired backends (`api.wiring.Services`) for one test, on both backend families."""
    from api.wiring import build_services

    svc = build_services(backend_settings, clock=clock)
    yield svc
    svc.close()
