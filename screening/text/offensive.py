"""Offensive-term matching: one Aho-Corasick pass over the normalised words, then word-boundary rules.

Terms and text are compared squeezed ("sllllut" -> "slut"), with leetspeak as alternatives. A hit on a
whole word (plus an inflection: "bitchs", "p@kis") counts unless the word is used as a name ("Dick
Whittington") or sits inside an allow-listed phrase ("pussy willow"). A hit inside a longer word counts
only when that word is no word of its own and the rest of it is made of words ("squadjizz",
"BitchThis"): so "Scunthorpe", "cockpit", "Hancock", "grape" and "therapist" stay clear. Masked letters
("b*tch", "c!msh!t") match as wildcards, and deliberate misspellings ("btch", "puzzy", "tossa") by a
non-rhotic phonetic key, but only for words no dictionary knows.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Iterator
from itertools import pairwise
from typing import NamedTuple

import ahocorasick
from rapidfuzz import fuzz

from screening.findings import Finding, FindingKind, Severity
from screening.text.lexicon import Lexicon
from screening.text.lists import AllowList, TermEntry, TermList, mark_words
from screening.text.normalize import (
    _LEET_I,
    _LEET_L,
    _NON_ASCII_RE,
    Gap,
    NormalizedText,
    Token,
    fold_char,
    squeeze,
    squeeze_map,
)
from screening.text.phonetic import key_head, key_tail, phonetic_key

# Endings that keep a term the same word: "bitchs", "sluts", "fucked", "fuckers", "wanking".
_INFLECTIONS = frozenset({"s", "es", "ed", "er", "ers", "in", "ing", "z"})
_FAMILY_WORDS = frozenset({"family", "house", "household", "clan", "residence", "reunion", "and"})
_HONORIFICS = frozenset(
    {"mr", "mrs", "ms", "miss", "dr", "sir", "dame", "lord", "lady", "uncle", "aunt", "auntie"}
)
_WILDCARD_SYMBOLS = str.maketrans(dict.fromkeys("*#!@$-", "?"))
# A token known this well is a word in its own right, so it is not a disguised term ("kock" 2.4 is a
# surname but also a common disguise, so the bar is higher than for brands).
_FUZZY_KNOWN_ZIPF = 3.3
_MAX_SEGMENT = 24
_WORD_RE = re.compile(r"[a-z0-9]+")
# Anything the quick path cannot judge: leet symbols or digits touching letters, "!" before a letter,
# or single characters in a row ("f u c k"). Two searches: one alternation of both is twice as slow.
_SUSPECT_RE = re.compile(r"[a-z][@$*#|0-9]|[@$*#|0-9!][a-z]")
_SYMBOL_RE = re.compile(r"[@$*#|!]")  # a one-class scan, far cheaper than the two-sided one above
_SINGLES_RE = re.compile(r"(?:^|[^a-z0-9])[a-z0-9][^a-z0-9]{1,3}[a-z0-9][^a-z0-9]")
_BANG_RE = re.compile(r"([a-z]+)!")
# Two words joined by one mask-like character ("r-mjob", "tr-nny"); a possessive "'s" is not a word.
_JOINT_RE = re.compile(r"(?<![a-z])(?=([a-z]+)[-._'’/‐‑](?!s(?![a-z]))([a-z]+))")
_JOINT_HINT_RE = re.compile(r"[a-z][-._'’/‐‑][a-z]")  # cheap: most texts have no such joint at all
_RUN_RE = re.compile(r"(.)\1*")


# What the quick path knows of a word: (squeezed, clear on its own, rare enough for sound-alike tests,
# the phonetic key of the squeezed form if a sound-alike test needed it).
_WordInfo = tuple[str, bool, bool, str | None]


class _Hit(NamedTuple):  # a tuple: built per candidate hit, ~5x cheaper than a frozen dataclass
    term: int
    first: int  # token range, inclusive
    last: int
    fstart: int  # folded-text span
    fend: int
    score: float
    whole: bool  # matched whole word(s), so the name and allow rules apply


class OffensiveMatcher:
    """The automata are only read, and the word memos and `_plain` only gain whole entries
    (single dict and set operations, atomic under the GIL), so threads may share one matcher."""

    def __init__(self, terms: TermList, lexicon: Lexicon, allow: AllowList | None = None) -> None:
        self.terms = terms
        self.lexicon = lexicon
        self._entries: tuple[TermEntry, ...] = terms.entries
        self._auto = ahocorasick.Automaton()
        keys: dict[str, list[int]] = {}
        self._words: list[list[str]] = []
        fuzzy: dict[str, list[int]] = {}
        self._term_runs: list[tuple[int, ...]] = []
        for idx, entry in enumerate(self._entries):
            words = mark_words(entry.term)
            self._words.append(words)
            self._term_runs.append(tuple(len(r.group()) for r in _RUN_RE.finditer(" ".join(words))))
            key = " ".join(squeeze(w) for w in words)
            keys.setdefault(key, []).append(idx)
            joined = "".join(words)
            if len(joined) >= 4 and joined.isalpha():
                fuzzy.setdefault(phonetic_key(squeeze(joined), non_rhotic=True), []).append(idx)
        self._keys: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in keys.items()}
        self._multi = ahocorasick.Automaton()  # the terms of several words, for the quick path
        for key, idxs in self._keys.items():
            self._auto.add_word(key, (len(key), idxs))
            if " " in key:
                self._multi.add_word(key, (len(key), idxs))
        self._has_multi = any(" " in key for key in self._keys)
        if self._has_multi:
            self._multi.make_automaton()
        self._memo: dict[str, _WordInfo] = {}
        self._parts: dict[str, tuple[int, int, int]] = {}  # see _key_parts; lexicon words only
        # A term of several words needs all of them, so the quick path runs the multi-word automaton only
        # when a text holds each such term's rarest word (its trigger): "power", not "white"; "venus",
        # not "of". Common words then stay plain.
        self._multi_triggers = frozenset(
            min(key.split(), key=lambda part: (lexicon.zipf(part), part)) for key in self._keys if " " in key
        )
        # No term is a number, so a number is clear by itself (a year, a house number).
        self._numbers_clear = not any(key.isdigit() for key in self._keys)
        self._single: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in keys.items() if " " not in k}
        self._by_len: dict[int, list[str]] = {}
        for k in self._keys:
            self._by_len.setdefault(len(k), []).append(k)
        if keys:
            self._auto.make_automaton()
        self._has_terms = bool(keys)
        self._fuzzy = {k: tuple(v) for k, v in fuzzy.items() if len(k) >= 2}
        # Sound-alike targets for two words read as one: the terms of several words, squeezed and joined.
        pair_keys = [k for k, ts in self._fuzzy.items() if any(len(self._words[t]) > 1 for t in ts)]
        # Every key of two words joined starts with the first's key_head and ends with the second's
        # key_tail, so a pair whose parts fit no such target key is no sound-alike of a term.
        # One bit per target: which targets' keys start with a given head, end with a given tail, and
        # lie within the sound-alike test's length tolerance of a pair's squeezed length. A pair goes on
        # only if one target has all three (an AND of three ints).
        targets = [
            (k, len(squeeze("".join(self._words[t]))))
            for k in pair_keys
            for t in self._fuzzy[k]
            if len(self._words[t]) > 1
        ]
        self._head_bits: dict[str, int] = {}
        self._tail_bits: dict[str, int] = {}
        self._len_bits: dict[int, int] = {}
        for bit, (k, length) in enumerate(targets):
            for i in range(len(k) + 1):
                self._head_bits[k[:i]] = self._head_bits.get(k[:i], 0) | 1 << bit
                self._tail_bits[k[i:]] = self._tail_bits.get(k[i:], 0) | 1 << bit
            for n in range(max(1, length - 3), length + 4):  # _fuzzy_one's tolerance
                self._len_bits[n] = self._len_bits.get(n, 0) | 1 << bit
        self._fuzzy_longest = max(
            (len(squeeze("".join(self._words[t]))) for ts in self._fuzzy.values() for t in ts), default=0
        )
        self._name_terms = frozenset(
            i for i, w in enumerate(self._words) if len(w) == 1 and lexicon.is_name(w[0])
        )
        self._allow: set[tuple[str, ...]] = set()
        for phrase in allow.phrases if allow else ():
            self._allow.add(tuple(squeeze(w) for w in mark_words(phrase)))
        self._allow_max = max((len(p) for p in self._allow), default=0)
        # Words that need no look in any text (grows in _word_info), and rare words clear on their own.
        self._plain, self._rare_clear = self._prejudge()

    # -- public ---------------------------------------------------------------------------------

    def find(self, nt: NormalizedText) -> list[Finding]:
        return self.match(nt)[0]

    def match(self, nt: NormalizedText, *, quick_checked: bool = False) -> tuple[list[Finding], set[int]]:
        """Findings, and the indices of the tokens they cover (a word explained as a disguised term is
        not also read as a disguised brand). `quick_checked`: the caller already had `quick_clear`
        answer False for this text."""
        toks = nt.tokens
        if not toks or not self._has_terms or (not quick_checked and self.quick_clear(nt.original)):
            return [], set()
        hits: list[_Hit] = []
        forms = [(w, w, None) if (w := t.text).isalpha() else self._forms(t) for t in toks]  # most are words
        matched_tokens: set[int] = set()
        for variant in (0, 1):
            if variant == 1 and all(f[0] == f[1] for f in forms):
                break
            stream_forms = [f[0] if variant == 0 else f[1] for f in forms]
            for hit in self._automaton_hits(nt, toks, stream_forms):
                hits.append(hit)
                matched_tokens.update(range(hit.first, hit.last + 1))
        for hit in self._wildcard_hits(toks, forms):
            if hit.first not in matched_tokens:
                hits.append(hit)
                matched_tokens.update(range(hit.first, hit.last + 1))
        for hit in self._fuzzy_hits(toks, forms, matched_tokens):
            hits.append(hit)
        findings: dict[tuple[int, int, str], Finding] = {}
        covered: set[int] = set()
        for hit in hits:
            if hit.whole and self._excused(nt, toks, hit):
                continue
            covered.update(range(hit.first, hit.last + 1))
            entry = self._entries[hit.term]
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

    # -- token forms ----------------------------------------------------------------------------

    @staticmethod
    def _forms(tok: Token) -> tuple[str, str, str | None]:
        """(leet-as-i, leet-as-l, wildcard form or None). All 1:1 with tok.text, so indices carry over."""
        t = tok.text
        if t.isalpha():
            return t, t, None
        if t.isdigit():
            return t, t, None
        wild = None
        core = t.rstrip("!")  # a trailing "!" is an "i" ("pak!") or punctuation ("Bob!"), never a mask
        if any(c in "*#!@$" for c in core):
            wild = core.translate(_WILDCARD_SYMBOLS).translate(_LEET_I)
        leet_l = t.translate(_LEET_L)
        if t.endswith("!"):
            leet_l = leet_l[:-1] + "i"  # a trailing "!" is an i or punctuation, never an l
        return t.translate(_LEET_I), leet_l, wild

    # -- exact (automaton) ----------------------------------------------------------------------

    def _automaton_hits(
        self, nt: NormalizedText, toks: tuple[Token, ...], forms: list[str]
    ) -> Iterator[_Hit]:
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
        for end, (length, idxs) in self._auto.iter(stream):
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
            for term in idxs:
                if (
                    first == last
                    and at_start
                    and at_end
                    and self._more_repeats(forms[first], fm, a, b, term)
                    and self.lexicon.is_known(forms[first])
                ):
                    continue  # "rapping" is a word of its own, not a drawn-out "raping"
                if first == last and not self._runs_cover(forms[first], fm, a, b, term):
                    # Fewer repeated letters than the term ("as" for "ass", "Bobs" for "boobs"): only
                    # a whole word that no lexicon knows may be such a shortening ("pusy", "jiz").
                    if not (at_start and at_end) or self.lexicon.is_known(forms[first]) or length < 3:
                        continue
                hit = self._judge(toks, forms, first, last, a_cuts, b_cuts, at_start, at_end, term)
                if hit is not None:
                    yield hit

    def _more_repeats(self, word: str, m: list[int], a: int, b: int, term: int) -> bool:
        """Some letter of the hit repeats in the word more often than in the term ("rapping")."""
        need = self._term_runs[term]
        if len(need) != b - a:
            return False
        return any((m[p + 1] if p + 1 < len(m) else len(word)) - m[p] > need[p - a] for p in range(a, b))

    def _runs_cover(self, word: str, m: list[int], a: int, b: int, term: int) -> bool:
        """Each letter of the hit repeats in the word at least as often as in the term."""
        need = self._term_runs[term]
        if len(need) != b - a:
            return True
        for p in range(a, b):
            have = (m[p + 1] if p + 1 < len(m) else len(word)) - m[p]
            if have < need[p - a]:
                return False
        return True

    def _judge(
        self,
        toks: tuple[Token, ...],
        forms: list[str],
        first: int,
        last: int,
        a_cuts: tuple[int, int],
        b_cuts: tuple[int, int],
        at_start: bool,
        at_end: bool,
        term: int,
    ) -> _Hit | None:
        ft, lt = toks[first], toks[last]
        fstart = ft.folded_index(a_cuts[0])
        fend = lt.folded_index(b_cuts[1])
        if first != last:  # multi-word terms only as whole words
            if not (at_start and at_end):
                return None
            return _Hit(term, first, last, fstart, fend, 1.0, True)
        word = forms[first]
        leet = word != ft.text
        score = 0.95 if leet else 1.0
        if at_start and at_end:
            return _Hit(term, first, last, ft.start, ft.end, score, True)
        if at_start and any(word[b:] in _INFLECTIONS for b in b_cuts):
            if ft.upper_first and not ft.disguised and self.lexicon.is_name(word):
                return None  # "Spicer" is a surname, not "spic" + "er"
            return _Hit(term, first, last, ft.start, ft.end, score, True)
        # Inside a longer word: that word must not be a word of its own, and the rest must be words;
        # and the term must be long enough to mean something there ("as" is inside everything).
        if len(self._term_runs[term]) < 3 or self.lexicon.is_known(word) or self._single.get(squeeze(word)):
            return None
        if ft.text.endswith("!"):
            return None  # the "!" reading is for whole words ("pak!"), not "Georgiana!" -> "...anal"
        if ft.camel:  # "TeaspoonHoisted": a hit strictly inside one known part is that word's business
            cuts = (0, *ft.camel, len(word))
            for lo, hi in pairwise(cuts):
                if lo <= a_cuts[0] and b_cuts[0] <= hi:
                    own_word = a_cuts[0] == lo and any(b == hi or word[b:hi] in _INFLECTIONS for b in b_cuts)
                    if not own_word and self.lexicon.is_known(word[lo:hi]):
                        return None
        before_ok = at_start or any(a in ft.camel or self._is_words(word[:a]) for a in set(a_cuts) if a > 0)
        after_ok = at_end or any(
            b in ft.camel or self._is_words(word[b:]) for b in set(b_cuts) if b < len(word)
        )
        if not (before_ok and after_ok):
            return None
        return _Hit(term, first, last, fstart, fend, 0.9 * score, False)

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
                if piece.isdigit() or self.lexicon.is_common(piece, 3.0):
                    ok[j] = True
        return ok[n]

    # -- masked letters -------------------------------------------------------------------------

    def _wildcard_hits(
        self, toks: tuple[Token, ...], forms: list[tuple[str, str, str | None]]
    ) -> Iterator[_Hit]:
        for k, tok in enumerate(toks):
            wild = forms[k][2]
            if wild is not None:
                term = self._match_wild(wild)
                if term is None and wild.endswith("s"):
                    term = self._match_wild(wild[:-1])  # "tr*nnys"
                if term is not None:
                    yield _Hit(term, k, k, tok.start, tok.end, 0.9, True)
                elif k + 1 < len(toks) and toks[k + 1].gap in (Gap.SPACE, Gap.SOFT):
                    term = self._match_wild(wild + " " + forms[k + 1][0])  # "whit* power"
                    if term is not None:
                        yield _Hit(term, k, k + 1, tok.start, toks[k + 1].end, 0.9, True)
            # "r-mjob", "tr-nny": a word cut by one mask-like separator.
            if k + 1 < len(toks) and toks[k + 1].gap == Gap.SOFT and tok.text.isalpha():
                nxt = toks[k + 1]
                if nxt.start - tok.end == 1 and nxt.text.isalpha() and not nxt.possessive:
                    term = self._match_exact(tok.text + nxt.text)
                    if term is None:
                        term = self._match_wild(tok.text + "?" + nxt.text)
                    if term is not None:
                        yield _Hit(term, k, k + 1, tok.start, nxt.end, 0.9, True)

    def _match_exact(self, word: str) -> int | None:
        idxs = self._single.get(squeeze(word))
        return idxs[0] if idxs else None

    def _match_wild(self, pattern: str) -> int | None:
        """A term the pattern spells, "?" standing for one letter or none (after squeezing, a masked
        letter may have been a doubled one: "thre#s#me"). Only masked words reach this linear pass."""
        if pattern.count("?") > 3 or sum(c.isalpha() for c in pattern) < 2:
            return None
        pat = _squeeze_letters(pattern)
        wild = pat.count("?")
        head = pat[: pat.index("?")] if wild else pat
        for length in range(len(pat) - wild, len(pat) + 1):
            for key in self._by_len.get(length, ()):
                if key.startswith(head) and _wild_equal(pat, key):
                    return self._keys[key][0]
        return None

    def quick_clear(self, text: str) -> bool:
        """True when the text surely holds no term, decided without building tokens (token bookkeeping
        is most of the full path's cost). Plain ASCII only, and every rule of the full path is applied
        in its permissive form: any whole-word hit, any hit inside an unknown word, any word joined by a
        mask-like character that spells a term, any unknown word that sounds like a term sends the text
        down the full path, which decides.

        Most words of most texts are common words already judged plain (`_plain`), so one set
        difference at C speed leaves only the few words that need a look; the scans for symbols, single
        letters and joined words run only when a cheap test says they could match."""
        plain = text if text.isascii() else _ascii_separators(text)
        if plain is None:
            return False
        low = plain.lower()
        symbols = _SYMBOL_RE.search(low) is not None
        if symbols and _SUSPECT_RE.search(low):
            return False
        words = _WORD_RE.findall(low)
        if not words:
            return True
        if list(map(len, words)).count(1) > 1 and _SINGLES_RE.search(low):
            return False
        memo = self._memo.get
        rare: dict[str, str | None] = {}  # rare word -> its phonetic key
        multi = False
        for w in set(words).difference(self._plain):
            if w in self._rare_clear:
                rare[w] = None
                continue
            if not w.isalpha():
                if not w.isdigit():
                    return False  # letters touching digits: leetspeak ("sh1t"), which the full path reads
                if self._numbers_clear:
                    multi = multi or squeeze(w) in self._multi_triggers  # "2 girls 1 cup"
                    continue
            info = memo(w) or self._word_info(w)
            if not info[1]:
                return False
            if info[2]:
                rare[w] = info[3]
            multi = multi or info[0] in self._multi_triggers
        # "pak!": the full path also reads a trailing "!" as an i (whole words only, never memoised).
        if symbols and "!" in low:
            for w in _BANG_RE.findall(low):
                w += "i"
                if self._word_hit(w, squeeze(w), inside=False):
                    return False
        if multi and len(words) > 1 and self._multi_word_hit(squeeze(" ".join(words))):
            return False
        if _JOINT_HINT_RE.search(low):
            for a, b in _JOINT_RE.findall(low):
                if self._match_exact(a + b) is not None or self._match_wild(a + "?" + b) is not None:
                    return False
        # Two words read as one sound-alike of a term of several words ("bal gak"), when either is rare.
        if rare and self._len_bits:
            last = len(words) - 1
            for r in rare:  # a rare word is seldom repeated: find it with C-level list searches
                i = -1
                for _ in range(words.count(r)):
                    i = words.index(r, i + 1)
                    if (i > 0 and self._pair_sounds(words[i - 1], words[i], rare)) or (
                        i < last and self._pair_sounds(words[i], words[i + 1], rare)
                    ):
                        return False
        return True

    def _pair_sounds(self, a: str, b: str, keys: dict[str, str | None]) -> bool:
        """Two words read as one sound like a term of several words. `keys`: phonetic keys the caller
        has already."""
        if not (a.isalpha() and b.isalpha()):
            return False
        head, _, len_a = self._key_parts(a, keys.get(a))
        _, tail, len_b = self._key_parts(b, keys.get(b))
        return self._pair_may_sound(head, tail, len_a + len_b - (a[-1] == b[0])) and (
            self._fuzzy_one(a + b, 0, 1, 0, 0, single=False) is not None
        )

    def _pair_may_sound(self, head_bits: int, tail_bits: int, length: int) -> bool:
        """Some target of several words could be the joined pair's sound-alike: its key starts with the
        first word's key_head, ends with the second's key_tail (so it holds for every joined key, see
        phonetic.key_head), and its length is within tolerance. Refuses nearly every pair before any
        key of the pair is computed."""
        return bool(head_bits & tail_bits & self._len_bits.get(length, 0))

    def _key_parts(self, w: str, key: str | None) -> tuple[int, int, int]:
        """(targets whose keys start with the word's key_head, those ending with its key_tail, length
        of the squeezed word), kept for words of the lexicon only."""
        parts = self._parts.get(w)
        if parts is None:
            sq = squeeze(w)
            if key is None:
                key = self.lexicon.sound(w)
            parts = (
                self._head_bits.get(key_head(key, sq), 0),
                self._tail_bits.get(key_tail(key), 0),
                len(sq),
            )
            if w in self.lexicon.entries:  # bounded by the lexicon; a customer's own word is not kept
                self._parts[w] = parts
        return parts

    def _word_info(self, w: str) -> _WordInfo:
        """(squeezed form, nothing inside this word alone can be a term, a word for sound-alike tests,
        phonetic key if computed).

        Memoised for words of the lexicon only: they are public vocabulary, and most of every text. A
        word the lexicon does not know may be a customer's name or a rare spelling; it is judged each
        time and never kept, so nothing a customer typed outlives the request in this process. A word
        that needs no further look in any text (clear, known, no trigger of a term of several words)
        also joins `_plain`.
        """
        info = self._memo.get(w)
        if info is not None:
            return info
        sq = squeeze(w)
        alpha = w.isalpha()
        unknown = len(w) >= 3 and alpha and self.lexicon.is_rare_unknown(w, _FUZZY_KNOWN_ZIPF)
        key = self.lexicon.sound(w) if unknown else None
        clear = not self._word_hit(w, sq, inside=True) and not (
            unknown and self._fuzzy_one(w, 0, 0, 0, 0, single=True, key=key) is not None
        )
        info = (sq, clear, unknown, key)
        if w in self.lexicon.entries:  # so the memo is bounded by the lexicon (and mostly prejudged)
            self._memo[w] = info
            if clear and not unknown and sq not in self._multi_triggers and (alpha or w.isdigit()):
                self._plain.add(w)
        return info

    def _prejudge(self) -> tuple[set[str], frozenset[str]]:
        """Judge the lexicon's words once, at build (~0.4 s, mostly set operations), so the first texts a
        process screens cost what later ones do. Returns the words the quick path may pass over unseen
        (known, so no sound-alike test; all letters or all digits; no term inside; no trigger of a term
        of several words), and the rare words that are clear on their own (they still take part in the
        pair test). One automaton pass over all words at C speed finds those with a term inside; they
        are left to _word_info, which judges them on first sight ("abase" holds a harmless hit)."""
        lex = self.lexicon
        words = [w for w in lex.entries if w.isalpha() or w.isdigit()]
        if not self._has_terms or not words:
            return set(words), frozenset()
        joined = squeeze(" ".join(words))  # one squeeze for all words, as no word holds a space
        squeezed = joined.split(" ")
        starts = list(itertools.accumulate(map(len, squeezed[:-1]), _after_space, initial=0))
        hit: set[int] = set()
        for end, (length, _) in self._auto.iter(joined):  # a term of several words marks each word
            hit.update(
                range(bisect.bisect_right(starts, end - length + 1) - 1, bisect.bisect_right(starts, end))
            )
        excluded = {words[i] for i in hit}
        excluded.update(itertools.compress(words, map(self._multi_triggers.__contains__, squeezed)))
        rare = lex.rare_unknown_words(_FUZZY_KNOWN_ZIPF, min_len=3)  # as _word_info's "unknown"
        plain = set(words) - excluded - rare
        candidates = rare - excluded
        fuzzy, sounds = self._fuzzy, lex.sounds
        sounding = {w for w in candidates if (sounds.get(w) or lex.sound(w)) in fuzzy}
        rare_clear = candidates - {
            w for w in sounding if self._fuzzy_one(w, 0, 0, 0, 0, single=True, key=lex.sound(w)) is not None
        }
        return plain, frozenset(rare_clear)

    def _word_hit(self, raw: str, sq: str, *, inside: bool) -> bool:
        """A one-word term in this word that the full path might keep: the whole word or the word plus an
        inflection ("pakis"), or (`inside`) a term inside a word no lexicon knows."""
        lex = self.lexicon
        n = len(sq)
        for end, (length, idxs) in self._auto.iter(sq):
            start = end - length + 1
            if start == 0 and (end + 1 == n or sq[end + 1 :] in _INFLECTIONS):
                # The full path decides, unless it would refuse the shortening anyway ("as" for "ass",
                # "Bobs" for "boobs").
                m = squeeze_map(raw)[1]
                if any(self._runs_cover(raw, m, 0, end + 1, t) for t in idxs):
                    return True
                if length >= 3 and not lex.is_known(raw):
                    return True
                continue
            # Inside a longer word: only a word no lexicon knows can hide a term ("cockpit" cannot).
            if inside and length >= 3 and not lex.is_known(raw):
                return True
        return False

    def _multi_word_hit(self, squeezed: str) -> bool:
        """A term of several words ("white power") on whole words of the squeezed, space-joined text."""
        stream = " " + squeezed + " "
        for end, (length, _) in self._multi.iter(stream):
            # On whole words: a space (or the stream's edge) on both sides.
            if stream[end - length] == " " and stream[end + 1] == " ":
                return True
        return False

    # -- deliberate misspellings ----------------------------------------------------------------

    def _fuzzy_hits(
        self, toks: tuple[Token, ...], forms: list[tuple[str, str, str | None]], matched: set[int]
    ) -> Iterator[_Hit]:
        if not self._fuzzy:
            return
        lex = self.lexicon
        # "Bob!" is Bob: the "i" reading of a trailing "!" is for exact terms only ("pak!").
        words = [f[0][:-1] if t.text.endswith("!") else f[0] for f, t in zip(forms, toks, strict=True)]
        unknown = [
            k not in matched
            and words[k].isalpha()
            and len(words[k]) >= 3
            and lex.is_rare_unknown(words[k], _FUZZY_KNOWN_ZIPF)
            for k in range(len(toks))
        ]
        sq_words = squeeze("\x00".join(words)).split("\x00")
        keys: dict[int, str] = {}  # phonetic keys, each computed once and only when asked for

        def key_of(k: int) -> str:
            key = keys.get(k)
            if key is None:
                key = keys[k] = self.lexicon.sound(words[k])
            return key

        last = len(toks) - 1
        for k, tok in enumerate(toks):
            if not unknown[k] and (k == last or not unknown[k + 1]):
                continue  # neither this word nor the pair it starts is a sound-alike candidate
            # Part of a hyphenated or dotted name ("Coka-cola") is not a word on its own.
            compound = (k > 0 and tok.gap == Gap.SOFT) or (k < last and toks[k + 1].gap == Gap.SOFT)
            if (
                unknown[k]
                and not compound
                and not (tok.upper_first and lex.is_surname(words[k]))  # "Connors" is no disguise
                and not self._name_context(toks, k)
            ):
                hit = self._fuzzy_one(words[k], k, k, tok.start, tok.end, single=True, key=key_of(k))
                if hit is not None:
                    yield hit
            if (
                k < last
                and toks[k + 1].gap in (Gap.SPACE, Gap.SOFT)
                and (unknown[k] or unknown[k + 1])
                and words[k].isalpha()
                and words[k + 1].isalpha()
                and self._pair_may_sound(
                    self._head_bits.get(key_head(key_of(k), sq_words[k]), 0),
                    self._tail_bits.get(key_tail(key_of(k + 1)), 0),
                    len(sq_words[k]) + len(sq_words[k + 1]) - (sq_words[k][-1:] == sq_words[k + 1][:1]),
                )
            ):
                hit = self._fuzzy_one(
                    words[k] + words[k + 1], k, k + 1, tok.start, toks[k + 1].end, single=False
                )
                if hit is not None:
                    yield hit

    def _fuzzy_one(
        self, word: str, first: int, last: int, fs: int, fe: int, single: bool, key: str | None = None
    ) -> _Hit | None:
        """`key`: the phonetic key of the squeezed word, when the caller has it already."""
        sq = squeeze(word)
        if len(sq) > self._fuzzy_longest + 3:  # longer than any sound-alike target allows (below)
            return None
        if key is None:
            key = phonetic_key(sq, non_rhotic=True)
        if len(word) < 4 and len(key) < 3:  # "dak" is not "darkie"; "mlf" (MLF) may be "milf"
            return None
        for term in self._fuzzy.get(key, ()):
            if (len(self._words[term]) == 1) != single:
                continue
            target = squeeze("".join(self._words[term]))
            # The key already fixes the first sound; a leading vowel ("A") stands for any vowel.
            if abs(len(target) - len(sq)) > 3 or (key[0] == "A" and sq[0] != target[0]):
                continue
            ratio = fuzz.ratio(sq, target) / 100.0
            # A loose resemblance is enough only for a word no corpus has seen ("tossa"); a rare
            # real word ("beanie", "Conley") must be a close one.
            if ratio >= 0.75 or (ratio >= 0.65 and self.lexicon.zipf(word) < 1.5):
                return _Hit(term, first, last, fs, fe, round(0.8 * ratio, 4), True)
        return None

    # -- excuses --------------------------------------------------------------------------------

    def _excused(self, nt: NormalizedText, toks: tuple[Token, ...], hit: _Hit) -> bool:
        if self._allow and self._allowed(toks, hit):
            return True
        return hit.term in self._name_terms and hit.first == hit.last and self._name_use(toks, hit.first)

    def _allowed(self, toks: tuple[Token, ...], hit: _Hit) -> bool:
        """Some allow-listed phrase covers the hit's words ("pussy willow")."""
        lo = max(0, hit.first - self._allow_max + 1)
        hi = min(len(toks), hit.first + self._allow_max)
        words = squeeze("\x00".join(t.text for t in toks[lo:hi])).split("\x00")  # only the window
        for i in range(lo, hit.first + 1):
            for j in range(max(i, hit.last), min(hi, i + self._allow_max)):
                if tuple(words[i - lo : j + 1 - lo]) in self._allow:
                    return True
        return False

    def _name_use(self, toks: tuple[Token, ...], k: int) -> bool:
        """A capitalised term that is also a name, used as one: "Dick Whittington", "Mrs Weiner",
        "Moby Dick"; not "Big Dick", not "you dick", never a disguised spelling ("D i c k")."""
        tok = toks[k]
        if tok.disguised or not tok.upper_first:
            return False
        if k > 0 and toks[k - 1].text in _HONORIFICS:
            return True
        if k + 1 < len(toks) and toks[k + 1].text in _FAMILY_WORDS and self.lexicon.is_surname(tok.text):
            return True  # "the Hooker family", "the Boner house"
        if k + 1 < len(toks) and toks[k + 1].gap == Gap.SPACE and toks[k + 1].upper_first:
            after = toks[k + 1].text  # "Dick Moody": a first name followed by a surname
            if after.isalpha() and self.lexicon.is_surname(after):
                return True
        return self._name_context(toks, k)

    def _name_context(self, toks: tuple[Token, ...], k: int) -> bool:
        """Capitalised, next to another capitalised name-like word ("Willy Wonka")."""
        tok = toks[k]
        if not tok.upper_first:
            return False
        lex = self.lexicon

        def name_like(t: Token) -> bool:
            w = t.text
            # Surnames are too broad here ("Best", "King"): a first name, or no dictionary word.
            return t.upper_first and w.isalpha() and (lex.is_first_name(w) or not lex.is_dictionary(w))

        if k + 1 < len(toks) and toks[k + 1].gap == Gap.SPACE and name_like(toks[k + 1]):
            return True
        return k > 0 and tok.gap == Gap.SPACE and name_like(toks[k - 1])


# Non-ASCII character -> what the quick path reads in its place ("" = it cannot judge the text).
_SEPARATOR_CACHE: dict[str, str] = {}
# Mask-like joints keep their ASCII kin, so the quick path still sees "r’mjob" as two joined words.
_JOINERS = {"’": "'", "‐": "-", "‑": "-"}


def _ascii_separators(text: str) -> str | None:
    """The text with non-ASCII punctuation and symbols that fold to nothing but a separator ("—",
    "♥", "·") replaced by spaces; None if any other non-ASCII character is present (a letter, a
    zero-width character, a fullwidth "!"), which the full path must see."""
    out = text
    for c in set(_NON_ASCII_RE.findall(text)):
        rep = _SEPARATOR_CACHE.get(c)
        if rep is None:
            folded = fold_char(c)
            separator = unicodedata.category(c)[0] in "PSZ" and all(
                not ch.isalnum() and ch not in "@$!*#|" for ch in folded
            )
            rep = _JOINERS.get(c, " ") if separator else ""
            if len(_SEPARATOR_CACHE) < 10_000:  # characters, not text: nothing a customer wrote is kept
                _SEPARATOR_CACHE[c] = rep
        if not rep:
            return None
        out = out.replace(c, rep)
    return out


def _after_space(start: int, length: int) -> int:
    """Where the next word starts in a space-joined string, after one of `length` at `start`."""
    return start + length + 1


def _squeeze_letters(s: str) -> str:
    """squeeze() that keeps every "?": each one may stand for a letter of its own."""
    out: list[str] = []
    for c in s:
        if not out or c != out[-1] or c == "?":
            out.append(c)
    return "".join(out)


def _wild_equal(pat: str, key: str) -> bool:
    """pat (with "?" = one char or none, never a space) spells key exactly. Patterns hold at most three
    "?", so trying which of them stand for a char (at most 8 ways) beats a character-level search."""
    parts = pat.split("?")
    wild = len(parts) - 1
    taken = len(key) - (len(pat) - wild)  # how many "?" stand for a char
    if not 0 <= taken <= wild:
        return False
    for chars in itertools.combinations(range(wild), taken):
        pos = 0
        for i, part in enumerate(parts):
            if not key.startswith(part, pos):
                break
            pos += len(part)
            if i in chars:
                if key[pos] == " ":
                    break
                pos += 1
        else:
            return True  # lengths add up, so every char of the key is spelled
    return False
