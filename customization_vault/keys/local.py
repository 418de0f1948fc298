"""LocalKeyring: epoch KEKs as 0600 files in one 0700 directory, the zero-set-up KeyProvider.

Files in the directory (the kek_id is the file stem):
    2026-11.kek          version 1 of epoch 2026-11 (32 random bytes)
    2026-11.v2.kek       version 2, created by `rotate`; the highest live version wraps new DEKs
    2026-11.v1.retired   marker: that version was retired (destroyed) after a rewrap
    2026-11.destroyed    tombstone (JSON, no secrets): the whole epoch was crypto-shredded

Overwriting a file before unlinking it is best effort only (journals, SSD wear levelling, snapshots keep
old blocks); that is why production uses KMS, where key deletion is the service's guarantee.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
import struct
from datetime import UTC, datetime
from pathlib import Path

from customization_vault._crypto import unwrap_key, wrap_key
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import (
    BackendError,
    InsecureKeyring,
    IntegrityError,
    KeyDestroyed,
    KeyUnavailable,
    StateConflict,
)
from customization_vault.files import fsync_dir, publish_private_file, read_private_file
from customization_vault.keys.base import (
    EPOCH_PATTERN,
    DataKey,
    EpochInfo,
    EpochLength,
    KeyContext,
    WrappedKey,
    checked_epoch_label,
    epoch_format,
    epoch_label,
)

__all__ = ["LocalKeyring"]

# kek_id = epoch, optionally ".v<n>" for n >= 2; a strict pattern also keeps catalog input out of paths.
_KEK_RE = re.compile(rf"(?P<epoch>{EPOCH_PATTERN})(?:\.v(?P<version>[1-9]\d{{0,5}}))?")
_KEK_SUFFIX = ".kek"
_RETIRED_SUFFIX = ".retired"
_DESTROYED_SUFFIX = ".destroyed"
_KEY_BYTES = 32


def _kek_id(epoch: str, version: int) -> str:
    return epoch if version == 1 else f"{epoch}.v{version}"


def _parse_kek_id(kek_id: str) -> tuple[str, int]:
    m = _KEK_RE.fullmatch(kek_id)
    if m is None:
        raise KeyUnavailable("malformed key id")
    return m["epoch"], int(m["version"] or 1)


def _wrap_aad(kek_id: str, ctx: KeyContext) -> bytes:
    """Length-prefixed, so no (tenant, order) pair can collide with another after concatenation."""
    out = bytearray(b"cv-wrap1")
    for part in (kek_id, ctx.tenant, ctx.order):
        raw = part.encode("utf-8")
        out += struct.pack(">I", len(raw)) + raw
    return bytes(out)


class LocalKeyring:
    """KeyProvider over KEK files. Safe for several processes sharing the directory on one host.

    Key files are created with O_EXCL and published with link(2), which fails rather than replaces:
    two processes racing to create an epoch's KEK can never overwrite one whose DEKs are in use.
    Keys are read from disk on every use (no cache), so a `destroy_epoch` in another process takes
    effect here at once.
    """

    name = "local"

    def __init__(
        self,
        directory: str | os.PathLike[str],
        clock: Clock = system_clock,
        epoch_length: EpochLength = "month",
    ) -> None:
        self._format = epoch_format(epoch_length)
        self._dir = Path(directory)
        self._clock = clock
        try:
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError("cannot create the keyring directory") from exc
        self._check_permissions()

    # -- permissions -------------------------------------------------------------------------------

    def _check_permissions(self) -> None:
        """Refuse to run over keys another local user could read or swap (an attack, or a bad restore)."""
        try:
            dir_mode = self._dir.stat().st_mode
            entries = list(self._dir.iterdir())
        except OSError as exc:
            raise BackendError("keyring directory unreadable") from exc
        if dir_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise InsecureKeyring("keyring directory is group/world writable")
        for entry in entries:
            if entry.name.endswith(_KEK_SUFFIX) or entry.name.startswith(".tmp-"):
                try:
                    mode = entry.lstat().st_mode  # lstat: a symlinked key (0777) is refused too
                except FileNotFoundError:
                    continue  # a temp file another process just published or removed
                if mode & 0o077:
                    raise InsecureKeyring("a key file is accessible to group/world")

    # -- epochs and files --------------------------------------------------------------------------

    def current_epoch(self, now: datetime | None = None) -> str:
        return epoch_label(self._clock() if now is None else now, self._format)

    def _path(self, kek_id: str) -> Path:
        return self._dir / f"{kek_id}{_KEK_SUFFIX}"

    def _tombstone(self, epoch: str) -> Path:
        return self._dir / f"{epoch}{_DESTROYED_SUFFIX}"

    def _versions(self, epoch: str) -> tuple[list[int], int]:
        """(live versions ascending, highest version ever used incl. retired)."""
        live: list[int] = []
        highest = 0
        for entry in self._dir.iterdir():
            for suffix, is_live in ((_KEK_SUFFIX, True), (_RETIRED_SUFFIX, False)):
                if entry.name.endswith(suffix):
                    m = _KEK_RE.fullmatch(entry.name[: -len(suffix)])
                    if m and m["epoch"] == epoch:
                        version = int(m["version"] or 1)
                        highest = max(highest, version)
                        if is_live:
                            live.append(version)
        return sorted(live), highest

    def _read_kek(self, kek_id: str) -> bytes:
        epoch, _ = _parse_kek_id(kek_id)
        try:
            material = read_private_file(self._path(kek_id), max_bytes=_KEY_BYTES + 1)
        except FileNotFoundError:
            if self._tombstone(epoch).exists() or (self._dir / f"{kek_id}{_RETIRED_SUFFIX}").exists():
                raise KeyDestroyed("key epoch destroyed") from None
            raise KeyUnavailable("key not found") from None
        except OSError as exc:
            raise BackendError("key file unreadable") from exc
        if len(material) != _KEY_BYTES:
            raise KeyUnavailable("key file corrupt")
        return material

    def _write_new(self, name: str, data: bytes) -> bool:
        """Atomically publish `name` with `data` (0600) unless it exists; True if this call created it."""
        return publish_private_file(self._dir / name, data)

    def _current_kek_id(self, epoch: str, create: bool) -> str:
        if self._tombstone(epoch).exists():
            raise KeyDestroyed("key epoch destroyed")
        live, _ = self._versions(epoch)
        if live:
            return _kek_id(epoch, live[-1])
        if not create:
            raise KeyUnavailable("no key for this epoch")
        # Lose the race gracefully: whichever process linked first owns version 1.
        self._write_new(f"{epoch}{_KEK_SUFFIX}", secrets.token_bytes(_KEY_BYTES))
        return epoch

    @staticmethod
    def _shred_file(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
            try:
                os.write(fd, secrets.token_bytes(_KEY_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
            path.unlink()

    # -- KeyProvider -------------------------------------------------------------------------------

    def generate(self, ctx: KeyContext, now: datetime | None = None) -> tuple[DataKey, WrappedKey]:
        epoch = self.current_epoch(now)
        kek_id = self._current_kek_id(epoch, create=True)
        dek = secrets.token_bytes(_KEY_BYTES)
        blob = wrap_key(self._read_kek(kek_id), dek, _wrap_aad(kek_id, ctx))
        return DataKey(dek), WrappedKey(provider=self.name, kek_id=kek_id, epoch=epoch, blob=blob)

    def unwrap(self, wrapped: WrappedKey, ctx: KeyContext) -> DataKey:
        epoch, _ = _parse_kek_id(wrapped.kek_id)
        if wrapped.provider != self.name or epoch != wrapped.epoch:
            raise KeyUnavailable("key was not wrapped by this keyring")
        kek = self._read_kek(wrapped.kek_id)
        try:
            return DataKey(unwrap_key(kek, wrapped.blob, _wrap_aad(wrapped.kek_id, ctx)))
        except (IntegrityError, ValueError):
            raise KeyUnavailable("wrapped key does not open under this context") from None

    def rotate(self, epoch: str | None = None) -> str:
        epoch = checked_epoch_label(self.current_epoch() if epoch is None else epoch)
        if self._tombstone(epoch).exists():
            raise KeyDestroyed("key epoch destroyed")
        while True:
            _, highest = self._versions(epoch)
            kek_id = _kek_id(epoch, highest + 1)
            if self._write_new(f"{kek_id}{_KEK_SUFFIX}", secrets.token_bytes(_KEY_BYTES)):
                return kek_id

    def rewrap(self, wrapped: WrappedKey, ctx: KeyContext) -> WrappedKey:
        dek = self.unwrap(wrapped, ctx)
        kek_id = self._current_kek_id(wrapped.epoch, create=False)
        if kek_id == wrapped.kek_id:
            return wrapped
        blob = wrap_key(self._read_kek(kek_id), dek.material, _wrap_aad(kek_id, ctx))
        return WrappedKey(provider=self.name, kek_id=kek_id, epoch=wrapped.epoch, blob=blob)

    def retire(self, kek_id: str) -> None:
        epoch, version = _parse_kek_id(kek_id)
        live, _ = self._versions(epoch)
        if version not in live:
            return  # already retired or destroyed: idempotent
        if version == live[-1]:
            raise StateConflict("the newest key of an epoch wraps new data keys and cannot be retired")
        # Marker first: if we crash after it, the version reads as destroyed rather than reappearing.
        self._write_new(f"{_kek_id(epoch, version)}{_RETIRED_SUFFIX}", b"")
        self._shred_file(self._path(kek_id))
        fsync_dir(self._dir)

    def destroy_epoch(self, epoch: str) -> None:
        checked_epoch_label(epoch)
        live, _ = self._versions(epoch)
        created = self._created_at(epoch, live)
        record = {
            "epoch": epoch,
            "kek_id": _kek_id(epoch, live[-1]) if live else epoch,
            "created_at": (created or self._clock()).isoformat(),
            "destroyed_at": self._clock().isoformat(),
        }
        # Tombstone first, so a crash half-way still refuses new keys and reports the epoch destroyed.
        self._write_new(f"{epoch}{_DESTROYED_SUFFIX}", json.dumps(record).encode())
        live, _ = self._versions(epoch)  # again: a version may have appeared before the tombstone landed
        for version in live:
            self._shred_file(self._path(_kek_id(epoch, version)))
        fsync_dir(self._dir)

    def _created_at(self, epoch: str, live: list[int]) -> datetime | None:
        if not live:
            return None
        stamp = self._path(_kek_id(epoch, live[0])).stat().st_mtime
        return datetime.fromtimestamp(stamp, UTC)

    def epochs(self) -> list[EpochInfo]:
        labels: set[str] = set()
        for entry in self._dir.iterdir():
            for suffix in (_KEK_SUFFIX, _DESTROYED_SUFFIX):
                if entry.name.endswith(suffix):
                    m = _KEK_RE.fullmatch(entry.name[: -len(suffix)])
                    if m:
                        labels.add(m["epoch"])
        infos: list[EpochInfo] = []
        for epoch in sorted(labels):
            tomb = self._tombstone(epoch)
            if tomb.exists():
                record = json.loads(tomb.read_text())
                infos.append(
                    EpochInfo(
                        epoch=epoch,
                        kek_id=str(record["kek_id"]),
                        created_at=datetime.fromisoformat(str(record["created_at"])),
                        destroyed=True,
                    )
                )
                continue
            live, _ = self._versions(epoch)
            created = self._created_at(epoch, live)
            assert created is not None  # a label without tombstone came from a live key file
            infos.append(
                EpochInfo(epoch=epoch, kek_id=_kek_id(epoch, live[-1]), created_at=created, destroyed=False)
            )
        return infos

    def check(self) -> None:
        if not self._dir.is_dir() or not os.access(self._dir, os.R_OK | os.W_OK | os.X_OK):
            raise BackendError("keyring directory unavailable")
        self._check_permissions()
