"""`customization-vault doctor` on real (moto) backends: it names what is wrong, passes what is sound,
and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.wiring import build_services
from tests.conftest import make_settings
from tests.fixtures_aws import aws_fake_credentials, moto_in_process

__all__ = ["aws_fake_credentials", "moto_in_process"]  # fixtures used through the module namespace

pytestmark = pytest.mark.s3


def _doctor(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> tuple[int, str]:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    result = CliRunner().invoke(app, ["doctor"])
    return result.exit_code, result.output


def test_doctor_names_a_bucket_left_open_and_passes_a_sound_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_in_process: Callable[[str], Any]
) -> None:
    s3 = moto_in_process("s3")
    s3.create_bucket(Bucket="bad")
    settings = make_settings(
        tmp_path / "var", storage={"backend": "s3", "s3_bucket": "good"}, keys={"backend": "kms"}
    )
    svc = build_services(settings)  # migrates, makes "good" versioned with its abort rule
    svc.vault.orders.create(svc.vault.orders.ensure_seller("s"), "o-1", actor="t")  # the epoch's KMS key
    svc.close()
    s3.put_public_access_block(
        Bucket="good",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    env = {
        "CV_DATA_DIR": str(tmp_path / "var"),
        "CV_STORAGE__BACKEND": "s3",
        "CV_KEYS__BACKEND": "kms",
        "CV_BOOTSTRAP_DEMO": "false",
    }
    code, out = _doctor(monkeypatch, {**env, "CV_STORAGE__S3_BUCKET": "bad"})
    assert code == 1, out
    assert "FAIL bucket: versioning is off" in out
    assert "FAIL bucket: public access block incomplete" in out
    assert "ok   database: reachable, schema at" in out
    assert "only under their own order's context" in out
    assert s3.get_bucket_versioning(Bucket="bad").get("Status") is None  # doctor changed nothing
    code, out = _doctor(monkeypatch, {**env, "CV_STORAGE__S3_BUCKET": "good"})
    assert code == 0, out
    assert "ok   bucket: good reachable, versioning enabled" in out
    assert "ok   bucket: public access blocked" in out
    assert "FAIL" not in out


def test_doctor_fails_an_unmigrated_database_and_a_production_on_embedded_backends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _doctor(monkeypatch, {"CV_DATA_DIR": str(tmp_path / "var"), "CV_BOOTSTRAP_DEMO": "false"})
    assert code == 1
    assert "FAIL database: schema at nothing" in out
    code, out = _doctor(
        monkeypatch,
        {
            "CV_ENVIRONMENT": "production",
            "CV_KEYS__ALLOW_LOCAL_IN_PRODUCTION": "true",
            "CV_DATA_DIR": str(tmp_path / "var"),
            "CV_BOOTSTRAP_DEMO": "false",
        },
    )
    assert code == 1
    assert "FAIL settings: the catalog is SQLite" in out
    assert "FAIL settings: blobs are in a local directory" in out
