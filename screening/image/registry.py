"""The registry of protected reference images: per entry its shape variants' hashes and grids, a thumbnail.

Hashes go into a `HashIndex` (candidate search by Hamming radius); the 16x16 grids stay beside it for
verification; the thumbnail is what a reviewer sees beside the customer's design. A registry is built
from a CSV (`id,path[,label,owner]`, paths relative to the CSV), saved to and loaded from a directory,
and the shipped default holds the CC0 `simple-icons` logos.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from screening import listfiles
from screening.image.decode import decode_image, flatten
from screening.image.errors import ImageDecodeError, ImageError, RegistryError
from screening.image.hashing import VARIANTS, phash64, reference_grids, small_grids
from screening.image.index import MultiIndexHashIndex

FORMAT_VERSION: Final = 2  # 2: rotation fill and crops taken against the outer background
_DEFAULT_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "images"
_THUMB_SIDE: Final = 256
_REFERENCE_DECODE_SIDE: Final = 512
_ID_MAX: Final = 200


@dataclass(frozen=True, slots=True)
class ImageEntry:
    """One protected image: its id in the registry, a human label and the rights owner."""

    entry_id: str
    label: str | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class PreparedReference:
    """What registering one reference stores: its variants' grids and hashes, and a PNG thumbnail.

    Computed by `prepare_reference` (pure, picklable), so bulk builds can run it in worker processes.
    """

    grids: npt.NDArray[np.uint8]
    hashes: npt.NDArray[np.uint64]
    thumbnail: bytes


def prepare_reference(
    image: Image.Image | bytes, thumb_side: int = _THUMB_SIDE, thumb_colours: int | None = None
) -> PreparedReference:
    """Raises RegistryError if the image holds no design, ImageDecodeError if it is not an image.

    `thumb_colours` stores the thumbnail as a palette PNG of that many colours: flat logos look the
    same and take a third of the bytes (the shipped registry must stay small).
    """
    pil = (
        decode_image(image, target=_REFERENCE_DECODE_SIDE).image
        if isinstance(image, bytes)
        else flatten(image)
    )
    grids = reference_grids(pil)
    if grids is None:
        raise RegistryError("reference has no design distinct from its background")
    return PreparedReference(
        small_grids(grids), phash64(grids), thumbnail_png(pil, thumb_side, thumb_colours)
    )


def thumbnail_png(image: Image.Image, side: int, colours: int | None = None) -> bytes:
    """PNG bytes of `image` fitted in side x side; palette-quantised (no dithering) when `colours` is set."""
    thumb: Image.Image = image.convert("RGB")
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    if colours is not None:
        thumb = thumb.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    thumb.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


class ImageRegistry:
    """Reference images indexed for screening. Thread-safe: adds and removes take a lock, reads do not."""

    def __init__(self, name: str = "images", version: str = "1", *, thumb_side: int = _THUMB_SIDE) -> None:
        self.name = name
        self.version = version
        self._thumb_side = thumb_side
        self._lock = threading.Lock()
        self._entries: dict[str, ImageEntry] = {}
        self._slot_of: dict[str, int] = {}
        self._slot_entry: list[str | None] = []
        self._grids: list[npt.NDArray[np.uint8]] = []  # per slot: (VARIANTS, 16, 16)
        self._hashes: list[npt.NDArray[np.uint64]] = []  # per slot: (VARIANTS,)
        self._thumbs: dict[str, bytes] = {}
        self._index = MultiIndexHashIndex(64)

    def __repr__(self) -> str:
        return f"ImageRegistry(name={self.name!r}, version={self.version!r}, entries={len(self)})"

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries

    @property
    def rows(self) -> int:
        """Indexed hash rows (entries x variants): what the search radius has to be sized for."""
        return len(self._index)

    @property
    def list_ref(self) -> str:
        return listfiles.list_ref(self.name, self.version)

    def entries(self) -> Iterator[ImageEntry]:
        return iter(list(self._entries.values()))

    def entry(self, entry_id: str) -> ImageEntry:
        return self._entries[entry_id]

    def thumbnail(self, entry_id: str) -> bytes:
        """PNG bytes of the reference as registered (longer side <= thumb_side), for reviewers."""
        return self._thumbs[entry_id]

    # ------------------------------------------------------------------ building
    def add(
        self, entry_id: str, image: Image.Image | bytes, label: str | None = None, owner: str | None = None
    ) -> None:
        """Register (or replace) one reference. Raises RegistryError if it holds no visible design."""
        if not entry_id or len(entry_id) > _ID_MAX:
            raise RegistryError("entry id must be 1-200 characters")
        self.add_prepared(ImageEntry(entry_id, label, owner), prepare_reference(image, self._thumb_side))

    def add_prepared(self, entry: ImageEntry, prepared: PreparedReference) -> None:
        """Register a reference prepared elsewhere (e.g. in a worker process)."""
        if not entry.entry_id or len(entry.entry_id) > _ID_MAX:
            raise RegistryError("entry id must be 1-200 characters")
        self._insert(entry, prepared.grids, prepared.hashes, prepared.thumbnail)

    def _insert(
        self, entry: ImageEntry, grids: npt.NDArray[np.uint8], hashes: npt.NDArray[np.uint64], thumb: bytes
    ) -> None:
        with self._lock:
            if entry.entry_id in self._entries:
                self._remove_locked(entry.entry_id)
            slot = len(self._slot_entry)
            self._slot_entry.append(entry.entry_id)
            self._grids.append(grids)
            self._hashes.append(hashes)
            self._slot_of[entry.entry_id] = slot
            self._entries[entry.entry_id] = entry
            self._thumbs[entry.entry_id] = thumb
            self._index.add(self._row_ids(slot), hashes.reshape(-1, 1))

    @staticmethod
    def _row_ids(slot: int) -> npt.NDArray[np.int64]:
        return np.arange(slot * VARIANTS, (slot + 1) * VARIANTS, dtype=np.int64)

    def remove(self, entry_id: str) -> bool:
        """Unregister one reference; False if it was not there. Cheap: index tombstones, no rebuild."""
        with self._lock:
            return self._remove_locked(entry_id)

    def _remove_locked(self, entry_id: str) -> bool:
        slot = self._slot_of.pop(entry_id, None)
        if slot is None:
            return False
        self._index.remove(self._row_ids(slot))
        self._slot_entry[slot] = None
        del self._entries[entry_id]
        del self._thumbs[entry_id]
        return True

    # ------------------------------------------------------------------ matching support
    def search(self, hashes: npt.NDArray[np.uint64], radius: int) -> dict[int, int]:
        """Every variant row within `radius` of any of `hashes`, with its smallest distance."""
        found: dict[int, int] = {}
        for h in np.unique(hashes):
            for row, dist in self._index.search(np.array([h], dtype=np.uint64), radius):
                if dist < found.get(row, 65):
                    found[row] = dist
        return found

    def resolve(self, row: int) -> tuple[str, npt.NDArray[np.uint8]] | None:
        """(entry id, 16x16 grid) of a variant row; None if its entry was removed meanwhile."""
        slot, variant = divmod(row, VARIANTS)
        if slot >= len(self._slot_entry):
            return None
        entry_id = self._slot_entry[slot]
        if entry_id is None:
            return None
        return entry_id, self._grids[slot][variant]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        """Write registry.json (metadata) and registry.npz (hashes, grids, thumbnails) into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            live = [(slot, eid) for slot, eid in enumerate(self._slot_entry) if eid is not None]
            meta = {
                "format": FORMAT_VERSION,
                "name": self.name,
                "version": self.version,
                "variants": VARIANTS,
                "thumb_side": self._thumb_side,
                "entries": [
                    {"id": eid, "label": self._entries[eid].label, "owner": self._entries[eid].owner}
                    for _, eid in live
                ],
            }
            thumbs = [self._thumbs[eid] for _, eid in live]
            grids = (
                np.stack([self._grids[s] for s, _ in live])
                if live
                else np.zeros((0, VARIANTS, 16, 16), np.uint8)
            )
            hashes = (
                np.stack([self._hashes[s] for s, _ in live]) if live else np.zeros((0, VARIANTS), np.uint64)
            )
        offsets = np.cumsum([0, *(len(t) for t in thumbs)]).astype(np.int64)
        blob = np.frombuffer(b"".join(thumbs), dtype=np.uint8)
        (directory / "registry.json").write_text(json.dumps(meta, ensure_ascii=False, indent=0))
        np.savez_compressed(
            directory / "registry.npz", grids=grids, hashes=hashes, thumbs=blob, offsets=offsets
        )

    @classmethod
    def load(cls, directory: Path) -> ImageRegistry:
        try:
            meta: dict[str, Any] = json.loads((directory / "registry.json").read_text())
            with np.load(directory / "registry.npz", allow_pickle=False) as z:
                grids, hashes, blob, offsets = z["grids"], z["hashes"], z["thumbs"], z["offsets"]
        except (OSError, ValueError, KeyError) as exc:
            raise RegistryError("registry directory is missing or unreadable") from exc
        if meta.get("format") != FORMAT_VERSION or meta.get("variants") != VARIANTS:
            raise RegistryError("registry was built by an incompatible version; rebuild it")
        entries = meta["entries"]
        if not (len(entries) == len(grids) == len(hashes) == len(offsets) - 1):
            raise RegistryError("registry files disagree on the number of entries")
        reg = cls(
            str(meta["name"]), str(meta["version"]), thumb_side=int(meta.get("thumb_side", _THUMB_SIDE))
        )
        raw = blob.tobytes()
        for slot, e in enumerate(entries):
            entry = ImageEntry(str(e["id"]), e.get("label"), e.get("owner"))
            reg._entries[entry.entry_id] = entry
            reg._slot_of[entry.entry_id] = slot
            reg._slot_entry.append(entry.entry_id)
            reg._grids.append(grids[slot])
            reg._hashes.append(hashes[slot])
            reg._thumbs[entry.entry_id] = raw[int(offsets[slot]) : int(offsets[slot + 1])]
        n = len(entries)
        reg._index = MultiIndexHashIndex.build(
            np.arange(n * VARIANTS, dtype=np.int64), hashes.reshape(-1, 1).astype(np.uint64), bits=64
        )
        return reg

    @classmethod
    def from_csv(
        cls, path: Path, name: str | None = None, version: str = "1", *, workers: int = 1
    ) -> ImageRegistry:
        """Build from `id,path[,label,owner]` rows (an optional header row `id,path,...` is skipped).

        Every row is checked before any image is decoded, so a bad row fails fast with its line number;
        images are then prepared in `workers` processes.
        """
        reg = cls(name or path.stem, version)
        base = path.resolve().parent
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError("registry CSV cannot be read as UTF-8 text") from exc
        rows: list[tuple[int, ImageEntry, str, bytes]] = []
        seen: set[str] = set()
        for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or all(not c.strip() for c in row):
                continue
            if lineno == 1 and [c.strip().lower() for c in row[:2]] == ["id", "path"]:
                continue
            if len(row) < 2 or len(row) > 4:
                raise RegistryError(f"line {lineno}: expected id,path[,label,owner], got {len(row)} fields")
            entry_id, rel = row[0].strip(), row[1].strip()
            label = (row[2].strip() or None) if len(row) > 2 else None
            owner = (row[3].strip() or None) if len(row) > 3 else None
            if not entry_id or not rel:
                raise RegistryError(f"line {lineno}: empty id or path")
            if len(entry_id) > _ID_MAX:
                raise RegistryError(f"line {lineno}: id longer than {_ID_MAX} characters")
            if entry_id in seen:
                raise RegistryError(f"line {lineno}: duplicate id {entry_id!r}")
            seen.add(entry_id)
            try:
                data = (base / rel).read_bytes()
            except OSError as exc:
                raise RegistryError(f"line {lineno}: cannot read image file {rel!r}") from exc
            rows.append((lineno, ImageEntry(entry_id, label, owner), rel, data))
        prepared: Iterator[PreparedReference | ImageError]
        if workers > 1 and len(rows) > 1:
            pool = ProcessPoolExecutor(max_workers=workers)
            prepared = pool.map(_prepare_or_error, [r[3] for r in rows], chunksize=4)
        else:
            pool = None
            prepared = (_prepare_or_error(r[3]) for r in rows)
        try:
            for (lineno, entry, rel, _), result in zip(rows, prepared, strict=True):
                if isinstance(result, ImageDecodeError):
                    raise RegistryError(f"line {lineno}: {rel!r} is not a decodable image ({result})")
                if isinstance(result, ImageError):
                    raise RegistryError(f"line {lineno}: {rel!r}: {result}")
                reg.add_prepared(entry, result)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        return reg

    @classmethod
    def default(cls) -> ImageRegistry:
        """The shipped registry (CC0 simple-icons logos), loaded once per process."""
        return _load_default()


def _prepare_or_error(data: bytes) -> PreparedReference | ImageError:
    try:
        return prepare_reference(data)
    except ImageError as exc:
        return exc


@functools.lru_cache(maxsize=1)
def _load_default() -> ImageRegistry:
    return ImageRegistry.load(_DEFAULT_DIR)
