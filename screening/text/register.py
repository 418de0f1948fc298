"""Trademark registers: USPTO trademark-applications XML and a generic CSV, merged into one stored form.

A register differs from a marks list in what it knows about each mark: its serial and registration
numbers, its status (only live marks are matched), its Nice classes (a mark protects goods and services
of those classes only) and its owner. Findings carry these facts so a reviewer sees whose mark it is.

USPTO files are large (the annual backfile is ~3M case files in many zips of ~1 GB XML each), so they
are read with `iterparse`, each `case-file` cleared as soon as it is read, and zip members streamed:
memory stays constant whatever the file's size. A case file that cannot be read (no serial number, no
status, a status or class that is not a number) is counted and skipped, never fatal: one bad record in
a daily file must not hold back the other thousands.

Records are merged by serial number in a temporary SQLite file (stdlib `sqlite3`: an on-disk table with
a primary key is the simplest constant-memory "later record replaces earlier" there is), then written
out sorted by serial as the stored form: a zip of `meta.json` (sources, counts by status and class,
bad records, build time) and `records.tsv`. A daily file is applied on top of the previous stored
version by feeding that version's records in first.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError, iterparse

from screening.errors import ListFormatError
from screening.findings import Finding, Severity, Verdict
from screening.text.lexicon import DATA_DIR
from screening.text.lists import Distinctiveness, MarkList, RegisterColumns, mark_key

__all__ = [
    "FAMOUS_MIN_CLASSES",
    "FAMOUS_MIN_YEARS",
    "ImportReport",
    "RegisterColumns",
    "RegisterRecord",
    "apply_product",
    "build_register",
    "classes_mask",
    "iter_csv_register",
    "iter_uspto",
    "mask_classes",
    "parse_register",
    "product_classes",
    "status_name",
]

NICE_CLASSES = range(1, 46)
FAMOUS_MIN_CLASSES = 10  # a register-derived famous mark: registered in this many classes or more ...
FAMOUS_MIN_YEARS = 20  # ... and for at least this many years
PRODUCT_CLASSES_FILE = DATA_DIR / "product_classes.csv"
FAMOUS_FILE = DATA_DIR / "famous_marks.txt"
_MAX_FIELD = 1000
_TSV_COLUMNS = (
    "serial",
    "registration",
    "mark",
    "status",
    "classes",
    "owner",
    "registered",
    "kind",
    "famous",
)
_CTRL_RE = re.compile(r"[\t\r\n\x00-\x1f]+")
_ROOTS = ("trademark-applications-daily", "trademark-applications")


# ------------------------------------------------------------------------------------ status codes
# USPTO status codes (case-file-header/status-code), by range. The office publishes ~300 codes; what
# screening needs is live or dead, and the ranges below are how the codes are grouped:
#   600-618 abandoned; 709-716 cancelled (sections 7, 8, 18, 71, court order, surrender);
#   900-999 expired or otherwise dead; 700-708 and 717-899 registered (700 registered, 701-704 section
#   8/15 accepted, 800 registered and renewed); everything else (000-599, 619-699: new, examined,
#   suspended, published, allowed) pending.
# A pending application is matched: it is the owner's claim to the mark, and sellers who print it
# before registration still infringe once it issues.
_DEAD_RANGES = ((600, 618, "abandoned"), (709, 716, "cancelled"), (900, 999, "expired"))
_REGISTERED_RANGES = ((700, 708), (717, 899))
_STATUS_WORDS = {
    "live": 700,
    "registered": 700,
    "renewed": 800,
    "pending": 630,
    "dead": 900,
    "abandoned": 600,
    "cancelled": 710,
    "canceled": 710,
    "expired": 900,
}


def status_name(code: int) -> str:
    """registered | pending | abandoned | cancelled | expired."""
    for lo, hi, name in _DEAD_RANGES:
        if lo <= code <= hi:
            return name
    if any(lo <= code <= hi for lo, hi in _REGISTERED_RANGES):
        return "registered"
    return "pending"


def is_live(code: int) -> bool:
    return status_name(code) in ("registered", "pending")


# ------------------------------------------------------------------------------------------ records
@dataclass(frozen=True, slots=True)
class RegisterRecord:
    """One case file (or CSV row). `kind`: word, phrase (a slogan) or design (no text: not matched);
    `famous` is set by a CSV that says so; the famous list and rule are applied when the index is built."""

    serial: str
    mark: str
    status: int
    classes: tuple[int, ...] = ()
    owner: str = ""
    registration: str = ""
    registered: str = ""  # YYYYMMDD
    kind: str = "word"
    famous: bool = False


class BadRecord(ValueError):
    """A record that cannot be read; counted and skipped."""


def classes_mask(classes: Iterable[int]) -> int:
    """Nice classes as bits 1-45 of an integer (0: no class known, treated as every class)."""
    m = 0
    for c in classes:
        m |= 1 << c
    return m


def mask_classes(mask: int) -> tuple[int, ...]:
    return tuple(c for c in NICE_CLASSES if mask >> c & 1)


def _clean(text: str | None) -> str:
    return _CTRL_RE.sub(" ", text or "").strip()[:_MAX_FIELD]


def _nice(values: Iterable[str]) -> tuple[int, ...]:
    """International class codes ("025", "9"); US-only classes (A, B, 200) are not Nice classes."""
    out: set[int] = set()
    for v in values:
        v = v.strip()
        if not v:
            continue
        if not v.isdigit():
            raise BadRecord(f"class {v[:20]!r} is not a number")
        c = int(v)
        if c in NICE_CLASSES:
            out.add(c)
    return tuple(sorted(out))


# ------------------------------------------------------------------------------------- USPTO XML
def _text(el: Element | None, path: str) -> str:
    if el is None:
        return ""
    found = el.find(path)
    return _clean(found.text) if found is not None else ""


def _case_record(case: Element) -> RegisterRecord:
    serial = _text(case, "serial-number")
    if not serial.isdigit():
        raise BadRecord("no serial number")
    header = case.find("case-file-header")
    status_raw = _text(header, "status-code")
    if not status_raw.isdigit():
        raise BadRecord("no status code")
    drawing = _text(header, "mark-drawing-code")
    mark = _text(header, "mark-identification")
    classes = _nice(
        (c.text or "")
        for cl in case.iterfind("classifications/classification")
        for c in cl.iterfind("international-code")
    )
    # party-type 10-19: the applicant at filing, 20-29 after an assignment, 30+ at registration or
    # later: the highest type is the current owner.
    owner, best = "", ""
    for o in case.iterfind("case-file-owners/case-file-owner"):
        name, party = _text(o, "party-name"), _text(o, "party-type")
        if name and (not owner or party >= best):
            owner, best = name, party
    kind = "design" if drawing.startswith("2") or not mark else "word"
    return RegisterRecord(
        serial=serial,
        mark=mark,
        status=int(status_raw),
        classes=classes,
        owner=owner,
        registration=_text(case, "registration-number").lstrip("0"),
        registered=_text(header, "registration-date"),
        kind=kind,
    )


def _xml_streams(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """The XML streams of a file: itself, or each .xml member of a zip (read as a stream, never
    unpacked to disk or memory)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir() and info.filename.lower().endswith(".xml"):
                    with zf.open(info) as stream:
                        yield f"{path.name}:{info.filename}", stream
    else:
        with path.open("rb") as stream:
            yield path.name, stream


def iter_uspto(path: Path, report: ImportReport) -> Iterator[RegisterRecord]:
    """Every readable case file of a USPTO trademark-applications (daily or annual) XML file or zip.

    Each `case-file` element is dropped from its parent once read, so memory does not grow with the
    file. A malformed document ends that stream (counted as one bad record with where it
    broke) but not the import."""
    for name, stream in _xml_streams(path):
        report.sources.append(name)
        open_elements: list[Element] = []  # the path from the root to the element being read
        try:
            # The files come from the operator, not a customer; and ElementTree fetches no external
            # entity while expat >= 2.4.1 (3.11's) refuses entity-expansion bombs: no defusedxml needed.
            for event, el in iterparse(stream, events=("start", "end")):  # noqa: S314
                if event == "start":
                    if not open_elements and el.tag not in _ROOTS:
                        raise ListFormatError(
                            name, None, f"not a USPTO trademark-applications file ({el.tag})"
                        )
                    open_elements.append(el)
                    continue
                open_elements.pop()
                if el.tag != "case-file":
                    continue
                report.read += 1
                try:
                    yield _case_record(el)
                except BadRecord as exc:
                    report.bad(f"{name}: case file {report.read}: {exc}")
                # Drop the case file from its parent (action-keys), which stays open to the end of
                # the document: cleared but kept, 3M empty elements would still cost ~300 MB.
                if open_elements:
                    del open_elements[-1][:]
                else:
                    el.clear()
        except ParseError as exc:
            report.bad(f"{name}: XML broken at line {exc.position[0]}: the rest of this file is skipped")
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            report.bad(f"{name}: unreadable ({type(exc).__name__}): the rest of this file is skipped")


# ------------------------------------------------------------------------------------------ CSV
def iter_csv_register(path: Path, report: ImportReport) -> Iterator[RegisterRecord]:
    """A register as CSV: `mark, classes, status, owner, kind` (+ optional serial, registration,
    registered, famous). classes: Nice class numbers separated by spaces, commas or semicolons;
    status: a USPTO code or live/registered/pending/dead/abandoned/cancelled/expired; kind: word,
    phrase or design. A row without a serial is named `<file stem>:<mark key>`."""
    report.sources.append(path.name)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            try:
                header = [h.strip().lower() for h in next(reader)]
            except StopIteration:
                raise ListFormatError(str(path), 1, "empty file: a header row is required") from None
            if "mark" not in header:
                raise ListFormatError(str(path), 1, "header must name a 'mark' column")
            col = {h: i for i, h in enumerate(header)}
            for row in reader:
                if not any(c.strip() for c in row):
                    continue
                report.read += 1
                try:
                    yield _csv_record(row, col, path.stem, reader.line_num)
                except BadRecord as exc:
                    report.bad(f"{path.name}:{reader.line_num}: {exc}")
    except UnicodeDecodeError:
        report.bad(f"{path.name}: not valid UTF-8: the rest of this file is skipped")
    except csv.Error as exc:
        report.bad(f"{path.name}: bad CSV ({exc}): the rest of this file is skipped")


def _csv_record(row: list[str], col: dict[str, int], stem: str, line: int) -> RegisterRecord:
    def get(name: str) -> str:
        i = col.get(name, -1)
        return _clean(row[i]) if 0 <= i < len(row) else ""

    mark = get("mark")
    kind = (get("kind") or "word").lower()
    if kind not in ("word", "phrase", "slogan", "design"):
        raise BadRecord("'kind' must be word, phrase or design")
    kind = "phrase" if kind == "slogan" else kind
    if not mark_key(mark) and kind != "design":
        raise BadRecord("'mark' has no letters or digits")
    raw_status = get("status").lower() or "live"
    if raw_status.isdigit():
        status = int(raw_status)
    elif raw_status in _STATUS_WORDS:
        status = _STATUS_WORDS[raw_status]
    else:
        raise BadRecord(f"unknown status {raw_status[:20]!r}")
    # Without a serial a row is named by the file and its mark, so importing an edited copy of the same
    # CSV replaces its rows instead of adding them again.
    serial = get("serial") or f"{stem}:{mark_key(mark) or line}"
    return RegisterRecord(
        serial=serial,
        mark=mark,
        status=status,
        classes=_nice(re.split(r"[\s,;]+", get("classes"))),
        owner=get("owner"),
        registration=get("registration"),
        registered=get("registered").replace("-", ""),
        kind=kind,
        famous=get("famous").lower() in ("1", "true", "yes", "famous"),
    )


# ------------------------------------------------------------------------------------- the merge
@dataclass
class ImportReport:
    """What an import read: for the operator (stderr) and the version's meta."""

    sources: list[str] = field(default_factory=list)
    read: int = 0
    bad_records: int = 0
    problems: list[str] = field(default_factory=list)  # the first few, with where

    def bad(self, why: str) -> None:
        self.bad_records += 1
        if len(self.problems) < 20:
            self.problems.append(why)


Progress = Callable[[int], None]


def _tsv_line(r: RegisterRecord) -> str:
    return "\t".join(
        (
            r.serial,
            r.registration,
            r.mark,
            str(r.status),
            " ".join(map(str, r.classes)),
            r.owner,
            r.registered,
            r.kind,
            "1" if r.famous else "",
        )
    )


def stored_records(content: bytes) -> Iterator[RegisterRecord]:
    """The records of a stored register (the previous version a daily file is applied on top of)."""
    with zipfile.ZipFile(io.BytesIO(content)) as zf, zf.open("records.tsv") as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8"):
            f = line.rstrip("\n").split("\t")
            yield RegisterRecord(
                serial=f[0],
                registration=f[1],
                mark=f[2],
                status=int(f[3]),
                classes=tuple(int(c) for c in f[4].split()),
                owner=f[5],
                registered=f[6],
                kind=f[7],
                famous=f[8] == "1",
            )


def build_register(
    batches: Iterable[Iterable[RegisterRecord]],
    report: ImportReport,
    *,
    progress: Progress | None = None,
    keep_dead: bool = False,
) -> bytes:
    """The stored form of the records of `batches`, applied in order: a later record with the same
    serial number replaces the earlier one (a daily file's new status, owner or classes).

    Dead records are dropped after the merge (a dead record in a daily file removes its serial's
    earlier live one); `keep_dead` keeps them (tests, audits of the raw register)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cv-register-") as tmp:
        db = sqlite3.connect(Path(tmp) / "merge.sqlite")
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE r (serial TEXT PRIMARY KEY, status INTEGER, line TEXT) WITHOUT ROWID")
            n = 0
            for batch in batches:
                chunk: list[tuple[str, int, str]] = []
                for rec in batch:
                    chunk.append((rec.serial, rec.status, _tsv_line(rec)))
                    if len(chunk) >= 10_000:
                        db.executemany("INSERT OR REPLACE INTO r VALUES (?, ?, ?)", chunk)
                        n += len(chunk)
                        chunk.clear()
                        if progress is not None:
                            progress(n)
                db.executemany("INSERT OR REPLACE INTO r VALUES (?, ?, ?)", chunk)
                n += len(chunk)
                if progress is not None:
                    progress(n)
            by_status: Counter[str] = Counter()
            by_class: Counter[int] = Counter()
            kept = 0
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                with (
                    zf.open("records.tsv", "w", force_zip64=True) as raw,
                    io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as w,
                ):
                    for status, line in db.execute("SELECT status, line FROM r ORDER BY serial"):
                        name = status_name(status)
                        by_status[name] += 1
                        if not keep_dead and name not in ("registered", "pending"):
                            continue
                        kept += 1
                        for c in line.split("\t")[4].split():
                            by_class[int(c)] += 1
                        w.write(line + "\n")
                meta = {
                    "sources": report.sources,
                    "read": report.read,
                    "bad_records": report.bad_records,
                    "problems": report.problems,
                    "records": kept,
                    "by_status": dict(sorted(by_status.items())),
                    "by_class": {str(c): by_class[c] for c in sorted(by_class)},
                    "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "build_seconds": round(time.perf_counter() - started, 3),
                }
                zf.writestr("meta.json", json.dumps(meta, indent=1))
        finally:
            db.close()
    return out.getvalue()


def register_meta(content: bytes) -> dict[str, object]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        meta: dict[str, object] = json.loads(zf.read("meta.json"))
    return meta


# ----------------------------------------------------------------------------- for the index
def famous_keys(path: Path = FAMOUS_FILE) -> frozenset[str]:
    """The curated famous marks, by mark_key ("Coca-Cola" -> "cocacola")."""
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            keys.add(mark_key(line))
    return frozenset(keys)


def parse_register(content: bytes, name: str, version: str, *, today: str | None = None) -> MarkList:
    """A stored register as the MarkList the index is built from: live text marks only (designs have
    no words to match), each with its register facts. Famous: a CSV's flag, the curated list, or the
    rule (FAMOUS_MIN_CLASSES classes or more, registered FAMOUS_MIN_YEARS years or more)."""
    today = today or datetime.now(UTC).strftime("%Y%m%d")
    curated = famous_keys()
    ids: list[str] = []
    marks: list[str] = []
    dist: list[Distinctiveness | None] = []
    cols = RegisterColumns([], [], [], [], [], [])
    # Columns straight from the lines, without a record object per mark: at 3M marks the objects
    # cost more than the rest of the read.
    today_year, today_md = int(today[:4]), today[4:]
    live_cache: dict[str, bool] = {}
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
        raw = zf.open("records.tsv")
    except (zipfile.BadZipFile, KeyError):
        raise ListFormatError(
            name, None, "not a stored register (zip of meta.json and records.tsv)"
        ) from None
    with zf, raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8"):
            f = line.rstrip("\n").split("\t")
            if len(f) != len(_TSV_COLUMNS):
                raise ListFormatError(name, None, "a stored register line has the wrong number of fields")
            serial, registration, mark, status, classes, owner, registered, kind, famous = f
            live = live_cache.get(status)
            if live is None:
                live = live_cache[status] = is_live(int(status))
            if kind == "design" or not live:
                continue
            key = mark_key(mark)
            if not key:
                continue
            class_list = [int(c) for c in classes.split()]
            ids.append(serial)
            marks.append(mark)
            dist.append(None)
            cols.serials.append(serial)
            cols.registrations.append(registration)
            cols.statuses.append(int(status))
            cols.classes.append(classes_mask(class_list))
            cols.owners.append(owner)
            by_rule = (
                len(class_list) >= FAMOUS_MIN_CLASSES
                and status_name(int(status)) == "registered"
                and len(registered) == 8
                and registered.isdigit()
                and today_year - int(registered[:4]) - (today_md < registered[4:]) >= FAMOUS_MIN_YEARS
            )
            cols.famous.append(famous == "1" or key in curated or by_rule)
    return MarkList(name, version, ids, marks, dist, cols)


# ---------------------------------------------------------------------------------------- products
def _read_products(path: Path) -> dict[str, frozenset[int]]:
    out: dict[str, frozenset[int]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            out[_product_key(row["product"])] = frozenset(_nice(row["classes"].split()))
    return out


def _product_key(product: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", product.lower()).strip("-")


_PRODUCTS: dict[str, frozenset[int]] | None = None


def product_classes(product: str | None) -> frozenset[int] | None:
    """The Nice classes a product is sold under (`product_classes.csv`); None for no product or one
    the file does not know: the caller then screens against every class."""
    global _PRODUCTS
    if not product:
        return None
    if _PRODUCTS is None:
        _PRODUCTS = _read_products(PRODUCT_CLASSES_FILE)
    return _PRODUCTS.get(_product_key(product))


def known_products() -> tuple[str, ...]:
    product_classes("x")
    assert _PRODUCTS is not None
    return tuple(sorted(_PRODUCTS))


# ------------------------------------------------------------------------------ the class filter
def apply_product(verdict: Verdict, classes: frozenset[int] | None) -> Verdict:
    """The verdict for an item sold as a product of `classes` (None: unknown, every class).

    A mark protects the goods and services of its classes: the same word on a product of another class
    is usually someone else's right or nobody's. A register finding whose mark is registered in none of
    the product's classes is therefore at most a review: an exact match (a block, for an invented mark)
    becomes a review marked `outside_classes`, and a misspelt or sound-alike match is dropped (a near
    spelling of another class's mark is almost never a use of it). Famous marks, marks whose classes the
    register does not give and findings of plain marks lists are kept as they are: fame reaches across
    classes.
    """
    if classes is None or not verdict.findings:
        return verdict
    wanted = classes_mask(classes)
    out: list[Finding] = []
    changed = False
    for f in verdict.findings:
        info = f.register
        if info is None or info.famous or not info.classes or classes_mask(info.classes) & wanted:
            out.append(f)
            continue
        changed = True
        if f.distance == 0 and f.score >= 1.0:
            severity = Severity.REVIEW if f.severity is Severity.BLOCK else f.severity
            out.append(replace(f, severity=severity, register=replace(info, outside_classes=True)))
    return Verdict.of(out) if changed else verdict


def for_product(verdict: Verdict, product: str | None) -> Verdict:
    """`apply_product` for a product named by the seller (None or unknown: every class)."""
    return apply_product(verdict, product_classes(product))
