"""What every screening list shares, whatever its format: how its file is read, versioned and named.

A finding names its list as "name@version" (`list_ref`), and a list read from a file is versioned by its
bytes (`list_version`), so the same file always yields the same version and any edit a new one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from screening.errors import ListFormatError

__all__ = ["list_ref", "list_version", "read_list_file"]


def read_list_file(path: Path) -> bytes:
    """The file's bytes; a file that cannot be read is a `ListFormatError` naming it (and why)."""
    try:
        return path.read_bytes()
    except OSError as e:
        raise ListFormatError(str(path), None, f"cannot read ({e.strerror})") from None


def list_version(data: bytes) -> str:
    """The first 12 hex digits of the SHA-256 of a list file's bytes."""
    return hashlib.sha256(data).hexdigest()[:12]


def list_ref(name: str, version: str) -> str:
    """How a finding names the list its entry came from: "simple-icons@13.2.0", "fonts@3f2a…"."""
    return f"{name}@{version}"
