"""The operator CLI on an embedded data directory, for the suites that drive commands end to end.

Import the fixtures you use explicitly (`from tests.fixtures_cli import cli, data_dir, svc`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.wiring import build_services
from tests.conftest import make_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CV_ENVIRONMENT", "test")
    monkeypatch.setenv("CV_BOOTSTRAP_DEMO", "false")
    return tmp_path / "var"


@pytest.fixture
def svc(data_dir: Path) -> Iterator[Any]:
    """Services over the same data directory the commands use, to seed and to check."""
    services = build_services(make_settings(data_dir))
    yield services
    services.close()


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    """Run one command; (exit code, stdout, stderr)."""
    r = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)])
    return r.exit_code, r.stdout, r.stderr
