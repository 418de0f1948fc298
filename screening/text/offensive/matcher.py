"""The full matcher: one automaton pass over the normalised words, then word-boundary rules.

It reads the tokens `normalize` built (with their case, gaps and the map back to the customer's
characters) and finds four kinds of hit: exact keys (under both leetspeak readings), masked words,
sound-alikes of words no dictionary knows, and two words read as one sound-alike of a term of several.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import NamedTuple

from screening.findings import Finding, FindingKind, Severity
from screening.text.lexicon import Lexicon
from screening.text.lists import AllowList, TermList
from screening.text.normalize import LEET_AS_I, LEET_AS_L, Gap, NormalizedText, Token, squeeze, squeeze_map
from screening.text.offensive.excuses import Excuses
from screening.text.offensive.index import INFLECTIONS, TermIndex
from screening.text.offensive.quick_filter import QuickFilter
from screening.text.phonetic import key_head, key_tail

# Symbols that may mask a letter: in a token's masked form each reads as "?" (one letter or none).
_MASKS = "*#!@$"
_MASKED = str.maketrans(dict.fromkeys(_MASKS, "?"))
_MAX_SEGMENT = 24  # the longest rest of a word that _is_words splits


class Hit(NamedTuple):  # a tuple: built per candidate hit, ~5x cheaper than a frozen dataclass
    term: int
    first: int  # token range, inclusive
    last: int
    fstart: int  # folded-text span
    fend: int
    score: float
    whole: bool  # matched whole word(s), so the name and allow rules apply


class TokenForms(NamedTuple):
    """Each token's readings, all 1:1 with its text so indices carry over: leetspeak read with "1", "!"
    and "|" as i, then as l; and the masked form ("b*tch" -> "b?tch"), or None when nothing is masked."""

    as_i: list[str]
    as_l: list[str]
    masked: list[str | None]


class OffensiveMatcher:
    """Offensive terms in a text: a quick filter first, then the full matcher on what it cannot clear.
    The index is only read, and the quick filter's memos only gain whole entries, so threads may share
    one matcher."""

    quick_clear: Callable[[str], bool]
    """True when the text surely holds no term: the quick filter's own method (no forwarding call, as
    it is asked of every text)."""

    def __init__(self, terms: TermList, lexicon: Lexicon, allow: AllowList | None = None) -> None:
        self.terms = terms
        self.lexicon = lexicon
        self.index = TermIndex(terms, lexicon, allow)
        self.quick = QuickFilter(self.index)
        self.quick_clear = self.quick.quick_clear
        self.excuses = Excuses(self.index)

    def find(self, nt: NormalizedText) -> list[Finding]:
        return self.match(nt)[0]

    def match(self, nt: NormalizedText, *, quick_checked: bool = False) -> tuple[list[Finding], set[int]]:
        """Findings, and the indices of the tokens they cover (a word explained as a disguised term is
        not also read as a disguised brand). `quick_checked`: the caller already had `quick_clear`
        answer False for this text."""
        toks = nt.tokens
        if not toks or not self.index.has_terms or (not quick_checked and self.quick_clear(nt.original)):
            return [], set()
        hits: list[Hit] = []
        forms = _token_forms(toks)
        matched_tokens: set[int] = set()
        streams = (forms.as_i,) if forms.as_l == forms.as_i else (forms.as_i, forms.as_l)
        for stream in streams:
            for hit in self._automaton_hits(toks, stream):
                hits.append(hit)
                matched_tokens.update(range(hit.first, hit.last + 1))
        for hit in self._masked_hits(toks, forms):
            if hit.first not in matched_tokens:
                hits.append(hit)
                matched_tokens.update(range(hit.first, hit.last + 1))
        hits.extend(self._sound_alike_hits(toks, forms.as_i, matched_tokens))
        return self._findings(nt, toks, hits)

    def _findings(
        self, nt: NormalizedText, toks: tuple[Token, ...], hits: list[Hit]
    ) -> tuple[list[Finding], set[int]]:
        """One finding per span and entry (the best-scored hit), unless a name use or an allow-listed
        phrase excuses it, and the tokens the findings cover."""
        findings: dict[tuple[int, int, str], Finding] = {}
        covered: set[int] = set()
        entries = self.index.entries
        for hit in hits:
            if hit.whole and self.excuses.excused(toks, hit.term, hit.first, hit.last):
                continue
            covered.update(range(hit.first, hit.last + 1))
            entry = entries[hit.term]
            span = nt.span(hit.fstart, hit.fend)
            severity = entry.severity if hit.score >= 0.9 else Severity.REVIEW
            key = (span[0], span[1], entry.id)
            if key not in findings or findings[key].score < hit.score:
                findings[key] = Finding(
                    kind=FindingKind.OFFENSIVE,
                    list_ref=self.terms.ref,
                    entry=entry.id,
                    score=hit.score,
                    severity=severity,
                    span=span,
                    category=entry.category,
                )
        return sorted(findings.values(), key=lambda f: f.span or (0, 0)), covered

    # -- exact (automaton) ----------------------------------------------------------------------

    def _automaton_hits(self, toks: tuple[Token, ...], forms: list[str]) -> Iterator[Hit]:
        """Hits of the exact keys on one reading of the tokens (`forms`, one string per token)."""
        index = self.index
        # One squeeze for all tokens (NUL never survives folding, so it cannot merge with a letter).
        sq_forms = squeeze("\x00".join(forms)).split("\x00")
        parts: list[str] = []
        starts: list[int] = []  # stream index where each token's squeezed form starts
        pos = 0
        for tok, sq in zip(toks, sq_forms, strict=True):
            sep = " | " if tok.gap == Gap.HARD else " "  # multi-word terms never span a hard gap
            parts.append(sep)
            parts.append(sq)
            pos += len(sep)
            starts.append(pos)
            pos += len(sq)
        parts.append(" ")
        stream = "".join(parts)
        maps: dict[int, list[int]] = {}  # squeezed -> raw index, built only for tokens with a hit
        for end, (length, idxs) in index.automaton.iter(stream):
            start = end - length + 1
            first = bisect.bisect_right(starts, start) - 1
            last = bisect.bisect_right(starts, end) - 1
            if first < 0:
                continue
            a = start - starts[first]  # squeezed offsets inside first/last token
            b = end + 1 - starts[last]
            if b > len(sq_forms[last]) or a < 0:
                continue
            for k in (first, last):
                if k not in maps:
                    maps[k] = squeeze_map(forms[k])[1]
            # A squeezed boundary letter may stand for a run: "bitchhead" squeezes to "bitchead", and
            # the term may end after the first "h" or after the last; both cuts are tried.
            fm, lm = maps[first], maps[last]
            a_cuts = (fm[a], (fm[a + 1] if a + 1 < len(fm) else len(forms[first])) - 1)
            b_cuts = (lm[b - 1] + 1, lm[b] if b < len(lm) else len(forms[last]))
            at_start = a == 0
            at_end = b == len(sq_forms[last])
            word = forms[first]
            for term in idxs:
                if first == last:
                    if (
                        at_start
                        and at_end
                        and index.more_repeats(term, word, fm, a, b)
                        and self.lexicon.is_known(word)
                    ):
                        continue  # "rapping" is a word of its own, not a drawn-out "raping"
                    if not index.runs_cover(term, word, fm, a, b):
                        # Fewer repeated letters than the term ("as" for "ass", "Bobs" for "boobs"): only
                        # a whole word that no lexicon knows may be such a shortening ("pusy", "jiz").
                        if not (at_start and at_end and index.may_hide(word, length)):
                            continue
                hit = self._judge(
                    toks,
                    forms,
                    term,
                    first=first,
                    last=last,
                    a_cuts=a_cuts,
                    b_cuts=b_cuts,
                    at_start=at_start,
                    at_end=at_end,
                )
                if hit is not None:
                    yield hit

    def _judge(
        self,
        toks: tuple[Token, ...],
        forms: list[str],
        term: int,
        *,
        first: int,
        last: int,
        a_cuts: tuple[int, int],
        b_cuts: tuple[int, int],
        at_start: bool,
        at_end: bool,
    ) -> Hit | None:
        """The hit of a key on tokens first..last, if the word-boundary rules keep it. `a_cuts` and
        `b_cuts`: where in the first and last token's form the term may start and end (two cuts each,
        as a squeezed letter may stand for a run); `at_start`, `at_end`: the key covers the first
        token from its start, the last one to its end."""
        ft, lt = toks[first], toks[last]
        fstart = ft.folded_index(a_cuts[0])
        fend = lt.folded_index(b_cuts[1])
        if first != last:  # multi-word terms only as whole words
            if not (at_start and at_end):
                return None
            return Hit(term, first, last, fstart, fend, 1.0, True)
        word = forms[first]
        leet = word != ft.text
        score = 0.95 if leet else 1.0
        if at_start and at_end:
            return Hit(term, first, last, ft.start, ft.end, score, True)
        if at_start and any(word[b:] in INFLECTIONS for b in b_cuts):
            if ft.upper_first and not ft.disguised and self.lexicon.is_name(word):
                return None  # "Spicer" is a surname, not "spic" + "er"
            return Hit(term, first, last, ft.start, ft.end, score, True)
        # Inside a longer word: that word must not be a word of its own, and the rest must be words;
        # and the term must be long enough to mean something there ("as" is inside everything).
        if not self.index.may_hide(word, len(self.index.runs[term])) or self.index.spelled(word) is not None:
            return None
        if ft.text.endswith("!"):
            return None  # the "!" reading is for whole words ("pak!"), not "Georgiana!" -> "...anal"
        if ft.camel:  # "TeaspoonHoisted": a hit strictly inside one known part is that word's business
            cuts = (0, *ft.camel, len(word))
            for lo, hi in pairwise(cuts):
                if lo <= a_cuts[0] and b_cuts[0] <= hi:
                    own_word = a_cuts[0] == lo and any(b == hi or word[b:hi] in INFLECTIONS for b in b_cuts)
                    if not own_word and self.lexicon.is_known(word[lo:hi]):
                        return None
        before_ok = at_start or any(a in ft.camel or self._is_words(word[:a]) for a in set(a_cuts) if a > 0)
        after_ok = at_end or any(
            b in ft.camel or self._is_words(word[b:]) for b in set(b_cuts) if b < len(word)
        )
        if not (before_ok and after_ok):
            return None
        return Hit(term, first, last, fstart, fend, 0.9 * score, False)

    def _is_words(self, s: str) -> bool:
        """s splits into common words of 2+ letters (digits allowed as their own piece)."""
        if len(s) > _MAX_SEGMENT:
            return False
        if s.isdigit():
            return True
        n = len(s)
        ok = [False] * (n + 1)
        ok[0] = True
        for i in range(n):
            if not ok[i]:
                continue
            for j in range(i + 2, n + 1):
                piece = s[i:j]
                # A two-letter piece must be a dictionary word: "li" + "gh" is no reading of "ligh".
                if piece.isdigit() or (
                    self.lexicon.is_common(piece, 3.0) and (j - i > 2 or self.lexicon.is_dictionary(piece))
                ):
                    ok[j] = True
        return ok[n]

    # -- masked letters -------------------------------------------------------------------------

    def _masked_hits(self, toks: tuple[Token, ...], forms: TokenForms) -> Iterator[Hit]:
        index = self.index
        for k, tok in enumerate(toks):
            masked = forms.masked[k]
            if masked is not None:
                term = index.spelled_masked(masked)
                if term is None and masked.endswith("s"):
                    term = index.spelled_masked(masked[:-1])  # "tr*nnys"
                if term is not None:
                    yield Hit(term, k, k, tok.start, tok.end, 0.9, True)
                elif k + 1 < len(toks) and toks[k + 1].gap in (Gap.SPACE, Gap.SOFT):
                    term = index.spelled_masked(masked + " " + forms.as_i[k + 1])  # "whit* power"
                    if term is not None:
                        yield Hit(term, k, k + 1, tok.start, toks[k + 1].end, 0.9, True)
            # "r-mjob", "tr-nny": a word cut by one mask-like separator. A lone "s" after it is an
            # ending, not the rest of a word: "Coco's", "A-s", "CD-s" (as the quick filter reads it).
            if k + 1 < len(toks) and toks[k + 1].gap == Gap.SOFT and tok.text.isalpha():
                nxt = toks[k + 1]
                if nxt.start - tok.end == 1 and nxt.text.isalpha() and nxt.text != "s":
                    term = index.spelled_joined(tok.text, nxt.text)
                    if term is not None:
                        yield Hit(term, k, k + 1, tok.start, nxt.end, 0.9, True)
                        continue
            # "sh it", "ca mgirl": one word cut by a space or a joiner, one half no word of its own.
            if k + 1 < len(toks) and toks[k + 1].gap in (Gap.SPACE, Gap.SOFT) and tok.text.isalpha():
                nxt = toks[k + 1]
                if nxt.text.isalpha() and not nxt.possessive:
                    term = index.spelled_split(tok.text, nxt.text)
                    if term is not None:
                        yield Hit(term, k, k + 1, tok.start, nxt.end, 0.9, True)

    # -- deliberate misspellings ----------------------------------------------------------------

    def _sound_alike_hits(self, toks: tuple[Token, ...], as_i: list[str], matched: set[int]) -> Iterator[Hit]:
        """Sound-alikes of a term: one word no dictionary knows ("btch", "puzzy"), or two words read as
        one, either of them such a word ("bal gak"). Tokens already `matched` are not read again."""
        index = self.index
        if not index.sounds:
            return
        lex = self.lexicon
        # "Bob!" is Bob: the "i" reading of a trailing "!" is for exact terms only ("pak!").
        words = [f[:-1] if t.text.endswith("!") else f for f, t in zip(as_i, toks, strict=True)]
        rare = [k not in matched and index.is_sound_alike_candidate(words[k]) for k in range(len(toks))]
        sq_words = squeeze("\x00".join(words)).split("\x00")
        keys: dict[int, str] = {}  # sound keys, each computed once and only when asked for

        def key_of(k: int) -> str:
            key = keys.get(k)
            if key is None:
                key = keys[k] = lex.sound(words[k])
            return key

        last = len(toks) - 1
        for k, tok in enumerate(toks):
            if not rare[k] and (k == last or not rare[k + 1]):
                continue  # neither this word nor the pair it starts is a sound-alike candidate
            # Part of a hyphenated or dotted name ("Coka-cola") is not a word on its own.
            compound = (k > 0 and tok.gap == Gap.SOFT) or (k < last and toks[k + 1].gap == Gap.SOFT)
            if (
                rare[k]
                and not compound
                and not (tok.upper_first and lex.is_surname(words[k]))  # "Connors" is no disguise
                and not self.excuses.name_context(toks, k)
            ):
                found = index.sound_alike(words[k], pair=False, key=key_of(k))
                if found is not None:
                    yield Hit(found.term, k, k, tok.start, tok.end, found.score, True)
                else:
                    term = index.misspelled(words[k])  # "sht", "btich", "kvnt"
                    if term is not None:
                        yield Hit(term, k, k, tok.start, tok.end, 0.85, True)  # review, not block
            if (
                k < last
                and toks[k + 1].gap in (Gap.SPACE, Gap.SOFT)
                and (rare[k] or rare[k + 1])
                and words[k].isalpha()
                and words[k + 1].isalpha()
                and index.pairs.may_sound(
                    index.pairs.heads.get(key_head(key_of(k), sq_words[k]), 0),
                    index.pairs.tails.get(key_tail(key_of(k + 1)), 0),
                    len(sq_words[k]) + len(sq_words[k + 1]) - (sq_words[k][-1:] == sq_words[k + 1][:1]),
                )
            ):
                found = index.sound_alike(words[k] + words[k + 1], pair=True)
                if found is not None:
                    yield Hit(found.term, k, k + 1, tok.start, toks[k + 1].end, found.score, True)


def _token_forms(toks: tuple[Token, ...]) -> TokenForms:
    """Each token's leetspeak readings and masked form (see TokenForms). Most tokens are plain words,
    which read the same every way."""
    as_i = [t.text for t in toks]
    as_l = as_i.copy()
    masked: list[str | None] = [None] * len(toks)
    for k, tok in enumerate(toks):
        t = tok.text
        if t.isalpha() or t.isdigit():
            continue
        core = t.rstrip("!")  # a trailing "!" is an "i" ("pak!") or punctuation ("Bob!"), never a mask
        if any(c in _MASKS for c in core):
            masked[k] = core.translate(_MASKED).translate(LEET_AS_I)
        leet_l = t.translate(LEET_AS_L)
        if t.endswith("!"):
            leet_l = leet_l[:-1] + "i"  # a trailing "!" is an i or punctuation, never an l
        as_i[k] = t.translate(LEET_AS_I)
        as_l[k] = leet_l
    return TokenForms(as_i, as_l, masked)
