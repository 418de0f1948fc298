"""List formats (marks CSV, terms CSV/plain text, allow-lists), their versions and mark distinctiveness.

A list's version is the first 12 hex digits of the SHA-256 of its bytes, so a finding's
"name@version" names exactly the list content it was matched against.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from screening.errors import ListFormatError
from screening.findings import Severity
from screening.listfiles import list_ref, list_version, read_list_file
from screening.text.lexicon import Lexicon
from screening.text.normalize import fold

_WORD_RE = re.compile(r"[^\W_]+")
_ASCII_WORD_RE = re.compile(r"[a-z0-9]+")
_HAS_ALNUM_RE = re.compile(r"[^\W_]")
_MAX_FIELD = 1000


class Distinctiveness(enum.StrEnum):
    """How a mark may match.

    coined: an invented word or phrase ("Netflix", "OpenAI Gym"): any recognisable spelling, blocks when
        exact. arbitrary: a phrase of ordinary words ("New Balance"): any spelling, but a multi-word use
        must look like a name (capitalised) or carry a brand signal. dictionary: one ordinary word or a
        first name ("Apple", "Monica"): exact, only with a brand signal (™, ®, "logo", "Inc.", ...).
    """

    COINED = "coined"
    ARBITRARY = "arbitrary"
    DICTIONARY = "dictionary"


_DISTINCTIVENESS_ALIASES = {
    "coined": Distinctiveness.COINED,
    "fanciful": Distinctiveness.COINED,
    "distinctive": Distinctiveness.COINED,
    "suggestive": Distinctiveness.COINED,
    "arbitrary": Distinctiveness.ARBITRARY,
    "phrase": Distinctiveness.ARBITRARY,
    "dictionary": Distinctiveness.DICTIONARY,
    "dictionary word": Distinctiveness.DICTIONARY,
    "descriptive": Distinctiveness.DICTIONARY,
    "generic": Distinctiveness.DICTIONARY,
}


_POSSESSIVE_RE = re.compile(r"(?<=[^\W_])['’]s\b")


def mark_words(mark: str) -> list[str]:
    """The folded alphanumeric words of a mark: "Coca-Cola" -> [coca, cola], "X.Org" -> [x, org].
    A possessive is dropped ("McDonald's" -> [mcdonald]), as it is in the text ("Coco's" is Coco)."""
    if mark.isascii():  # the common case, ~5x cheaper (matters when indexing millions of marks)
        low = mark.lower()
        return _ASCII_WORD_RE.findall(_POSSESSIVE_RE.sub("", low) if "'" in low else low)
    return _WORD_RE.findall(_POSSESSIVE_RE.sub("", fold(mark)[0]))


def mark_key(mark: str) -> str:
    """The joined form every spelling of the mark is compared in: "Coca-Cola" -> "cocacola"."""
    return "".join(mark_words(mark))


def infer_distinctiveness(mark: str, lexicon: Lexicon) -> Distinctiveness:
    """Guess coined/arbitrary/dictionary for lists that do not say (most user lists).

    A single word is a dictionary word when it is an ordinary lower-case English word in common use
    (SCOWL, zipf >= 2.3) or a common first name; brand names ("netflix") are frequent in corpora but not
    dictionary words, which is why frequency alone is not the test. Very short and numeric marks
    ("X", "42") are treated as dictionary words: as bare tokens they are everywhere.
    """
    return distinctiveness_of_words(mark_words(mark), lexicon)


def distinctiveness_of_words(words: list[str], lexicon: Lexicon) -> Distinctiveness:
    """infer_distinctiveness() for a mark already split by mark_words()."""
    key = "".join(words)
    if len(key) <= 2 or key.isdigit():
        return Distinctiveness.DICTIONARY
    if len(words) == 1:
        w = words[0]
        if (lexicon.is_dictionary(w) and lexicon.zipf(w) >= 2.3) or (
            lexicon.is_common_first_name(w) and lexicon.zipf(w) >= 2.5
        ):
            return Distinctiveness.DICTIONARY
        return Distinctiveness.COINED
    if all(lexicon.is_dictionary(w) or lexicon.is_first_name(w) or lexicon.is_common(w, 4.0) for w in words):
        return Distinctiveness.ARBITRARY
    return Distinctiveness.COINED


# Words that make a run of ordinary words a saying rather than a name: "Buy Me A Coffee", "Read the Docs".
FUNCTION_WORDS = frozenset(
    "a an the me my you your it its we our us i is are be to of and for in on at with this that all no "
    "not do go let lets get up out by from what how who one more just every been have".split()
)


def is_everyday_phrase(words: list[str], lexicon: Lexicon) -> bool:
    """A mark of several words that people write as a phrase ("try it online", "welcome to the
    jungle"): a function word among ordinary common words. Such a mark needs a brand signal, as a
    dictionary-word mark does."""
    return (
        len(words) > 1
        and any(w in FUNCTION_WORDS for w in words)
        and all(w in FUNCTION_WORDS or (lexicon.is_dictionary(w) and lexicon.zipf(w) >= 3.0) for w in words)
    )


@dataclass(frozen=True, slots=True)
class RegisterColumns:
    """Per-mark register facts beside a MarkList (same order): columnar, as the list is."""

    serials: list[str]
    registrations: list[str]
    statuses: list[int]
    classes: list[int]  # classes_mask()
    owners: list[str]
    famous: list[bool]


@dataclass(frozen=True, slots=True)
class MarkList:
    """Columnar (a 3M-mark list as 3M objects would not fit the memory budget)."""

    name: str
    version: str
    ids: list[str]
    marks: list[str]
    distinctiveness: list[Distinctiveness | None]
    register: RegisterColumns | None = None  # a trademark register's facts about each mark

    @property
    def ref(self) -> str:
        return list_ref(self.name, self.version)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class TermEntry:
    id: str
    term: str
    category: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class TermList:
    name: str
    version: str
    entries: tuple[TermEntry, ...]

    @property
    def ref(self) -> str:
        return list_ref(self.name, self.version)


@dataclass(frozen=True, slots=True)
class AllowList:
    """Benign phrases that contain a listed term ("pussy willow", "tit for tat"): they override it."""

    name: str
    version: str
    phrases: tuple[str, ...] = field(default_factory=tuple)


# Default severities when a terms list gives only a category: hate speech and slurs are refused outright,
# the rest is a reviewer's call (profanity on a novelty mug can be a legitimate order).
_BLOCK_CATEGORIES = frozenset({"slur", "hate", "violence"})
_SEVERITIES = {"block": Severity.BLOCK, "review": Severity.REVIEW, "info": Severity.INFO}
_CATEGORY_RE = re.compile(r"^[a-z][a-z_-]{0,39}$")


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ListFormatError(source, line, "not valid UTF-8") from None


def _read_header(reader: Iterator[list[str]], source: str, required: str) -> list[str]:
    """Lower-cased column names of a CSV list; a missing `required` column or a duplicate names line 1."""
    try:
        header = next(reader)
    except StopIteration:
        raise ListFormatError(source, 1, "empty file: a header row is required") from None
    except csv.Error as e:
        raise ListFormatError(source, 1, f"bad CSV header ({e})") from None
    cols = [h.strip().lower() for h in header]
    if required not in cols:
        raise ListFormatError(source, 1, f"header must name a '{required}' column")
    if len(set(cols)) != len(cols):
        raise ListFormatError(source, 1, "duplicate column names in header")
    return cols


def _csv_rows(text: str, source: str, required: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    cols = _read_header(reader, source, required)
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) > len(cols):
                raise ListFormatError(source, line, f"{len(row)} fields, header has {len(cols)}")
            values = {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(cols)}
            if any(len(v) > _MAX_FIELD for v in values.values()):
                raise ListFormatError(source, line, f"field longer than {_MAX_FIELD} characters")
            rows.append((line, values))
    except csv.Error as e:
        raise ListFormatError(source, reader.line_num, f"bad CSV ({e})") from None
    return cols, rows


def parse_marks(data: bytes, name: str, source: str = "<marks>") -> MarkList:
    """Column-indexed rather than a dict per row: a 3M-mark list parses in seconds, not tens."""
    text = _decode(data, source)
    reader = csv.reader(io.StringIO(text, newline=""))
    cols = _read_header(reader, source, "mark")
    width = len(cols)
    i_mark = cols.index("mark")
    i_id = cols.index("id") if "id" in cols else -1
    i_dist = cols.index("distinctiveness") if "distinctiveness" in cols else -1
    ids: list[str] = []
    marks: list[str] = []
    dist: list[Distinctiveness | None] = []
    try:
        for row in reader:
            n = len(row)
            if n > width:
                raise ListFormatError(source, reader.line_num, f"{n} fields, header has {width}")
            mark = row[i_mark].strip() if i_mark < n else ""
            if not mark:
                if not any(c.strip() for c in row):
                    continue  # blank line
                raise ListFormatError(source, reader.line_num, "empty 'mark'")
            if len(mark) > _MAX_FIELD:
                raise ListFormatError(source, reader.line_num, f"field longer than {_MAX_FIELD} characters")
            if not _HAS_ALNUM_RE.search(mark):
                raise ListFormatError(source, reader.line_num, "'mark' has no letters or digits")
            d: Distinctiveness | None = None
            if 0 <= i_dist < n and row[i_dist].strip():
                raw_d = row[i_dist].strip().lower()
                if raw_d not in _DISTINCTIVENESS_ALIASES:
                    raise ListFormatError(
                        source, reader.line_num, "'distinctiveness' must be coined, arbitrary or dictionary"
                    )
                d = _DISTINCTIVENESS_ALIASES[raw_d]
            mark_id = row[i_id].strip() if 0 <= i_id < n else ""
            if len(mark_id) > _MAX_FIELD:
                raise ListFormatError(source, reader.line_num, f"field longer than {_MAX_FIELD} characters")
            ids.append(mark_id or mark_key(mark))
            marks.append(mark)
            dist.append(d)
    except csv.Error as e:
        raise ListFormatError(source, reader.line_num, f"bad CSV ({e})") from None
    return MarkList(name, list_version(data), ids, marks, dist)


def parse_terms(data: bytes, name: str, source: str = "<terms>") -> TermList:
    text = _decode(data, source)
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    entries: list[TermEntry] = []
    if "term" in [c.strip().lower() for c in first.split(",")]:
        body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))
        _, rows = _csv_rows(body, source, "term")
        for line, row in rows:
            term = row["term"]
            if not term or not mark_key(term):
                raise ListFormatError(source, line, "empty 'term'")
            category = (row.get("category") or "profanity").lower()
            if not _CATEGORY_RE.match(category):
                raise ListFormatError(source, line, "'category' must be a lower-case word")
            sev_raw = (row.get("severity") or "").lower()
            if sev_raw and sev_raw not in _SEVERITIES:
                raise ListFormatError(source, line, "'severity' must be block, review or info")
            severity = (
                _SEVERITIES[sev_raw]
                if sev_raw
                else (Severity.BLOCK if category in _BLOCK_CATEGORIES else Severity.REVIEW)
            )
            entries.append(TermEntry(row.get("id") or term.lower(), term, category, severity))
    else:
        for line, raw in enumerate(text.splitlines(), start=1):
            term = raw.strip()
            if not term or term.startswith("#"):
                continue
            if len(term) > _MAX_FIELD:
                raise ListFormatError(source, line, f"term longer than {_MAX_FIELD} characters")
            if not mark_key(term):
                raise ListFormatError(source, line, "term has no letters or digits")
            entries.append(TermEntry(term.lower(), term, "profanity", Severity.REVIEW))
    return TermList(name, list_version(data), tuple(entries))


def parse_allow(data: bytes, name: str, source: str = "<allow>") -> AllowList:
    text = _decode(data, source)
    phrases: list[str] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        phrase = raw.strip()
        if not phrase or phrase.startswith("#"):
            continue
        if len(phrase) > _MAX_FIELD:
            raise ListFormatError(source, line, f"phrase longer than {_MAX_FIELD} characters")
        if not mark_key(phrase):
            raise ListFormatError(source, line, "phrase has no letters or digits")
        phrases.append(phrase)
    return AllowList(name, list_version(data), tuple(phrases))


def load_marks(path: str | Path) -> MarkList:
    p = Path(path)
    return parse_marks(read_list_file(p), p.stem, str(p))


def load_terms(path: str | Path) -> TermList:
    p = Path(path)
    return parse_terms(read_list_file(p), p.stem, str(p))


def load_allow(path: str | Path) -> AllowList:
    p = Path(path)
    return parse_allow(read_list_file(p), p.stem, str(p))
