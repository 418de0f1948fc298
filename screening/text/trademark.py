"""Trademark index: exact, one-edit (symmetric deletion) and phonetic lookups over millions of marks.

Candidates come from hashed keys in sorted numpy arrays, never from a scan of the marks: a text's
windows (1-6 consecutive words, joined: "coca cola" -> "cocacola") are hashed in one vectorised pass and
found by binary search. One edit is caught by symmetric deletion (SymSpell): every mark key's one-char
deletions are indexed, and a query's deletions are looked up too, so an insertion, deletion,
substitution or transposition meets its mark; rapidfuzz then verifies each candidate. Marks, ids and
labels live in byte blobs, so 3M marks cost tens of bytes each rather than Python objects.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from screening.findings import RegisterInfo
from screening.listfiles import list_ref
from screening.text.lexicon import Lexicon, default_lexicon
from screening.text.lists import Distinctiveness, MarkList, distinctiveness_of_words, mark_words
from screening.text.phonetic import phonetic_key
from screening.text.register import mask_classes, status_name

INDEX_FORMAT = 4
HASH_WIDTH = 32  # bytes of a key that are hashed; longer keys share a bucket and are verified in full
MIN_DELETE_LEN = 5  # shorter marks match exactly or by sound only: one edit turns "uber" into "huber"
MIN_PHONETIC_LEN = 4
PARALLEL_MIN_MARKS = 200_000
_SEED = np.uint64(0x9E3779B97F4A7C15)
_MUL = np.uint64(0xBF58476D1CE4E5B9)
_S31 = np.uint64(31)
_S32 = np.uint64(32)

DIST_CODES = {Distinctiveness.COINED: 0, Distinctiveness.ARBITRARY: 1, Distinctiveness.DICTIONARY: 2}
DIST_BY_CODE = {v: k for k, v in DIST_CODES.items()}

U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]


def _mix(words: npt.NDArray[np.uint64]) -> U64:
    h = np.full(words.shape[0], _SEED, dtype=np.uint64)
    for j in range(words.shape[1]):
        h ^= words[:, j]
        h *= _MUL
        h ^= h >> _S31
    return h


def hash_keys(keys: Sequence[bytes]) -> U64:
    """Stable 64-bit hashes of keys (first HASH_WIDTH bytes); Python's hash() is salted per process."""
    if not keys:
        return np.zeros(0, dtype=np.uint64)
    arr = np.array(keys, dtype=f"S{HASH_WIDTH}")
    return _mix(arr.view(np.uint64).reshape(len(keys), HASH_WIDTH // 8))


def _hash_matrix(m: npt.NDArray[np.uint8]) -> U64:
    return _mix(np.ascontiguousarray(m).view(np.uint64).reshape(m.shape[0], HASH_WIDTH // 8))


def _blob(strings: Sequence[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def _sorted_pairs(h: npt.NDArray[np.generic], ids: I32) -> tuple[npt.NDArray[np.generic], I32]:
    order = np.argsort(h, kind="stable")
    return h[order], ids[order]


@dataclass(frozen=True, slots=True)
class Candidate:
    mark: int
    how: str  # "exact" | "edit" | "phonetic"


class MarkIndex:
    """Immutable after construction, so concurrent queries need no lock."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, object]) -> None:  # type: ignore[type-arg]
        self._a = arrays
        self.meta = meta
        self.name = str(meta["name"])
        self.version = str(meta["version"])
        self.max_words = int(meta["max_words"])  # type: ignore[call-overload]
        self._keys_blob = arrays["keys_blob"].tobytes()
        self._keys_off = arrays["keys_off"]
        self._ids_blob = arrays["ids_blob"].tobytes()
        self._ids_off = arrays["ids_off"]
        self._labels_blob = arrays["labels_blob"].tobytes()
        self._labels_off = arrays["labels_off"]
        self.dist = arrays["dist"]
        self.nwords = arrays["nwords"]
        refs = meta.get("refs")
        self.refs = [str(r) for r in refs] if isinstance(refs, list) else [self.ref]
        self._src = arrays.get("src")
        self._classes = arrays.get("classes")
        self._famous = arrays.get("famous")
        self._info_blob = arrays["info_blob"].tobytes() if "info_blob" in arrays else b""
        self._info_off = arrays.get("info_off")
        self._exact_h, self._exact_i = arrays["exact_h"], arrays["exact_i"]
        self._del_h, self._del_i = arrays["del_h"], arrays["del_i"]
        self._phon_h, self._phon_i = arrays["phon_h"], arrays["phon_i"]

    @property
    def ref(self) -> str:
        return list_ref(self.name, self.version)

    def __len__(self) -> int:
        return int(self.dist.shape[0])

    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self._a.values())

    def key(self, i: int) -> str:
        return self._keys_blob[self._keys_off[i] : self._keys_off[i + 1]].decode("utf-8")

    def mark_id(self, i: int) -> str:
        return self._ids_blob[self._ids_off[i] : self._ids_off[i + 1]].decode("utf-8")

    def label(self, i: int) -> str:
        return self._labels_blob[self._labels_off[i] : self._labels_off[i + 1]].decode("utf-8")

    def distinctiveness(self, i: int) -> Distinctiveness:
        return DIST_BY_CODE[int(self.dist[i])]

    def count_from(self, source: int) -> int:
        """How many marks came from the `source`-th of `refs`."""
        if self._src is None:
            return len(self) if source == 0 else 0
        return int(np.count_nonzero(self._src == source))

    def list_ref_of(self, i: int) -> str:
        """The list a mark came from: a marks list and a register share one index."""
        return self.refs[int(self._src[i])] if self._src is not None else self.ref

    def register_info(self, i: int) -> RegisterInfo | None:
        """The register's facts about a mark (None for a mark from a plain marks list)."""
        if self._info_off is None or self._classes is None or self._famous is None:
            return None
        raw = self._info_blob[self._info_off[i] : self._info_off[i + 1]]
        if not raw:
            return None
        serial, registration, status, owner = raw.decode("utf-8").split("\x1f")
        return RegisterInfo(
            serial=serial,
            registration=registration or None,
            status=status_name(int(status)),
            status_code=int(status),
            classes=mask_classes(int(self._classes[i])),
            owner=owner or None,
            famous=bool(self._famous[i]),
        )

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def build(
        cls, marks: MarkList, lexicon: Lexicon, workers: int | None = None, register: MarkList | None = None
    ) -> MarkIndex:
        """`register`: a trademark register indexed together with `marks` (one lookup for both); its
        marks' findings name it as their list and carry its facts (`register_info`).

        Per-mark work (folding, distinctiveness, phonetic key) is plain Python, ~10 µs a mark: lists
        of PARALLEL_MIN_MARKS or more are split over worker processes when the shipped lexicon is used
        (workers load it themselves; a custom lexicon keeps the build in this process)."""
        primary = marks
        if register is not None:
            marks = _concat(marks, register)
        n = len(marks)
        if workers is None:
            workers = min(os.cpu_count() or 1, 4)
        if n >= PARALLEL_MIN_MARKS and workers > 1 and lexicon is default_lexicon():
            ctx = multiprocessing.get_context("spawn")  # no fork: the caller may hold threads and locks
            step = -(-n // (workers * 4))
            chunks = [
                (i, marks.marks[i : i + step], marks.distinctiveness[i : i + step]) for i in range(0, n, step)
            ]
            with ctx.Pool(workers) as pool:
                parts = pool.map(_prepare_chunk, chunks)
        else:
            parts = [_prepare(0, marks.marks, marks.distinctiveness, lexicon)]
        keys = [k for p in parts for k in p[0]]
        nwords_l = [x for p in parts for x in p[1]]
        dist_l = [x for p in parts for x in p[2]]
        phon = [x for p in parts for x in p[3]]
        phon_ids = [x for p in parts for x in p[4]]
        nwords = np.asarray(nwords_l, dtype=np.uint8)
        dist = np.asarray(dist_l, dtype=np.uint8)
        max_words = int(nwords.max()) if n else 1
        key_bytes = [k.encode("utf-8") for k in keys]
        exact_h, exact_i = _sorted_pairs(hash_keys(key_bytes), np.arange(n, dtype=np.int32))
        del_h, del_i = cls._deletions(key_bytes, dist)
        phon_h, phon_i = _sorted_pairs(hash_keys(phon), np.asarray(phon_ids, dtype=np.int32))
        keys_blob, keys_off = _blob(keys)
        ids_blob, ids_off = _blob(marks.ids)
        labels_blob, labels_off = _blob(marks.marks)
        arrays: dict[str, np.ndarray] = {  # type: ignore[type-arg]
            "keys_blob": keys_blob,
            "keys_off": keys_off,
            "ids_blob": ids_blob,
            "ids_off": ids_off,
            "labels_blob": labels_blob,
            "labels_off": labels_off,
            "dist": dist,
            "nwords": nwords,
            "exact_h": exact_h,
            "exact_i": exact_i,
            "del_h": del_h,
            "del_i": del_i,
            "phon_h": phon_h,
            "phon_i": phon_i,
        }
        if register is not None:
            arrays.update(_register_arrays(len(primary), register))
        meta: dict[str, object] = {
            "format": INDEX_FORMAT,
            "name": primary.name,
            "version": primary.version,
            "refs": [primary.ref] + ([register.ref] if register is not None else []),
            "max_words": min(max_words, 6),
            "count": n,
        }
        return cls(arrays, meta)

    @staticmethod
    def _deletions(key_bytes: list[bytes], dist: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint32], I32]:
        """Hashes (upper 32 bits: a 1-in-4-billion false hit is cheaper than twice the memory) of every
        one-char deletion of each eligible key, built column-wise in numpy rather than per string."""
        n = len(key_bytes)
        if n == 0:
            return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int32)
        lengths = np.fromiter((len(b) for b in key_bytes), dtype=np.int32, count=n)
        mat = np.array(key_bytes, dtype=f"S{HASH_WIDTH}").view(np.uint8).reshape(n, HASH_WIDTH)
        eligible = (lengths >= MIN_DELETE_LEN) & (dist != DIST_CODES[Distinctiveness.DICTIONARY])
        rows = np.nonzero(eligible)[0].astype(np.int32)
        sub = mat[rows]
        sub_len = np.minimum(lengths[rows], HASH_WIDTH)
        hs: list[npt.NDArray[np.uint32]] = []
        ids: list[I32] = []
        for pos in range(HASH_WIDTH):
            take = sub_len > pos
            if not take.any():
                break
            m = sub[take]
            v = np.empty_like(m)
            v[:, :pos] = m[:, :pos]
            v[:, pos : HASH_WIDTH - 1] = m[:, pos + 1 :]
            v[:, HASH_WIDTH - 1] = 0
            hs.append((_hash_matrix(v) >> _S32).astype(np.uint32))
            ids.append(rows[take])
        # One in-place sort of (hash << 32 | mark) instead of an argsort and two random gathers:
        # tens of millions of entries at 3M marks, where the gathers cost more than the sort.
        packed = (np.concatenate(hs).astype(np.uint64) << _S32) | np.concatenate(ids).astype(np.uint64)
        packed.sort()
        return (packed >> _S32).astype(np.uint32), (packed & np.uint64(0xFFFFFFFF)).astype(np.int32)

    # -- persistence ----------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Atomic (temp file + rename): a crash mid-write never leaves a truncated index to load."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                meta = np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8)
                np.savez(f, **{"meta": meta, **self._a})  # type: ignore[arg-type]
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> MarkIndex:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(z["meta"].tobytes().decode())
        if meta.get("format") != INDEX_FORMAT:
            raise ValueError("index format mismatch")
        return cls(arrays, meta)

    # -- querying -------------------------------------------------------------------------------

    def lookup(
        self, exact: Sequence[str], edit: Sequence[str], phonetic: Sequence[str]
    ) -> tuple[list[list[int]], list[list[int]], list[list[int]]]:
        """For each query string, the marks whose key equals it (exact), shares a one-deletion variant
        with it (edit: pass the string and its deletions), or whose phonetic key equals it."""
        return (
            self._search(self._exact_h, self._exact_i, hash_keys([s.encode() for s in exact])),
            self._search(
                self._del_h, self._del_i, (hash_keys([s.encode() for s in edit]) >> _S32).astype(np.uint32)
            ),
            self._search(self._phon_h, self._phon_i, hash_keys([s.encode() for s in phonetic])),
        )

    @staticmethod
    def _search(h: npt.NDArray[np.generic], ids: I32, q: npt.NDArray[np.generic]) -> list[list[int]]:
        if q.shape[0] == 0:
            return []
        lo = np.searchsorted(h, q, side="left")
        hi = np.searchsorted(h, q, side="right")
        out: list[list[int]] = [[] for _ in range(q.shape[0])]
        for k in np.nonzero(hi > lo)[0]:
            out[int(k)] = ids[lo[k] : hi[k]].tolist()
        return out


def _concat(a: MarkList, b: MarkList) -> MarkList:
    return MarkList(
        a.name, a.version, a.ids + b.ids, a.marks + b.marks, a.distinctiveness + b.distinctiveness
    )


def _register_arrays(offset: int, register: MarkList) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    """Per-mark source, classes, famous flag and facts; marks before `offset` (a plain list) have none."""
    cols = register.register
    n = offset + len(register)
    src = np.zeros(n, dtype=np.uint8)
    src[offset:] = 1
    classes = np.zeros(n, dtype=np.uint64)
    famous = np.zeros(n, dtype=np.uint8)
    info = [""] * offset
    if cols is not None:
        classes[offset:] = np.asarray(cols.classes, dtype=np.uint64)
        famous[offset:] = np.asarray(cols.famous, dtype=np.uint8)
        info += [
            f"{s}\x1f{r}\x1f{st}\x1f{o}"
            for s, r, st, o in zip(cols.serials, cols.registrations, cols.statuses, cols.owners, strict=True)
        ]
    else:
        info += [""] * len(register)
    info_blob, info_off = _blob(info)
    return {"src": src, "classes": classes, "famous": famous, "info_blob": info_blob, "info_off": info_off}


_Prepared = tuple[list[str], list[int], list[int], list[bytes], list[int]]


def _prepare(
    offset: int, marks: Sequence[str], given: Sequence[Distinctiveness | None], lexicon: Lexicon
) -> _Prepared:
    """Keys, word counts, distinctiveness codes and phonetic keys of marks[offset:]."""
    keys: list[str] = []
    nwords: list[int] = []
    dist: list[int] = []
    phon: list[bytes] = []
    phon_ids: list[int] = []
    memo: dict[str, Distinctiveness] = {}  # realistic lists repeat single words a lot
    dictionary = DIST_CODES[Distinctiveness.DICTIONARY]
    for i, (mark, g) in enumerate(zip(marks, given, strict=True)):
        words = mark_words(mark)
        key = "".join(words)
        keys.append(key)
        nwords.append(min(len(words), 255))
        d = g
        if d is None:
            if len(words) == 1:
                d = memo.get(key)
                if d is None:
                    d = memo[key] = distinctiveness_of_words(words, lexicon)
            else:
                d = distinctiveness_of_words(words, lexicon)
        code = DIST_CODES[d]
        dist.append(code)
        if code != dictionary and len(key) >= MIN_PHONETIC_LEN:
            pk = phonetic_key(key)
            if len(pk) >= 2:
                phon.append(pk.encode())
                phon_ids.append(offset + i)
    return keys, nwords, dist, phon, phon_ids


def _prepare_chunk(args: tuple[int, list[str], list[Distinctiveness | None]]) -> _Prepared:
    offset, marks, given = args
    return _prepare(offset, marks, given, default_lexicon())


def cache_path_for(list_path: Path, digest: str) -> Path:
    return list_path.with_name(f"{list_path.name}.idx-v{INDEX_FORMAT}-{digest}.npz")


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]
