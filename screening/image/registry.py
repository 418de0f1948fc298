"""The registry of protected reference images: logos matched by shape, artwork matched by local features.

Per reference the registry decides which matchers apply, from the image: a flat design (a logo) gets
the shape path (variant hashes in a `HashIndex`, 16x16 grids for verification), a textured work (a
painting, a photograph) the artwork path (visual words in an `ArtworkIndex`), and a flat design with
enough detail (an illustration) both. A registry is built from a CSV
(`id,path[,label,owner[,severity[,matchers]]]`, paths relative to the CSV) in which a bad line is
reported with its number and skipped (or, strict, refused); it is saved to and loaded from a directory,
and the shipped default holds the CC0 `simple-icons` logos.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import logging
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
from screening.findings import Severity
from screening.image.artwork import (
    ILLUSTRATION_COLOURS,
    MIN_KEYPOINTS,
    SHAPE_MIN_FLAT,
    Keypoints,
    dominant_colours,
    flat_share,
    reference_keypoints,
)
from screening.image.artwork_index import ArtworkIndex
from screening.image.calibration import POOL_ID, TYPICAL_TAIL, null_tail, null_tails
from screening.image.decode import decode_image, flatten
from screening.image.errors import ImageDecodeError, ImageError, RegistryError
from screening.image.hashing import VARIANTS, phash64, reference_grids, small_grids
from screening.image.index import MultiIndexHashIndex

# 2: rotation fill and crops taken against the outer background; 3: per-entry matchers and severity,
# entries without shape data, and the artwork index (artwork.npz). Format 2 still loads (shape only).
log = logging.getLogger(__name__)

FORMAT_VERSION: Final = 3
_READABLE_FORMATS: Final = (2, 3)
SHAPE: Final = "shape"
ARTWORK: Final = "artwork"
# What a CSV's `matchers` column may say; "auto" lets the image decide.
MATCHER_CHOICES: Final = {"auto": (), "shape": (SHAPE,), "artwork": (ARTWORK,), "both": (SHAPE, ARTWORK)}
_ARTWORK_THUMB_QUALITY: Final = 80
_DEFAULT_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "images"
_THUMB_SIDE: Final = 256
_REFERENCE_DECODE_SIDE: Final = 512
_ID_MAX: Final = 200


@dataclass(frozen=True, slots=True)
class ImageEntry:
    """One protected image: its id, a human label, the rights owner, what a match weighs, how it is matched.

    `severity` is REVIEW unless the registry line says BLOCK (a rights holder who refuses every copy);
    `matchers` names the paths this reference is matched by (SHAPE, ARTWORK or both).
    """

    entry_id: str
    label: str | None = None
    owner: str | None = None
    severity: Severity = Severity.REVIEW
    matchers: tuple[str, ...] = (SHAPE,)


@dataclass(frozen=True, slots=True)
class RegistryProblem:
    """A registry line that was skipped, and why (names the line and file, never image content)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class PreparedReference:
    """What registering one reference stores: shape grids and hashes and/or artwork keypoints, a thumbnail.

    Computed by `prepare_reference` (pure, picklable), so bulk builds can run it in worker processes.
    """

    grids: npt.NDArray[np.uint8] | None
    hashes: npt.NDArray[np.uint64] | None
    thumbnail: bytes
    keypoints: tuple[Keypoints, Keypoints] | None = None  # as registered, and mirrored
    flat: float = 1.0
    tail: float | None = None  # the shape null tail (calibration.null_tail); None without shape grids

    @property
    def matchers(self) -> tuple[str, ...]:
        return ((SHAPE,) if self.grids is not None else ()) + (
            (ARTWORK,) if self.keypoints is not None else ()
        )


def prepare_reference(
    image: Image.Image | bytes,
    thumb_side: int = _THUMB_SIDE,
    thumb_colours: int | None = None,
    matchers: str = "auto",
) -> PreparedReference:
    """Raises RegistryError if no asked-for matcher can use the image, ImageDecodeError if it is no image.

    `matchers` "auto" decides from the image: the shape path for designs with flat areas (share of flat
    pixels >= SHAPE_MIN_FLAT) that hold a distinct design; the artwork path for textured images (flat
    share below that) and for flat designs as colourful as an illustration (>= ILLUSTRATION_COLOURS),
    with at least MIN_KEYPOINTS keypoints; when neither holds, whichever works. A flat logo of two or
    three colours stays on the shape path alone: on the second logo dev set (seed 777) five detailed
    one-colour logos also matched by features brought a wordmark false positive at 38 inliers.
    `thumb_colours` stores the thumbnail as a palette PNG of that many colours: flat logos look the
    same and take a third of the bytes (the shipped registry must stay small).
    """
    if matchers not in MATCHER_CHOICES:
        raise RegistryError(f"matchers must be one of {', '.join(MATCHER_CHOICES)}")
    pil = (
        decode_image(image, target=_REFERENCE_DECODE_SIDE).image
        if isinstance(image, bytes)
        else flatten(image)
    )
    flat = flat_share(pil)
    auto = matchers == "auto"
    want = MATCHER_CHOICES[matchers]
    grids = keypoints = None
    if SHAPE in want or (auto and flat >= SHAPE_MIN_FLAT):
        grids = reference_grids(pil)
    textured = flat < SHAPE_MIN_FLAT
    if ARTWORK in want or (auto and (textured or dominant_colours(pil) >= ILLUSTRATION_COLOURS)):
        found = reference_keypoints(pil)
        keypoints = found if len(found[0]) >= MIN_KEYPOINTS else None
    if auto and grids is None and keypoints is None:
        if not textured:  # a flat image without a shape (a full-bleed flat design): by features
            found = reference_keypoints(pil)
            keypoints = found if len(found[0]) >= MIN_KEYPOINTS else None
        else:
            grids = reference_grids(pil)
    if SHAPE in want and grids is None:
        raise RegistryError("reference has no design distinct from its background (shape matcher)")
    if ARTWORK in want and keypoints is None:
        raise RegistryError("reference has too little texture for the artwork matcher")
    if grids is None and keypoints is None:
        raise RegistryError("reference has neither a design distinct from its background nor texture")
    if grids is None:  # a painting or a photograph: a JPEG thumbnail is a tenth of a PNG one
        thumb = thumbnail_jpeg(pil, thumb_side)
    else:
        thumb = thumbnail_png(pil, thumb_side, thumb_colours)
    small = None if grids is None else small_grids(grids)
    return PreparedReference(
        small,
        None if grids is None else phash64(grids),
        thumb,
        keypoints,
        flat,
        None if small is None else null_tail(small),
    )


def thumbnail_jpeg(image: Image.Image, side: int) -> bytes:
    thumb: Image.Image = image.convert("RGB")
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=_ARTWORK_THUMB_QUALITY)
    return buf.getvalue()


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
        self._tails: list[float] = []  # per slot: the shape null tail (calibration.py)
        self._thumbs: dict[str, bytes] = {}
        self._index = MultiIndexHashIndex(64)
        self.artwork = ArtworkIndex()
        # Lines of the CSV this registry was built from that were skipped (from_csv, not strict).
        self.problems: tuple[RegistryProblem, ...] = ()

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
        """Image bytes of the reference as registered (longer side <= thumb_side), for reviewers: PNG for
        designs matched by shape, JPEG for artwork matched by features alone."""
        return self._thumbs[entry_id]

    def report(self) -> dict[str, Any]:
        """What the registry holds and decided, per reference, and the lines it skipped."""
        rows: list[dict[str, Any]] = []
        for e in self.entries():
            rows.append(
                {
                    "id": e.entry_id,
                    "label": e.label,
                    "owner": e.owner,
                    "severity": e.severity.value,
                    "matchers": list(e.matchers),
                    "keypoints": self.artwork.keypoint_count(e.entry_id) if e.entry_id in self.artwork else 0,
                }
            )
        counts = {m: sum(1 for r in rows if m in r["matchers"]) for m in (SHAPE, ARTWORK)}
        return {
            "list": self.list_ref,
            "entries": len(rows),
            "by_matcher": {
                "shape_only": sum(1 for r in rows if r["matchers"] == [SHAPE]),
                "artwork_only": sum(1 for r in rows if r["matchers"] == [ARTWORK]),
                "both": sum(1 for r in rows if len(r["matchers"]) == 2),
                **counts,
            },
            "skipped": [{"line": p.line, "error": p.message} for p in self.problems],
            "references": rows,
        }

    # ------------------------------------------------------------------ building
    def add(
        self,
        entry_id: str,
        image: Image.Image | bytes,
        label: str | None = None,
        owner: str | None = None,
        *,
        severity: Severity = Severity.REVIEW,
        matchers: str = "auto",
    ) -> None:
        """Register (or replace) one reference. Raises RegistryError if no matcher can use it."""
        if not entry_id or len(entry_id) > _ID_MAX:
            raise RegistryError("entry id must be 1-200 characters")
        prepared = prepare_reference(image, self._thumb_side, matchers=matchers)
        self.add_prepared(ImageEntry(entry_id, label, owner, severity), prepared)

    def add_prepared(self, entry: ImageEntry, prepared: PreparedReference) -> None:
        """Register a reference prepared elsewhere (e.g. in a worker process); its matchers are the
        prepared ones. The artwork index is rebuilt at the next search (or `artwork.build()`)."""
        if not entry.entry_id or len(entry.entry_id) > _ID_MAX:
            raise RegistryError("entry id must be 1-200 characters")
        entry = dataclasses.replace(entry, matchers=prepared.matchers)
        with self._lock:
            if entry.entry_id in self._entries:
                self._remove_locked(entry.entry_id)
            if prepared.grids is not None and prepared.hashes is not None:
                tail = null_tail(prepared.grids) if prepared.tail is None else prepared.tail
                self._insert_shape(entry.entry_id, prepared.grids, prepared.hashes, tail)
            if prepared.keypoints is not None:
                self.artwork.add(entry.entry_id, *prepared.keypoints)
            self._entries[entry.entry_id] = entry
            self._thumbs[entry.entry_id] = prepared.thumbnail

    def _insert_shape(
        self, entry_id: str, grids: npt.NDArray[np.uint8], hashes: npt.NDArray[np.uint64], tail: float
    ) -> None:
        slot = len(self._slot_entry)
        self._slot_entry.append(entry_id)
        self._grids.append(grids)
        self._hashes.append(hashes)
        self._tails.append(tail)
        self._slot_of[entry_id] = slot
        self._index.add(self._row_ids(slot), hashes.reshape(-1, 1))

    @staticmethod
    def _row_ids(slot: int) -> npt.NDArray[np.int64]:
        return np.arange(slot * VARIANTS, (slot + 1) * VARIANTS, dtype=np.int64)

    def remove(self, entry_id: str) -> bool:
        """Unregister one reference; False if it was not there. Cheap: index tombstones, no rebuild."""
        with self._lock:
            return self._remove_locked(entry_id)

    def _remove_locked(self, entry_id: str) -> bool:
        if entry_id not in self._entries:
            return False
        slot = self._slot_of.pop(entry_id, None)
        if slot is not None:
            self._index.remove(self._row_ids(slot))
            self._slot_entry[slot] = None
        self.artwork.remove(entry_id)
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

    def tail(self, entry_id: str) -> float:
        """The shape null tail of a reference matched by shape: how closely strangers come to it."""
        slot = self._slot_of.get(entry_id)
        return TYPICAL_TAIL if slot is None else self._tails[slot]  # removed meanwhile: any value will do

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        """Write registry.json (metadata), registry.npz (shape hashes, grids, thumbnails) and artwork.npz."""
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            entries = list(self._entries.values())
            shaped = [e.entry_id for e in entries if e.entry_id in self._slot_of]
            meta = {
                "format": FORMAT_VERSION,
                "name": self.name,
                "version": self.version,
                "variants": VARIANTS,
                "thumb_side": self._thumb_side,
                "null_pool": POOL_ID,
                "entries": [
                    {
                        "id": e.entry_id,
                        "label": e.label,
                        "owner": e.owner,
                        "severity": e.severity.value,
                        "matchers": list(e.matchers),
                    }
                    for e in entries
                ],
            }
            thumbs = [self._thumbs[e.entry_id] for e in entries]
            grids = (
                np.stack([self._grids[self._slot_of[eid]] for eid in shaped])
                if shaped
                else np.zeros((0, VARIANTS, 16, 16), np.uint8)
            )
            hashes = (
                np.stack([self._hashes[self._slot_of[eid]] for eid in shaped])
                if shaped
                else np.zeros((0, VARIANTS), np.uint64)
            )
        offsets = np.cumsum([0, *(len(t) for t in thumbs)]).astype(np.int64)
        blob = np.frombuffer(b"".join(thumbs), dtype=np.uint8)
        (directory / "registry.json").write_text(json.dumps(meta, ensure_ascii=False, indent=0))
        np.savez_compressed(
            directory / "registry.npz", grids=grids, hashes=hashes, thumbs=blob, offsets=offsets
        )
        self.save_calibration(directory)
        self.artwork.save(directory / "artwork.npz")

    def save_calibration(self, directory: Path) -> None:
        """Write the shape null tails (tails.npy, in the order of registry.npz) and mark registry.json with
        the pool they were computed against. Its own file, so the calibration of a registry saved before
        it existed can be added without rewriting the rest."""
        with self._lock:
            shaped = [eid for eid in self._entries if eid in self._slot_of]
            tails = np.array([self._tails[self._slot_of[eid]] for eid in shaped], dtype=np.float32)
        np.save(directory / "tails.npy", tails)
        meta_path = directory / "registry.json"
        meta = json.loads(meta_path.read_text())
        if meta.get("null_pool") != POOL_ID:
            meta["null_pool"] = POOL_ID
            meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=0))

    @classmethod
    def load(cls, directory: Path) -> ImageRegistry:
        try:
            meta: dict[str, Any] = json.loads((directory / "registry.json").read_text())
            with np.load(directory / "registry.npz", allow_pickle=False) as z:
                grids, hashes, blob, offsets = z["grids"], z["hashes"], z["thumbs"], z["offsets"]
        except (OSError, ValueError, KeyError) as exc:
            raise RegistryError("registry directory is missing or unreadable") from exc
        fmt = meta.get("format")
        if fmt not in _READABLE_FORMATS or meta.get("variants") != VARIANTS:
            raise RegistryError("registry was built by an incompatible version; rebuild it")
        entries = meta["entries"]
        # Format 2 has no matchers: every entry was a shape entry.
        matchers = [tuple(e.get("matchers", [SHAPE])) for e in entries]
        n_shape = sum(1 for m in matchers if SHAPE in m)
        if not (n_shape == len(grids) == len(hashes) and len(entries) == len(offsets) - 1):
            raise RegistryError("registry files disagree on the number of entries")
        reg = cls(
            str(meta["name"]), str(meta["version"]), thumb_side=int(meta.get("thumb_side", _THUMB_SIDE))
        )
        raw = blob.tobytes()
        tails = _saved_tails(directory, meta, n_shape)
        slot = 0
        for k, e in enumerate(entries):
            entry = ImageEntry(
                str(e["id"]),
                e.get("label"),
                e.get("owner"),
                Severity(e.get("severity", "review")),
                matchers[k],
            )
            reg._entries[entry.entry_id] = entry
            reg._thumbs[entry.entry_id] = raw[int(offsets[k]) : int(offsets[k + 1])]
            if SHAPE in entry.matchers:
                reg._slot_of[entry.entry_id] = slot
                reg._slot_entry.append(entry.entry_id)
                reg._grids.append(grids[slot])
                reg._hashes.append(hashes[slot])
                slot += 1
        reg._tails = (null_tails(grids) if tails is None else tails).astype(float).tolist()
        reg._index = MultiIndexHashIndex.build(
            np.arange(n_shape * VARIANTS, dtype=np.int64), hashes.reshape(-1, 1).astype(np.uint64), bits=64
        )
        expected = {e.entry_id for e in reg._entries.values() if ARTWORK in e.matchers}
        if expected or (directory / "artwork.npz").exists():
            reg.artwork = ArtworkIndex.load(directory / "artwork.npz")
            if any(e not in reg.artwork for e in expected) or len(reg.artwork) != len(expected):
                raise RegistryError("registry files disagree on the artwork entries")
            reg.artwork.build()
        return reg

    @classmethod
    def from_csv(
        cls,
        path: Path,
        name: str | None = None,
        version: str = "1",
        *,
        workers: int = 1,
        strict: bool = False,
    ) -> ImageRegistry:
        """Build from `id,path[,label,owner[,severity[,matchers]]]` rows; a header row naming the columns
        (`id,path,...`) may give them in any order.

        A bad line (wrong fields, a duplicate id, an unreadable or unusable image) is skipped and kept in
        `problems` with its line number, so one bad line never costs the other references; `strict`
        raises RegistryError on the first instead. Images are prepared in `workers` processes.
        """
        reg = cls(name or path.stem, version)
        base = path.resolve().parent
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError("registry CSV cannot be read as UTF-8 text") from exc
        problems: list[RegistryProblem] = []

        def skip(lineno: int, message: str) -> None:
            if strict:
                raise RegistryError(f"line {lineno}: {message}")
            problems.append(RegistryProblem(lineno, message))

        rows: list[tuple[int, ImageEntry, str, bytes, str]] = []
        seen: set[str] = set()
        columns = list(_COLUMNS)
        for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or all(not c.strip() for c in row):
                continue
            cells = [c.strip() for c in row]
            if lineno == 1 and [c.lower() for c in cells[:2]] == ["id", "path"]:
                header = [c.lower() for c in cells]
                unknown = [c for c in header if c not in _COLUMNS]
                if unknown or len(set(header)) != len(header):
                    raise RegistryError(f"line 1: header columns must be among {', '.join(_COLUMNS)}")
                columns = header
                continue
            if len(cells) < 2 or len(cells) > len(columns):
                skip(
                    lineno, f"expected {','.join(columns)} (the first two required), got {len(cells)} fields"
                )
                continue
            fields = dict(zip(columns, cells, strict=False))
            entry_id, rel = fields.get("id", ""), fields.get("path", "")
            if not entry_id or not rel:
                skip(lineno, "empty id or path")
                continue
            if len(entry_id) > _ID_MAX:
                skip(lineno, f"id longer than {_ID_MAX} characters")
                continue
            if entry_id in seen:
                skip(lineno, f"duplicate id {entry_id!r}")
                continue
            severity_text = (fields.get("severity") or "review").lower()
            if severity_text not in (Severity.REVIEW.value, Severity.BLOCK.value):
                skip(lineno, f"severity must be review or block, got {severity_text!r}")
                continue
            matchers = (fields.get("matchers") or "auto").lower()
            if matchers not in MATCHER_CHOICES:
                skip(lineno, f"matchers must be one of {', '.join(MATCHER_CHOICES)}, got {matchers!r}")
                continue
            seen.add(entry_id)
            try:
                data = (base / rel).read_bytes()
            except OSError:
                skip(lineno, f"cannot read image file {rel!r}")
                continue
            entry = ImageEntry(
                entry_id, fields.get("label") or None, fields.get("owner") or None, Severity(severity_text)
            )
            rows.append((lineno, entry, rel, data, matchers))
        prepared: Iterator[PreparedReference | ImageError]
        if workers > 1 and len(rows) > 1:
            pool = ProcessPoolExecutor(max_workers=workers)
            prepared = pool.map(_prepare_or_error, [(r[3], r[4]) for r in rows], chunksize=4)
        else:
            pool = None
            prepared = (_prepare_or_error((r[3], r[4])) for r in rows)
        try:
            for (lineno, entry, rel, _, _), result in zip(rows, prepared, strict=True):
                if isinstance(result, ImageDecodeError):
                    skip(lineno, f"{rel!r} is not a decodable image ({result})")
                elif isinstance(result, ImageError):
                    skip(lineno, f"{rel!r}: {result}")
                else:
                    reg.add_prepared(entry, result)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        reg.problems = tuple(sorted(problems, key=lambda p: p.line))
        for problem in reg.problems:  # a server has no other place to say it (the CLI prints them too)
            log.warning("image registry %s: skipped %s", path.name, problem)
        reg.artwork.build()
        return reg

    @classmethod
    def default(cls) -> ImageRegistry:
        """The shipped registry (CC0 simple-icons logos), loaded once per process."""
        return _load_default()


_COLUMNS: Final = ("id", "path", "label", "owner", "severity", "matchers")


def _saved_tails(directory: Path, meta: dict[str, Any], n_shape: int) -> npt.NDArray[np.float32] | None:
    """The saved null tails if they were computed against this release's pool, else None (recomputed)."""
    if meta.get("null_pool") != POOL_ID:
        return None
    try:
        tails: npt.NDArray[np.float32] = np.load(directory / "tails.npy", allow_pickle=False)
    except (OSError, ValueError):
        return None
    return tails if tails.shape == (n_shape,) else None


def _prepare_or_error(task: tuple[bytes, str]) -> PreparedReference | ImageError:
    try:
        return prepare_reference(task[0], matchers=task[1])
    except ImageError as exc:
        return exc


@functools.lru_cache(maxsize=1)
def _load_default() -> ImageRegistry:
    return ImageRegistry.load(_DEFAULT_DIR)
