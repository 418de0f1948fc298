"""Production refuses every development shortcut: demo keys (minted or still active), the local keyring,
SQLite, SQL echo, screening switched off; and `serve` never prints keys anywhere but a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from api.app import create_app
from api.commands.serve import DEMO_KEYS_FILE, announce_demo_keys, bootstrap_demo_keys
from api.wiring import DemoKeysActive, build_services, refuse_demo_keys_in_production
from customization_vault.apikeys import DEMO_LABELS, Role
from customization_vault.errors import InvalidInput
from tests.api.conftest import ApiClient
from tests.conftest import make_settings

PG = "postgresql+psycopg://cv@db.internal/cv"
# What a production deployment sets; each case below changes one thing back to a development default.
GOOD: dict[str, Any] = {"environment": "production", "database": {"url": PG}, "keys": {"backend": "kms"}}


def test_a_production_configuration_is_accepted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **GOOD)
    assert settings.environment == "production"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"database": {}}, "refuses the SQLite catalog"),
        ({"database": {"url": f"sqlite:///{Path('/srv/cv/catalog.db')}"}}, "refuses the SQLite catalog"),
        ({"database": {"url": PG, "echo": True}}, "refuses CV_DATABASE__ECHO"),
        ({"bootstrap_demo": True}, "refuses demo keys"),
        ({"screening": {"enabled": False}}, "screening disabled"),
        ({"keys": {"backend": "local"}}, "refuses the local keyring"),
    ],
    ids=["sqlite-default", "sqlite-url", "sql-echo", "demo-bootstrap", "no-screening", "local-keyring"],
)
def test_production_refuses_each_development_default(
    tmp_path: Path, change: dict[str, Any], why: str
) -> None:
    with pytest.raises(ValidationError, match=why):
        make_settings(tmp_path, **{**GOOD, **change})
    make_settings(tmp_path, **{**GOOD, **change, "environment": "test"})  # elsewhere they are allowed


def test_demo_keys_minted_in_development_stop_a_production_start(tmp_path: Path) -> None:
    """The issue: a data directory first started in development kept its demo admin key, and it still
    authenticated once the environment said production."""
    dev = make_settings(tmp_path / "var", environment="development", bootstrap_demo=True)
    svc = build_services(dev)
    try:
        keys = bootstrap_demo_keys(dev, svc)
        assert keys is not None
        operator, _ = svc.api_keys.create(Role.ADMIN, label="ops")
        svc.settings = dev.model_copy(update={"environment": "production", "bootstrap_demo": False})
        with pytest.raises(DemoKeysActive) as err:
            refuse_demo_keys_in_production(svc)
        assert all(k.prefix in str(err.value) for k in svc.api_keys.active_demo_keys())
        assert keys["CV_KEY"] not in str(err.value)
        with pytest.raises(DemoKeysActive), ApiClient(create_app(svc.settings, svc)):
            pytest.fail("the app started with demo keys active")
        for k in svc.api_keys.active_demo_keys():
            svc.api_keys.revoke(k.id)
        refuse_demo_keys_in_production(svc)
        with ApiClient(create_app(svc.settings, svc)) as client:
            admin = {"Authorization": f"Bearer {keys['CV_ADMIN_KEY']}"}
            assert client.get("/v1/review/cases", headers=admin).status_code == 401
            assert (
                client.get("/v1/review/cases", headers={"Authorization": f"Bearer {operator}"}).status_code
                == 200
            )
    finally:
        svc.close()


@pytest.mark.parametrize("label", DEMO_LABELS)
def test_no_other_key_may_carry_a_demo_label(tmp_path: Path, label: str) -> None:
    svc = build_services(make_settings(tmp_path / "var"))
    try:
        with pytest.raises(InvalidInput, match="reserved"):
            svc.api_keys.create(Role.ADMIN, label=label)
    finally:
        svc.close()


KEYS = {"CV_ADMIN_KEY": "cv_adminprefix_SECRET-ADMIN", "CV_KEY": "cv_sellerprefix_SECRET-SELLER"}


def test_keys_are_never_printed_when_stdout_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    announce_demo_keys(KEYS, Path("var") / DEMO_KEYS_FILE, tty=False)
    out, err = capsys.readouterr()
    assert "SECRET" not in out + err
    assert str(Path("var") / DEMO_KEYS_FILE) in err


def test_a_person_at_a_terminal_sees_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    announce_demo_keys(KEYS, Path("var") / DEMO_KEYS_FILE, tty=True)
    out, _err = capsys.readouterr()
    assert KEYS["CV_ADMIN_KEY"] in out
    assert KEYS["CV_KEY"] in out


def test_every_refusal_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        make_settings(tmp_path, environment="production", bootstrap_demo=True, database={"echo": True})
    text = str(err.value)
    for why in ("local keyring", "demo keys", "SQLite catalog", "CV_DATABASE__ECHO"):
        assert why in text


def test_the_doctor_lists_what_production_refuses_and_checks_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every other command stops at refused settings (exit 2); the doctor reports them among its
    findings, so an operator sees everything to fix in one run."""
    from typer.testing import CliRunner

    from api.cli import app

    for k, v in {
        "CV_ENVIRONMENT": "production",
        "CV_DATA_DIR": str(tmp_path / "var"),
        "CV_BOOTSTRAP_DEMO": "false",
        "CV_DATABASE__ECHO": "true",
    }.items():
        monkeypatch.setenv(k, v)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    for line in (
        "FAIL settings: production refuses the local keyring",
        "FAIL settings: production refuses the SQLite catalog",
        "FAIL settings: production refuses CV_DATABASE__ECHO",
        "FAIL settings: blobs are in a local directory",
    ):
        assert line in result.output
