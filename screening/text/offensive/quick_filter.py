"""The quick filter: clears most texts without building tokens, and sends the rest to the full matcher.

Token bookkeeping (the offset map, per-word case and gaps) is most of the full path's cost, and most
texts hold no term. `QuickFilter.quick_clear` reads plain ASCII words and applies each rule of the full
matcher in a permissive form, through the same `TermIndex` methods: any whole-word or inflected hit,
any hit inside a word no lexicon knows, any word joined by a mask-like character that spells a term,
any rare word (or pair of words) that sounds like a term sends the text on; anything it cannot read
(leetspeak, spaced-out letters, non-ASCII letters) does too. Property tests check that it never
clears what the full matcher flags.

Most words of most texts are common words judged once, at build, to need no look (`plain`), so one set
difference at C speed leaves about two words per text to look at.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from typing import NamedTuple

from screening.text.normalize import (
    LEET_SYMBOLS,
    NON_ASCII_RE,
    SOFT_GAP_CHARS,
    fold_char,
    lookalikes,
    squeeze,
    squeeze_map,
)
from screening.text.offensive.index import INFLECTIONS, TermIndex
from screening.text.phonetic import key_head, key_tail

_WORD_RE = re.compile(r"[a-z0-9]+")
# Anything the quick path cannot judge: leet symbols or digits touching letters, "!" before a letter,
# or single characters in a row ("f u c k"). Two searches: one alternation of both is twice as slow.
_SUSPECT_RE = re.compile(r"[a-z][@$*#|0-9]|[@$*#|0-9!][a-z]")
_SYMBOL_RE = re.compile(f"[{re.escape(LEET_SYMBOLS)}]")  # one class, far cheaper than the two-sided one
_SINGLES_RE = re.compile(r"(?:^|[^a-z0-9])[a-z0-9][^a-z0-9]{1,3}[a-z0-9](?:[^a-z0-9]|$)")
_BANG_RE = re.compile(r"([a-z]+)!")
# Two words joined by one mask-like character, a soft gap ("r-mjob", "tr-nny"); a lone "s" after it is an
# ending, not a word ("Coco's", "A-s").
_SOFT = f"[{re.escape(''.join(sorted(SOFT_GAP_CHARS)))}]"
_JOINT_RE = re.compile(rf"(?<![a-z])(?=([a-z]+){_SOFT}(?!s(?![a-z]))([a-z]+))")
_JOINT_HINT_RE = re.compile(rf"[a-z]{_SOFT}[a-z]")  # cheap: most texts have no such joint at all
# Non-ASCII character -> what the quick path reads in its place ("" = it cannot judge the text).
_SEPARATOR_CACHE: dict[str, str] = {}
# Mask-like joints keep their ASCII kin, so the quick path still sees "r’mjob" as two joined words.
_JOINERS = {"’": "'", "‐": "-", "‑": "-"}


class WordInfo(NamedTuple):
    """What the quick filter knows of a word."""

    squeezed: str
    clear: bool  # nothing inside this word alone can be a term
    rare: bool  # a sound-alike candidate, so it takes part in the pair test
    key: str | None  # its sound key, if judging it needed one


class KeyParts(NamedTuple):
    """A word's part in the pair filter: the targets whose keys start with its key_head, those whose
    keys end with its key_tail, and its squeezed length."""

    head: int
    tail: int
    length: int


class QuickFilter:
    """The word memos only gain whole entries (single dict and set operations, atomic under the GIL), so
    threads may share one filter.

    `plain`: words the filter passes over unseen in any text: known (so no sound-alike test), all
    letters or all digits, no term inside, no trigger of a term of several words. `rare_clear`: rare
    words that are clear on their own (they still take part in the pair test)."""

    def __init__(self, index: TermIndex) -> None:
        self.index = index
        self.lexicon = index.lexicon
        self._memo: dict[str, WordInfo] = {}  # see word_info; lexicon words only
        self._parts: dict[str, KeyParts] = {}  # see _key_parts; lexicon words only
        self.plain, self.rare_clear = self._prejudge()

    def quick_clear(self, text: str) -> bool:
        """True when the text surely holds no term. The scans for symbols, single letters and joined
        words run only when a cheap test says they could match."""
        index = self.index
        plain = text if text.isascii() else ascii_separators(text)
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
        rare: dict[str, str | None] = {}  # rare word -> its sound key, if known yet
        unknown: list[str] = []  # words no lexicon knows, which may be half of a split word
        is_known = self.lexicon.is_known
        multi = False
        for w in set(words).difference(self.plain):
            if not is_known(w):
                unknown.append(w)
            if w in self.rare_clear:
                rare[w] = None
                continue
            if not w.isalpha():
                if not w.isdigit():
                    return False  # letters touching digits: leetspeak ("sh1t"), which the full path reads
                if index.numbers_clear:
                    multi = multi or squeeze(w) in index.multi_triggers  # "2 girls 1 cup"
                    continue
            squeezed, clear, rare_word, key = memo(w) or self.word_info(w)
            if not clear:
                return False
            if rare_word:
                rare[w] = key
            multi = multi or squeezed in index.multi_triggers
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
                if index.spelled_joined(a, b) is not None:
                    return False
        # "sh it", "ca mgirl": a word no lexicon knows and its neighbour spell a term.
        if unknown and len(words) > 1:
            last = len(words) - 1
            for u in unknown:
                i = -1
                for _ in range(words.count(u)):
                    i = words.index(u, i + 1)
                    if (i > 0 and index.spelled(words[i - 1] + u) is not None) or (
                        i < last and index.spelled(u + words[i + 1]) is not None
                    ):
                        return False
        # Two words read as one sound-alike of a term of several words ("bal gak"), when either is rare.
        # The rare word's own key parts come first: most fit no target on their side, and then the
        # neighbour's key (a sound key and a squeeze, for a word first seen) is never computed.
        if rare and len(words) > 1 and index.pairs.lengths:
            last = len(words) - 1
            for r, key in rare.items():
                head, tail, _ = self._key_parts(r, key)
                if not (head or tail):
                    continue
                i = -1
                for _ in range(words.count(r)):  # a rare word is seldom repeated: C-level list searches
                    i = words.index(r, i + 1)
                    if (tail and i > 0 and self._pair_sounds(words[i - 1], r, rare)) or (
                        head and i < last and self._pair_sounds(r, words[i + 1], rare)
                    ):
                        return False
        return True

    # -- words ----------------------------------------------------------------------------------

    def word_info(self, w: str) -> WordInfo:
        """judge_word(w), memoised for words of the lexicon only: they are public vocabulary, and most
        of every text. A word the lexicon does not know may be a customer's name or a rare spelling; it
        is judged each time and never kept, so nothing a customer typed outlives the request in this
        process. A word that needs no further look in any text also joins `plain`."""
        info = self._memo.get(w)
        if info is not None:
            return info
        info = self.judge_word(w)
        if w in self.lexicon.entries:  # so the memo is bounded by the lexicon (and mostly prejudged)
            self._memo[w] = info
            if self._needs_no_look(w, info):
                self.plain.add(w)
        return info

    def _needs_no_look(self, w: str, info: WordInfo) -> bool:
        """A lexicon word judged so that no text needs to look at it again: it joins `plain`."""
        return (
            info.clear
            and not info.rare
            and info.squeezed not in self.index.multi_triggers
            and (w.isalpha() or w.isdigit())
        )

    def judge_word(self, w: str) -> WordInfo:
        """The word judged alone, afresh: no one-word term the full matcher might keep is in it, and, if
        it is a sound-alike candidate, it sounds like no one-word term."""
        index = self.index
        sq = squeeze(w)
        rare = index.is_sound_alike_candidate(w)
        key = self.lexicon.sound(w) if rare else None
        clear = not self._word_hit(w, sq, inside=True) and not (
            rare
            and (index.sound_alike(w, pair=False, key=key) is not None or index.misspelled(w) is not None)
        )
        return WordInfo(sq, clear, rare, key)

    def remembers(self, w: str) -> bool:
        """Anything about this word is kept in the process (memo, plain words, key parts)."""
        return w in self._memo or w in self.plain or w in self._parts

    def _prejudge(self) -> tuple[set[str], frozenset[str]]:
        """Judge the lexicon's words once, at build (~0.4 s, mostly set operations), so the first texts a
        process screens cost what later ones do. Returns `plain` and `rare_clear` (see the class). One
        automaton pass over all words at C speed finds those with a term inside; the common ones among
        them are judged one by one ("abase" holds a harmless hit), the rare ones left to word_info."""
        index, lex = self.index, self.lexicon
        words = [w for w in lex.entries if w.isalpha() or w.isdigit()]
        if not index.has_terms or not words:
            return set(words), frozenset()
        joined = squeeze(" ".join(words))  # one squeeze for all words, as no word holds a space
        squeezed = joined.split(" ")
        starts = list(itertools.accumulate(map(len, squeezed[:-1]), _after_space, initial=0))
        hit: set[int] = set()
        for end, (length, _) in index.automaton.iter(joined):  # a term of several words marks each word
            hit.update(
                range(bisect.bisect_right(starts, end - length + 1) - 1, bisect.bisect_right(starts, end))
            )
        excluded = {words[i] for i in hit}
        excluded.update(itertools.compress(words, map(index.multi_triggers.__contains__, squeezed)))
        rare = index.sound_alike_candidates()  # as judge_word's "rare"
        plain = set(words) - excluded - rare
        # The common words with a term inside ("classic", "grape", "title": ~12k, ~0.05 s) are judged
        # now rather than on first sight, as word_info would judge them: otherwise a process's first
        # texts pay for them, and the first pass over new texts ran ~10% slower than the second.
        for w in sorted(excluded - rare):
            info = self.judge_word(w)
            if self._needs_no_look(w, info):
                plain.add(w)
            else:
                self._memo[w] = info
        candidates = rare - excluded
        sounds = lex.sounds
        sounding = {w for w in candidates if (sounds.get(w) or lex.sound(w)) in index.sounds}
        rare_clear = candidates - {
            w for w in sounding if index.sound_alike(w, pair=False, key=lex.sound(w)) is not None
        }
        rare_clear -= {
            w for w in rare_clear if index.may_be_misspelled(w) and index.misspelled(w) is not None
        }
        return plain, frozenset(rare_clear)

    def _word_hit(self, raw: str, sq: str, *, inside: bool) -> bool:
        """A one-word term in this word that the full matcher might keep: the whole word or the word
        plus an inflection ("pakis"), or (`inside`) a term inside a word no lexicon knows."""
        index = self.index
        n = len(sq)
        for end, (length, idxs) in index.automaton.iter(sq):
            start = end - length + 1
            if start == 0 and (end + 1 == n or sq[end + 1 :] in INFLECTIONS):
                # The full path decides, unless it would refuse the shortening anyway ("as" for "ass",
                # "Bobs" for "boobs").
                m = squeeze_map(raw)[1]
                if any(index.runs_cover(t, raw, m, 0, end + 1) for t in idxs):
                    return True
                if index.may_hide(raw, length):
                    return True
                continue
            if inside and index.may_hide(raw, length):  # inside a longer word ("cockpit" cannot)
                return True
        return False

    def _multi_word_hit(self, squeezed: str) -> bool:
        """A term of several words ("white power") on whole words of the squeezed, space-joined text."""
        stream = " " + squeezed + " "
        for end, (length, _) in self.index.multi_automaton.iter(stream):
            # On whole words: a space (or the stream's edge) on both sides.
            if stream[end - length] == " " and stream[end + 1] == " ":
                return True
        return False

    # -- pairs ----------------------------------------------------------------------------------

    def _pair_sounds(self, a: str, b: str, keys: dict[str, str | None]) -> bool:
        """Two words read as one sound like a term of several words. `keys`: sound keys the caller
        has already."""
        if not (a.isalpha() and b.isalpha()):
            return False
        head, _, len_a = self._key_parts(a, keys.get(a))
        if not head:  # no target starts so: b's key is not needed
            return False
        _, tail, len_b = self._key_parts(b, keys.get(b))
        return self.index.pairs.may_sound(head, tail, len_a + len_b - (a[-1] == b[0])) and (
            self.index.sound_alike(a + b, pair=True) is not None
        )

    def _key_parts(self, w: str, key: str | None) -> KeyParts:
        """The word's KeyParts, kept for words of the lexicon only."""
        parts = self._parts.get(w)
        if parts is None:
            sq = squeeze(w)
            if key is None:
                key = self.lexicon.sound(w)
            pairs = self.index.pairs
            parts = KeyParts(
                pairs.heads.get(key_head(key, sq), 0), pairs.tails.get(key_tail(key), 0), len(sq)
            )
            if w in self.lexicon.entries:  # bounded by the lexicon; a customer's own word is not kept
                self._parts[w] = parts
        return parts


def ascii_separators(text: str) -> str | None:
    """The text with non-ASCII punctuation and symbols that fold to nothing but a separator ("—",
    "♥", "·") replaced by spaces; None if any other non-ASCII character is present (a letter, a
    zero-width character, a fullwidth "!"), which the full path must see."""
    out = text
    for c in set(NON_ASCII_RE.findall(text)):
        rep = _SEPARATOR_CACHE.get(c)
        if rep is None:
            folded = fold_char(c)
            separator = (
                unicodedata.category(c)[0] in "PSZ"
                and c not in lookalikes()  # "¢ock", "⊂unt": a letter inside a Latin word
                and all(not ch.isalnum() and ch not in LEET_SYMBOLS for ch in folded)
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
