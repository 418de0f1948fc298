"""Local files that must not leak or tear: private key files (0600) read without following links and
refused when others may read them, published atomically without ever replacing one (the keyring's KEKs,
the receipt signing key); private directories and files (the data directory, the SQLite catalog);
and durable directory entries (`fsync_dir`, also the local blob store's).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from customization_vault.errors import InsecureKeyring

__all__ = ["fsync_dir", "private_dir", "private_file", "publish_private_file", "read_private_file"]

log = logging.getLogger(__name__)


def read_private_file(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    """The file's bytes (at most `max_bytes`, if given).

    Raises `FileNotFoundError` when it is missing, `InsecureKeyring` when group or world may access it
    (another local user could read or swap the key: an attack, or a careless restore), and `OSError`
    when it cannot be read, a symbolic link included (O_NOFOLLOW): callers translate these into their
    own errors. The mode is checked on the open descriptor, so a file swapped in between is caught.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        if os.fstat(fd).st_mode & 0o077:
            raise InsecureKeyring("a key file is accessible to group/world (chmod 600)")
        if max_bytes is not None:
            return os.read(fd, max_bytes)
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read()
    finally:
        os.close(fd)


def publish_private_file(path: str | os.PathLike[str], data: bytes) -> bool:
    """Create `path` (0600) holding `data` unless it exists; True if this call created it.

    Written and fsynced under a temporary name in the same directory, then published with link(2),
    which fails rather than replaces: of two processes racing to create one key, exactly one wins and
    no key whose data is in use is ever overwritten. The directory is fsynced so the link survives a
    crash.
    """
    target = Path(path)
    tmp = target.parent / f".tmp-{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(target.parent)
    return True


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make the directory's entries (a new link, an unlink) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tighten(path: Path, mode: int) -> None:
    """chmod to `mode` when group or world has any access; a path we may not chmod is logged, not fatal
    (the operator chose its owner)."""
    try:
        current = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if current & 0o077:
        try:
            os.chmod(path, mode)
        except PermissionError:
            log.warning("%s is accessible to group/world and cannot be tightened (chmod %o)", path, mode)


def private_dir(path: str | os.PathLike[str]) -> Path:
    """`path` as a directory only its owner can enter (0700): created so, or tightened if it was not."""
    p = Path(path)
    p.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(p, 0o700)
    return p


def private_file(path: str | os.PathLike[str], *companions: str) -> Path:
    """`path` as a file only its owner can read (0600): created empty so if missing, else tightened;
    likewise any `companions` (suffixes such as "-wal") that exist. A new file's mode is set by the
    open itself, so there is no moment where it is readable by others."""
    p = Path(path)
    os.close(os.open(p, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600))
    for candidate in (p, *(p.with_name(p.name + suffix) for suffix in companions)):
        _tighten(candidate, 0o600)
    return p
