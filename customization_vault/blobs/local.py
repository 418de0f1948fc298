"""LocalBlobStore: ciphertext objects as files under one root directory, written atomically.

A key "tenant/order/object" maps to `<root>/tenant/order/object`. A put streams into a temp file in the
same directory, fsyncs it, renames it over the final name and fsyncs the directory, so a crash leaves
either the old object, the new one, or an orphan temp file that listing ignores, never a torn object.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from customization_vault.blobs._keys import folder_prefix, key_parts
from customization_vault.errors import BackendError, BlobNotFound
from customization_vault.files import fsync_dir, private_dir

__all__ = ["LocalBlobStore"]

_READ_SIZE = 1 << 20
_TMP_PREFIX = ".tmp-"


class LocalBlobStore:
    """BlobStore over a directory; safe for several processes on one host (rename is atomic)."""

    name = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)
        try:
            private_dir(self._root)
        except OSError as exc:
            raise BackendError("cannot create the blob directory") from exc

    def _make_dirs(self, directory: Path) -> None:
        """Each missing level under the root, 0700 (`mkdir(parents=True)` would give the upper levels
        the umask's mode, and a seller's folder would list its order ids to every local user)."""
        current = self._root
        for part in directory.relative_to(self._root).parts:
            current = current / part
            current.mkdir(mode=0o700, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*key_parts(key))

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        path = self._path(key)
        written = 0
        for attempt in range(3):
            # A concurrent delete may remove the (empty) order directory between mkdir and open.
            try:
                self._make_dirs(path.parent)
                tmp = path.parent / f"{_TMP_PREFIX}{secrets.token_hex(8)}"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise BackendError("blob directory vanished during write") from None
            except OSError as exc:
                raise BackendError("cannot write blob") from exc
        try:
            try:
                with os.fdopen(fd, "wb", buffering=0) as fh:
                    for chunk in chunks:
                        view = memoryview(chunk).cast("B")  # byte offsets, whatever the item size
                        while view:
                            n = fh.write(view)
                            assert n is not None  # unbuffered regular file writes never return None
                            view = view[n:]
                            written += n
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except OSError as exc:
                if exc.errno == errno.ENOSPC:  # the operator's fix differs from any other write error
                    raise BackendError("cannot write blob: the blob store's disk is full") from exc
                raise BackendError("cannot write blob") from exc
        except BaseException:
            # Producer errors (a failed upload, an integrity error) propagate as they are; no trace stays.
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)
        return written

    def get(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFound("blob not found")
        return self._read(path)

    @staticmethod
    def _read(path: Path) -> Iterator[bytes]:
        try:
            fh = path.open("rb", buffering=0)
        except FileNotFoundError:
            raise BlobNotFound("blob not found") from None
        with fh:
            while chunk := fh.read(_READ_SIZE):
                yield chunk

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> int:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise BackendError("cannot delete blob") from exc
        fsync_dir(path.parent)
        self._prune(path.parent)
        return 1

    def _prune(self, directory: Path) -> None:
        """Remove now-empty order/tenant directories so purged orders leave no trace of their ids."""
        while directory != self._root and self._root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def delete_many(self, keys: Iterable[str]) -> int:
        return sum(self.delete(key) for key in keys)

    def delete_prefixes(self, prefixes: Sequence[str]) -> int:
        return sum(self.delete_many(keys) for keys in self.remaining(prefixes).values())

    def remaining(self, prefixes: Sequence[str]) -> dict[str, list[str]]:
        listed = {prefix: list(self.list(folder_prefix(prefix))) for prefix in prefixes}
        return {prefix: keys for prefix, keys in listed.items() if keys}

    def list(self, prefix: str = "") -> Iterator[str]:
        # Walk only the deepest directory the prefix names in full: listing one order stays cheap.
        *dirs, _ = prefix.split("/")
        if dirs:
            key_parts("/".join(dirs))
        start = self._root.joinpath(*dirs)
        if not start.is_dir():
            return iter(())
        return self._walk(start, prefix)

    def _walk(self, start: Path, prefix: str) -> Iterator[str]:
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = Path(dirpath).relative_to(self._root).parts
            for name in filenames:
                if name.startswith(_TMP_PREFIX):
                    continue
                key = "/".join((*rel, name))
                if key.startswith(prefix):
                    found.append(key)
        yield from sorted(found)

    def check(self) -> None:
        if not self._root.is_dir() or not os.access(self._root, os.R_OK | os.W_OK | os.X_OK):
            raise BackendError("blob directory unavailable")
        probe = self._root / f"{_TMP_PREFIX}probe-{secrets.token_hex(4)}"
        try:
            probe.write_bytes(b"")
        except OSError as exc:
            raise BackendError("blob directory not writable") from exc
        finally:
            with contextlib.suppress(OSError):
                probe.unlink()
