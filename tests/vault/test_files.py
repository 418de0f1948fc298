"""The private key-file helpers both the keyring and the receipt signer stand on."""

from __future__ import annotations

import os
import stat
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
