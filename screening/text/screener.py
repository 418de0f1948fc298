"""TextScreener: normalise once, run the trademark and offensive matchers, return one Verdict."""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from screening.findings import Finding, Verdict
from screening.listfiles import list_ref
from screening.screener import EngineStatus
from screening.text.errors import TextDecodeError
from screening.text.lexicon import DATA_DIR, Lexicon, default_lexicon
from screening.text.lists import AllowList, MarkList, TermList, load_allow, load_marks, load_terms
from screening.text.normalize import normalize
from screening.text.offensive import OffensiveMatcher
from screening.text.trademark import MarkIndex, cache_path_for, file_digest

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 5_000  # longer texts are screened in overlapping parts, bounding per-call memory
_OVERLAP = 200
SAVE_INDEX_MIN_MARKS = 50_000  # smaller lists build in well under a second: no file left beside them

DEFAULT_MARKS = DATA_DIR / "marks_simple_icons.csv"
DEFAULT_TERMS = DATA_DIR / "terms_ldnoobw_en.csv"
EXTRA_TERMS = DATA_DIR / "terms_extra_en.csv"  # terms LDNOOBW lacks, curated for this project
DEFAULT_ALLOW = DATA_DIR / "allow_en.txt"


class TextScreener:
    """Screens customer text against one mark index and one term list. Immutable, so thread-safe."""

    def __init__(
        self,
        marks: MarkIndex | MarkList | None,
        terms: TermList | None,
        allow: AllowList | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.lexicon = lexicon or default_lexicon()
        if isinstance(marks, MarkList):
            marks = MarkIndex.build(marks, self.lexicon)
        self.marks = marks
        self.terms = terms
        self.allow = allow
        from screening.text.brands import BrandMatcher

        self._brands = BrandMatcher(marks, self.lexicon) if marks is not None else None
        self._offensive = OffensiveMatcher(terms, self.lexicon, allow) if terms is not None else None
        self._term_of = {e.id: e.term for e in terms.entries} if terms is not None else {}

    def term(self, entry_id: str) -> str | None:
        """The listed wording of an offensive-term entry (a finding names its entry id only)."""
        return self._term_of.get(entry_id)

    def screen_text(self, text: str) -> Verdict:
        if len(text) <= MAX_TEXT_CHARS:
            return Verdict.of(self._screen_part(text))
        # Long texts are screened in overlapping windows (every character is screened; the overlap
        # keeps a match that straddles a boundary whole), spans shifted back, duplicates dropped.
        seen: dict[tuple[str, str, tuple[int, int] | None], Finding] = {}
        step = MAX_TEXT_CHARS - _OVERLAP
        for start in range(0, len(text), step):
            for f in self._screen_part(text[start : start + MAX_TEXT_CHARS]):
                span = (f.span[0] + start, f.span[1] + start) if f.span else None
                seen.setdefault((f.kind.value, f.entry, span), replace(f, span=span))
            if start + MAX_TEXT_CHARS >= len(text):
                break
        return Verdict.of(sorted(seen.values(), key=lambda f: f.span or (0, 0)))

    def _screen_part(self, text: str) -> list[Finding]:
        quick_checked = self._brands is None
        if quick_checked and (self._offensive is None or self._offensive.quick_clear(text)):
            return []
        nt = normalize(text)
        offensive: list[Finding] = []
        explained: set[int] = set()
        if self._offensive is not None:
            offensive, explained = self._offensive.match(nt, quick_checked=quick_checked)
        brands = self._brands.find(nt, explained) if self._brands is not None else []
        # Each matcher's loose readings yield to the other's exact ones: a word that is exactly a
        # listed brand ("Boosty") is not also a sound-alike of a term ("busty"), and vice versa above.
        exact_spans = [f.span for f in brands if f.distance == 0 and f.span is not None]
        if exact_spans:
            offensive = [
                f
                for f in offensive
                if f.score >= 0.9
                or f.span is None
                or not any(a <= f.span[0] and f.span[1] <= b for a, b in exact_spans)
            ]
        return brands + offensive

    def status(self) -> EngineStatus:
        """Readiness: each list this screener holds, by name@version, with its entries."""
        lists: dict[str, int] = {}
        if self.marks is not None:
            for i, ref in enumerate(self.marks.refs):
                lists[ref] = self.marks.count_from(i)
        if self.terms is not None:
            lists[self.terms.ref] = len(self.terms.entries)
        if self.allow is not None:
            lists[list_ref(self.allow.name, self.allow.version)] = len(self.allow.phrases)
        return EngineStatus.loaded(self, lists)

    def screen(self, data: bytes, media_type: str) -> Verdict:
        """Strict UTF-8: undecodable bytes are refused, not guessed at (a guess could hide a word)."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise TextDecodeError(e.start) from None
        return self.screen_text(text)


def open_mark_index(path: str | Path, lexicon: Lexicon | None = None) -> MarkIndex:
    """The list's saved index if one matches its content hash, else build it (and save it beside the
    list when the list is large and the directory writable)."""
    p = Path(path)
    lex = lexicon or default_lexicon()
    cached = cache_path_for(p, file_digest(p)) if p.is_file() else None
    if cached is not None and cached.is_file():
        try:
            return MarkIndex.load(cached)
        except (OSError, ValueError, KeyError):
            log.warning("saved mark index unreadable; rebuilding", extra={"index": str(cached)})
    marks = load_marks(p)
    index = MarkIndex.build(marks, lex)
    if cached is not None and len(marks) >= SAVE_INDEX_MIN_MARKS:
        try:
            index.save(cached)
        except OSError:
            log.info("mark index not saved (directory not writable)", extra={"index": str(cached)})
    return index


def build_text_screener(
    marks: str | Path | None = None, terms: str | Path | None = None, allow: str | Path | None = None
) -> TextScreener:
    """Lists by path; each one left out is the shipped default."""
    if marks is None and terms is None and allow is None:
        return default_text_screener()
    lex = default_lexicon()
    index = open_mark_index(marks, lex) if marks is not None else _default_index()
    term_list = load_terms(terms) if terms is not None else _default_terms()
    allow_list = load_allow(allow) if allow is not None else _default_allow()
    return TextScreener(index, term_list, allow_list, lex)


@lru_cache(maxsize=1)
def shipped_marks() -> MarkList:
    """The shipped marks list, named by its upstream release (what a register is indexed beside when
    no marks list is stored or configured)."""
    marks = load_marks(DEFAULT_MARKS)
    versions = (DATA_DIR / "VERSIONS.json").read_text()
    import json

    return MarkList(
        "simple-icons", json.loads(versions)["simple-icons"], marks.ids, marks.marks, marks.distinctiveness
    )


@lru_cache(maxsize=1)
def _default_index() -> MarkIndex:
    return MarkIndex.build(shipped_marks(), default_lexicon())


@lru_cache(maxsize=1)
def _default_terms() -> TermList:
    """LDNOOBW and the project's supplement (hate codes, shorthands, insults it lacks) as one list; the
    version names both files' content."""
    terms = load_terms(DEFAULT_TERMS)
    extra = load_terms(EXTRA_TERMS)
    return TermList(
        "ldnoobw-en", f"1.2.0+{terms.version[:6]}+cv{extra.version[:6]}", terms.entries + extra.entries
    )


@lru_cache(maxsize=1)
def _default_allow() -> AllowList:
    return load_allow(DEFAULT_ALLOW)


@lru_cache(maxsize=1)
def default_text_screener() -> TextScreener:
    """Shipped lists (simple-icons marks, LDNOOBW terms, benign-phrase allow-list); built once."""
    return TextScreener(_default_index(), _default_terms(), _default_allow(), default_lexicon())


def shipped_lists() -> tuple[MarkIndex, TermList, AllowList]:
    """The shipped mark index, term list and allow-list, loaded once: what a list that is neither
    configured by path nor imported falls back to."""
    return _default_index(), _default_terms(), _default_allow()
