"""Screening lists as versioned data: import (checked by the engines' own loaders), history, content.

Kinds and their formats are those the `CV_SCREENING__*_PATH` files take: marks CSV, terms CSV or
plain text (with a `severity` column), allow-list text, restricted fonts CSV, and the image registry
CSV (`id,path[,label,owner]`). The image registry names image files by path, so it travels as one zip
archive: the CSV at the archive's root and the images at the paths it names. An import is parsed by
the loader the engine uses before anything is stored; a file the loader refuses is refused with the
loader's message (file, line, rule) and nothing is written.

Stored content: text and font lists as imported; an image registry as a zip holding the import under
`source/` and the registry the import built under `built/` (`ImageRegistry.save`), so a process loads
a new version in about half a second (at the shipped size) instead of preparing every reference image
again (~0.2 s each here: ten minutes for the shipped 3,470 logos). `sha256` is of the stored content.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog, DuplicateRow, ListLoadView, ListVersionView
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import ListRejected, NotFound, StateConflict

if TYPE_CHECKING:
    from screening.image.registry import ImageRegistry

__all__ = [
    "ENGINE_LISTS",
    "ListBook",
    "ListKind",
    "RegisterFormat",
    "RegisterImport",
    "StoredList",
    "StoredLists",
    "pack_registry_csv",
    "registry_from_archive",
]

_MAX_MEMBERS = 100_000
_CHUNK = 1 << 20


class ListKind(enum.StrEnum):
    MARKS = "marks"
    TERMS = "terms"
    ALLOW = "allow"
    IMAGES = "images"
    FONTS = "fonts"
    REGISTER = (
        "register"  # a trademark register (USPTO XML or register CSV): marks with status, classes, owner
    )


# Which lists each screening engine is built from (image OCR text goes through the text engine).
ENGINE_LISTS: Mapping[str, tuple[ListKind, ...]] = {
    "text": (ListKind.MARKS, ListKind.TERMS, ListKind.ALLOW, ListKind.REGISTER),
    "image": (ListKind.IMAGES,),
    "font": (ListKind.FONTS,),
}


class RegisterFormat(enum.StrEnum):
    USPTO = "uspto"  # trademark-applications XML (daily or annual), or zips of it
    CSV = "csv"  # mark, classes, status, owner, kind (+ serial, registration, registered, famous)


@dataclass(frozen=True, slots=True)
class RegisterImport:
    """A stored register version and what its import read (sources, counts, bad records, build time)."""

    version: ListVersionView
    meta: dict[str, object]


@dataclass(frozen=True, slots=True)
class StoredList:
    """One stored version's content, as an engine builder receives it."""

    kind: ListKind
    version: int
    content: bytes = field(repr=False)

    @property
    def ref(self) -> str:
        """The "name@version" findings carry: the kind and the catalog version."""
        return f"{self.kind.value}@{self.version}"


StoredLists = Mapping[ListKind, StoredList]


# ---------------------------------------------------------------------------------------- validation
def _entries(kind: ListKind, data: bytes, source: str) -> int:
    """Parse with the engine's own loader (the bytes form `load_*` reads a path into); its error, if
    any, becomes ListRejected with the same message."""
    from screening.errors import ListFormatError
    from screening.fonts import parse_restricted_fonts
    from screening.text.lists import parse_allow, parse_marks, parse_terms

    try:
        if kind == ListKind.MARKS:
            return len(parse_marks(data, kind.value, source))
        if kind == ListKind.TERMS:
            return len(parse_terms(data, kind.value, source).entries)
        if kind == ListKind.ALLOW:
            return len(parse_allow(data, kind.value, source).phrases)
        if kind == ListKind.FONTS:
            return len(parse_restricted_fonts(data, name=kind.value, source=source))
    except ListFormatError as exc:
        raise ListRejected(str(exc)) from None
    raise AssertionError(kind)  # images are prepared by _prepare_images


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The path parts of an archive member if it stays inside the archive (no absolute path, no
    `..`, no drive or backslash), else None."""
    if not name or name.startswith("/") or "\\" in name:
        return None
    parts = PurePosixPath(name).parts
    if any(p in ("", ".", "..") for p in parts) or ":" in parts[0]:
        return None
    return parts


def _extract(archive: bytes, into: Path, *, source: str, max_bytes: int, prefix: str = "") -> list[str]:
    """Unpack the members under `prefix` into `into` (prefix stripped); their relative names.

    Bounded: at most `max_bytes` unpacked in all, counted as bytes are written (a member's declared
    size is not trusted), and every name must stay inside `into`.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile:
        raise ListRejected(f"{source}: not a zip archive") from None
    written = 0
    names: list[str] = []
    with zf:
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise ListRejected(f"{source}: more than {_MAX_MEMBERS} files in the archive")
        for info in infos:
            if info.is_dir() or not info.filename.startswith(prefix):
                continue
            parts = _safe_parts(info.filename[len(prefix) :])
            if parts is None:
                raise ListRejected(f"{source}: archive member {info.filename!r} points outside the archive")
            target = into.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, target.open("wb") as dst:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise ListRejected(
                                f"{source}: the archive unpacks to more than {max_bytes} bytes"
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError):
                raise ListRejected(f"{source}: archive member {info.filename!r} is unreadable") from None
            names.append("/".join(parts))
    return names


def _zip(files: Iterable[tuple[str, Path]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, path in files:
            zf.write(path, name)
    return buf.getvalue()


def _tree(base: Path, prefix: str) -> list[tuple[str, Path]]:
    """Every file under `base`, named `prefix` + its path relative to `base`."""
    return [(prefix + p.relative_to(base).as_posix(), p) for p in sorted(base.rglob("*")) if p.is_file()]


def _prepare_images(archive: bytes, source: str, max_bytes: int) -> tuple[bytes, int]:
    """Build the registry from the import (CSV at the root, images at its paths) with the engine's
    loader, and store the import beside what it built."""
    from screening.image.errors import ImageError
    from screening.image.registry import ImageRegistry

    with tempfile.TemporaryDirectory(prefix="cv-images-") as tmp:
        src = Path(tmp) / "source"
        names = _extract(archive, src, source=source, max_bytes=max_bytes)
        csvs = [n for n in names if "/" not in n and n.lower().endswith(".csv")]
        if len(csvs) != 1:
            raise ListRejected(
                f"{source}: an image registry archive holds exactly one CSV at its root, found {len(csvs)}"
            )
        try:
            registry = ImageRegistry.from_csv(src / csvs[0], ListKind.IMAGES.value, "import")
        except ImageError as exc:
            raise ListRejected(f"{source}: {csvs[0]}: {exc}") from None
        # A loader that skips bad lines (and reports them in `problems`) must not store a partial list.
        skipped = tuple(getattr(registry, "problems", ()))
        if skipped:
            more = f" (and {len(skipped) - 1} more lines)" if len(skipped) > 1 else ""
            raise ListRejected(f"{source}: {csvs[0]}: {skipped[0]}{more}")
        built = Path(tmp) / "built"
        registry.save(built)
        return _zip(_tree(src, "source/") + _tree(built, "built/")), len(registry)


def pack_registry_csv(path: Path) -> bytes:
    """The import archive of a registry CSV on disk: the CSV and the image files its rows name.

    Rows are parsed by the registry loader once the archive is unpacked; here only the path column is
    read, to know which files to carry. A missing file is left out (the loader then names its line);
    a path leaving the CSV's directory cannot be carried and is refused.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ListRejected(f"{path}: cannot be read as UTF-8 text") from exc
    base = path.parent
    files: dict[str, Path] = {path.name: path}
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if len(row) < 2 or not row[1].strip():
            continue
        rel = row[1].strip()
        if line == 1 and [c.strip().lower() for c in row[:2]] == ["id", "path"]:
            continue
        parts = _safe_parts(rel)
        if parts is None:
            raise ListRejected(f"{path}:{line}: image path must stay inside the CSV's directory to import")
        if (base / rel).is_file():
            files["/".join(parts)] = base / rel
    return _zip(sorted(files.items()))


def registry_from_archive(content: bytes, version: int) -> ImageRegistry:
    """The registry of a stored images version, named `images@<version>` in its findings.

    Loads what the import built; if this release reads another registry format, builds it again from
    the import (slow, once per process and version, and logged by the caller's timing).
    """
    from screening.image.errors import RegistryError
    from screening.image.registry import ImageRegistry

    ref = f"{ListKind.IMAGES.value}@{version}"
    with tempfile.TemporaryDirectory(prefix="cv-images-") as tmp:
        built = Path(tmp) / "built"
        _extract(content, built, source=ref, max_bytes=1 << 40, prefix="built/")
        try:
            registry = ImageRegistry.load(built)
        except RegistryError:
            shutil.rmtree(built, ignore_errors=True)
            src = Path(tmp) / "source"
            names = _extract(content, src, source=ref, max_bytes=1 << 40, prefix="source/")
            csv_name = next(n for n in names if "/" not in n and n.lower().endswith(".csv"))
            registry = ImageRegistry.from_csv(src / csv_name, ListKind.IMAGES.value, str(version))
    registry.name, registry.version = ListKind.IMAGES.value, str(version)
    return registry


# ---------------------------------------------------------------------------------------- the service
class ListBook:
    """Imports list versions and answers what is stored and who uses it."""

    def __init__(
        self, catalog: Catalog, audit: AuditLog, *, clock: Clock = system_clock, max_bytes: int = 64 << 20
    ) -> None:
        self._catalog = catalog
        self._audit = audit
        self._clock = clock
        self.max_bytes = max_bytes

    def import_list(self, kind: ListKind, data: bytes, *, source: str, actor: str) -> ListVersionView:
        """Check `data` with the engine's loader, then store it as the kind's next version (audited)."""
        if len(data) > self.max_bytes:
            raise ListRejected(f"{source}: larger than the {self.max_bytes}-byte list limit")
        if kind == ListKind.IMAGES:
            content, entries = _prepare_images(data, source, self.max_bytes)
        elif kind == ListKind.REGISTER:  # a register CSV sent whole (HTTP, workbench)
            with tempfile.TemporaryDirectory(prefix="cv-register-") as tmp:
                path = Path(tmp) / (PurePosixPath(source).name or "register.csv")
                path.write_bytes(data)
                return self.import_register(RegisterFormat.CSV, [path], actor=actor, source=source).version
        else:
            content, entries = data, _entries(kind, data, source)
        return self._store(kind, content, source=source, entries=entries, actor=actor)

    def _store(
        self, kind: ListKind, content: bytes, *, source: str, entries: int, actor: str
    ) -> ListVersionView:
        digest = hashlib.sha256(content).hexdigest()
        for _ in range(3):  # a concurrent import of the same kind took the number: take the next
            try:
                with self._catalog.unit() as u:
                    view = u.lists.add(
                        kind.value,
                        content,
                        source=source,
                        entries=entries,
                        sha256=digest,
                        by=actor,
                        now=self._clock(),
                    )
                    self._audit.record(
                        u,
                        actor=actor,
                        action="list.import",
                        target_type="list",
                        target_id=f"{kind.value}@{view.version}",
                        details={
                            "kind": kind.value,
                            "version": view.version,
                            "entries": entries,
                            "sha256": digest,
                        },
                    )
                return view
            except DuplicateRow:
                continue
        raise StateConflict("concurrent imports of this list kind kept colliding; try again")

    def import_file(self, kind: ListKind, path: Path, *, actor: str) -> ListVersionView:
        """A file as the `CV_SCREENING__*_PATH` setting takes it; an images CSV is packed with the
        images it names (a .zip is taken as the import archive itself)."""
        if kind == ListKind.IMAGES and path.suffix.lower() != ".zip":
            data = pack_registry_csv(path)
        else:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ListRejected(f"{path}: cannot read ({exc.strerror})") from None
        return self.import_list(kind, data, source=str(path), actor=actor)

    def import_register(
        self,
        fmt: RegisterFormat,
        paths: list[Path],
        *,
        actor: str,
        fresh: bool = False,
        progress: Callable[[int], None] | None = None,
        source: str | None = None,
    ) -> RegisterImport:
        """Read register files (USPTO XML or zips of it, or register CSVs), apply them in order on top
        of the newest stored register (unless `fresh`), and store the result as its next version.

        Files are streamed and records merged on disk (`screening.text.register.build_register`), so
        memory does not grow with the files. Bad records are counted, reported and skipped; a file that
        is not of the format at all refuses the import (nothing stored). The stored size is not held
        to the list limit: it is built here from files the operator named, not received."""
        from screening.errors import ListFormatError
        from screening.text.register import (
            ImportReport,
            build_register,
            iter_csv_register,
            iter_uspto,
            register_meta,
            stored_records,
        )

        for p in paths:
            if not p.is_file():
                raise ListRejected(f"{p}: no such file")
        report = ImportReport()
        reader = iter_uspto if fmt == RegisterFormat.USPTO else iter_csv_register
        batches: list[Iterable[object]] = []
        base: int | None = None
        if not fresh:
            previous = self.newest((ListKind.REGISTER,)).get(ListKind.REGISTER)
            if previous is not None:
                base = previous.version
                batches.append(stored_records(previous.content))
        batches.extend(reader(p, report) for p in paths)
        try:
            content = build_register(batches, report, progress=progress)  # type: ignore[arg-type]
        except ListFormatError as exc:
            raise ListRejected(str(exc)) from None
        meta = register_meta(content)
        if base is not None:
            meta["applied_on"] = f"{ListKind.REGISTER.value}@{base}"
        label = source or f"{fmt.value}: " + ", ".join(p.name for p in paths)
        view = self._store(
            ListKind.REGISTER, content, source=label, entries=int(str(meta["records"])), actor=actor
        )
        return RegisterImport(view, meta)

    def register_info(self, version: int | None = None) -> tuple[int, dict[str, object]] | None:
        """(version, meta) of a stored register (the newest by default): the files it was built from,
        the counts read and bad, by status and by class, and its build time. None: no such version."""
        from screening.text.register import register_meta

        with self._catalog.unit() as u:
            if version is None:
                version = u.lists.latest_versions().get(ListKind.REGISTER.value)
            content = None if version is None else u.lists.content(ListKind.REGISTER.value, version)
        if version is None or content is None:
            return None
        return version, register_meta(content)

    def history(self, kind: ListKind | None = None) -> list[ListVersionView]:
        with self._catalog.unit() as u:
            return u.lists.history(None if kind is None else kind.value)

    def image_report(self, version: int | None = None) -> dict[str, Any]:
        """What a stored images version holds and decided per reference (matchers, severity, keypoints):
        the registry's own report, so an operator sees which references the artwork path covers without
        unpacking the archive. The newest version when `version` is None; NotFound when there is none."""
        with self._catalog.unit() as u:
            if version is None:
                version = u.lists.latest_versions().get(ListKind.IMAGES.value)
            content = None if version is None else u.lists.content(ListKind.IMAGES.value, version)
        if version is None or content is None:
            raise NotFound(
                f"no stored {ListKind.IMAGES.value} version{'' if version is None else f' {version}'}"
            )
        return registry_from_archive(content, version).report()

    def latest_versions(self) -> dict[ListKind, int]:
        with self._catalog.unit() as u:
            latest = u.lists.latest_versions()
        return {kind: latest[kind.value] for kind in ListKind if kind.value in latest}

    def newest(self, kinds: tuple[ListKind, ...]) -> dict[ListKind, StoredList]:
        """The newest stored version of each of `kinds` that has one, with its content."""
        out: dict[ListKind, StoredList] = {}
        with self._catalog.unit() as u:
            latest = u.lists.latest_versions()
            for kind in kinds:
                version = latest.get(kind.value)
                if version is None:
                    continue
                content = u.lists.content(kind.value, version)
                if content is not None:
                    out[kind] = StoredList(kind, version, content)
        return out

    def note_loaded(self, process: str, versions: dict[str, int], *, alive_until: datetime) -> None:
        with self._catalog.unit() as u:
            u.lists.note_loaded(process, versions, now=self._clock(), alive_until=alive_until)

    def forget_loaded(self, process: str, *, stale_before: datetime) -> None:
        with self._catalog.unit() as u:
            u.lists.forget_loaded(process, stale_before=stale_before)

    def processes(self) -> list[ListLoadView]:
        """Running processes (reported within their liveness window) and the versions they use."""
        with self._catalog.unit() as u:
            return u.lists.loads(self._clock())
