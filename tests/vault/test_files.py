"""The private key-file helpers both the keyring and the receipt signer stand on."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from customization_vault.errors import InsecureKeyring
from customization_vault.files import publish_private_file, read_private_file


def test_published_files_are_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "k"
    assert publish_private_file(path, b"secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_private_file(path) == b"secret"
    assert read_private_file(path, max_bytes=3) == b"sec"
    assert [p.name for p in tmp_path.iterdir()] == ["k"]  # no temporary file left behind


def test_publishing_never_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "k"
    assert publish_private_file(path, b"first")
    assert not publish_private_file(path, b"second")
    assert read_private_file(path) == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_file_others_may_access_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "k"
    publish_private_file(path, b"secret")
    os.chmod(path, mode)
    with pytest.raises(InsecureKeyring):
        read_private_file(path)


def test_missing_and_symlinked_files_are_os_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_private_file(tmp_path / "missing")
    target = tmp_path / "target"
    publish_private_file(target, b"secret")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(OSError, match=r"link|loop") as err:
        read_private_file(tmp_path / "link")
    assert not isinstance(err.value, FileNotFoundError)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual 022: what a process inherits, and what made catalog.db 0644 and the data dir 0755."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_the_data_dir_catalog_blobs_and_keys_are_private(tmp_path: Path, loose_umask: None) -> None:
    from api.wiring import build_services
    from tests.conftest import make_settings
    from tests.retention.helpers import seed_order

    data = tmp_path / "var"
    svc = build_services(make_settings(data))
    try:
        seed_order(svc.vault, "M-1")  # writes the catalog (WAL), blobs and a KEK
        assert _mode(data) == 0o700
        for name in ("catalog.db", "catalog.db-wal", "catalog.db-shm"):
            assert _mode(data / name) == 0o600, name
        blobs = list((data / "blobs").rglob("*"))
        assert blobs
        for p in [data / "blobs", *blobs]:
            assert _mode(p) == (0o700 if p.is_dir() else 0o600), p
        for p in [data / "keys", *(data / "keys").iterdir(), data / "receipt-key.pem"]:
            assert not _mode(p) & 0o077, p
    finally:
        svc.close()


def test_a_loose_data_dir_and_catalog_are_tightened(tmp_path: Path, loose_umask: None) -> None:
    from api.wiring import build_services
    from tests.conftest import make_settings

    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    (data / "catalog.db").touch(mode=0o644)
    (data / "catalog.db-wal").touch(mode=0o644)
    os.chmod(data, 0o755)
    os.chmod(data / "catalog.db", 0o644)
    os.chmod(data / "catalog.db-wal", 0o644)
    svc = build_services(make_settings(data))
    try:
        assert _mode(data) == 0o700
        assert _mode(data / "catalog.db") == 0o600
        assert _mode(data / "catalog.db-wal") == 0o600
    finally:
        svc.close()
