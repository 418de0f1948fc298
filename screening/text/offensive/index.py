"""The term list compiled once, and the word rules that both the quick filter and the full matcher apply.

Everything a matcher needs from the terms is built here, at start-up, and only read afterwards: the
automata over squeezed keys, each term's letter runs, the sound-alike targets and the pair filter, the
allow-listed phrases. The rules the two paths share (what a word no lexicon knows may hide, which
words are read as sound-alikes, how a masked or joined word spells a term) are methods here, so the
quick filter's permissive reading and the full matcher's exact one cannot drift apart.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import NamedTuple

import ahocorasick
from rapidfuzz import fuzz

from screening.text.lexicon import Lexicon, sound_key
from screening.text.lists import AllowList, TermEntry, TermList, mark_words
from screening.text.normalize import squeeze

# Endings that keep a term the same word: "bitchs", "sluts", "fucked", "fuckers", "wanking".
INFLECTIONS = frozenset({"s", "es", "ed", "er", "ers", "in", "ing", "z"})
# A term shorter than this (squeezed) is inside everything ("as"): it counts as a whole word only.
MIN_HIDDEN_TERM = 3
# A token known this well is a word in its own right, so it is not a disguised term ("kock" 2.4 is a
# surname but also a common disguise, so the bar is higher than for brands).
FUZZY_KNOWN_ZIPF = 3.3
# How many letters a sound-alike may be longer or shorter than its target (squeezed).
SOUND_ALIKE_SLACK = 3
_RUN_RE = re.compile(r"(.)\1*")
_DROP_VOWELS = str.maketrans("", "", "aeiou")
# A term spelled without its vowels must keep this many letters to mean anything ("sht", not "ss").
MIN_SKELETON = 3
MIN_SWAPPED = 4  # "tits" -> "ttis"; three letters swapped are too often another word
# "v" for "u" where a vowel belongs ("kvnt", "anilingvs"): read back as "u" between consonants.
_V_AS_U = re.compile(r"(?<=[^aeiouy])v(?=[^aeiouy]|$)")


def skeleton(word: str) -> str:
    """The word squeezed, without the vowels after its first letter: "shit" -> "sht", "masturbation" ->
    "mstrbtn", "asshole" -> "ashl". What is left when a writer drops vowels and doubled letters."""
    sq = squeeze(word)
    return squeeze(sq[:1] + sq[1:].translate(_DROP_VOWELS))


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(c in it for c in short)


class TermKey(NamedTuple):
    """What the automata hold for a squeezed key ("white power", "jiz"): its length, and the terms
    (indices into the list) that squeeze to it."""

    length: int
    terms: tuple[int, ...]


class SoundAlike(NamedTuple):
    term: int
    score: float


@dataclass(frozen=True, slots=True)
class PairFilter:
    """Which sound-alike targets of several words a pair of words could be, one bit per target: those
    whose keys start with a given key head, end with a given key tail, and whose length is within
    the sound-alike slack of a given squeezed length. A pair goes on to the sound-alike test only if
    one target has all three (an AND of three ints)."""

    heads: dict[str, int]
    tails: dict[str, int]
    lengths: dict[int, int]

    def may_sound(self, head_bits: int, tail_bits: int, length: int) -> bool:
        """Some target of several words could be the joined pair's sound-alike: its key starts with the
        first word's key_head, ends with the second's key_tail (so it holds for every joined key, see
        phonetic.key_head), and its length is within tolerance. Refuses nearly every pair before any
        key of the pair is computed."""
        return bool(head_bits & tail_bits & self.lengths.get(length, 0))


class TermIndex:
    """A term list and an allow-list, compiled for matching. Built once per list; only read after.

    Per term (by index into `entries`): `words` (its folded words), `runs` (the lengths of the letter
    runs of its words joined by spaces: "jizz" -> (1, 1, 2)) and `joined` (its words joined and
    squeezed, what a sound-alike is compared with)."""

    def __init__(self, terms: TermList, lexicon: Lexicon, allow: AllowList | None = None) -> None:
        self.terms = terms
        self.lexicon = lexicon
        self.entries: tuple[TermEntry, ...] = terms.entries
        self.words: list[list[str]] = [mark_words(e.term) for e in self.entries]
        self.runs: list[tuple[int, ...]] = [
            tuple(len(r.group()) for r in _RUN_RE.finditer(" ".join(w))) for w in self.words
        ]
        self.joined: list[str] = [squeeze("".join(w)) for w in self.words]

        # Exact keys: each term's words squeezed, joined by spaces.
        keys: dict[str, list[int]] = {}
        for idx, words in enumerate(self.words):
            keys.setdefault(" ".join(squeeze(w) for w in words), []).append(idx)
        self.keys: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in keys.items()}
        self.single: dict[str, tuple[int, ...]] = {k: v for k, v in self.keys.items() if " " not in k}
        self.by_len: dict[int, list[str]] = {}  # for masked words, which are matched key by key
        for k in self.keys:
            self.by_len.setdefault(len(k), []).append(k)
        self.has_terms = bool(self.keys)
        self.automaton = ahocorasick.Automaton()  # all keys
        self.multi_automaton = ahocorasick.Automaton()  # the keys of several words, for the quick path
        for key, idxs in self.keys.items():
            self.automaton.add_word(key, TermKey(len(key), idxs))
            if " " in key:
                self.multi_automaton.add_word(key, TermKey(len(key), idxs))
        if self.has_terms:
            self.automaton.make_automaton()
        if len(self.single) < len(self.keys):
            self.multi_automaton.make_automaton()
        # A term of several words needs all of them, so the quick path runs the multi-word automaton only
        # when a text holds each such term's rarest word (its trigger): "power", not "white"; "venus",
        # not "of". Common words then stay plain.
        self.multi_triggers = frozenset(
            min(key.split(), key=lambda part: (lexicon.zipf(part), part)) for key in self.keys if " " in key
        )
        # No term is a number, so a number is clear by itself (a year, a house number).
        self.numbers_clear = not any(key.isdigit() for key in self.keys)

        # Sound-alike targets: sound key of the joined, squeezed words -> terms (4+ letters, all letters).
        sounds: dict[str, list[int]] = {}
        for idx, words in enumerate(self.words):
            joined = "".join(words)
            if len(joined) >= 4 and joined.isalpha():
                sounds.setdefault(sound_key(joined), []).append(idx)
        self.sounds: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in sounds.items() if len(k) >= 2}
        self.sound_longest = max((len(self.joined[t]) for ts in self.sounds.values() for t in ts), default=0)
        self.pairs = self._pair_filter()
        # Terms of one word by their skeletons, for spellings that drop vowels ("btch", "mstrbtn").
        skeletons: dict[str, list[int]] = {}
        for idx, words in enumerate(self.words):
            if len(words) == 1 and words[0].isalpha():
                sk = skeleton(words[0])
                if len(sk) >= MIN_SKELETON and sk != self.joined[idx]:
                    skeletons.setdefault(sk, []).append(idx)
        self.skeletons: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in skeletons.items()}
        # ... and by their spellings with two neighbouring letters swapped ("btich", "rmijob"): 4+ letters,
        # the first one kept, as people read a word by its first letter.
        swapped: dict[str, int] = {}
        for idx, words in enumerate(self.words):
            j = self.joined[idx]
            if len(words) == 1 and j.isalpha() and len(j) >= MIN_SWAPPED:
                for p in range(1, len(j) - 1):
                    if j[p] != j[p + 1]:
                        swapped.setdefault(squeeze(j[:p] + j[p + 1] + j[p] + j[p + 2 :]), idx)
        self.swapped = {k: v for k, v in swapped.items() if k not in self.single}

        # Terms that are also names, which a name use excuses ("Dick Whittington").
        self.name_terms = frozenset(
            i for i, w in enumerate(self.words) if len(w) == 1 and lexicon.is_name(w[0])
        )
        self.allow_phrases = frozenset(
            tuple(squeeze(w) for w in mark_words(phrase)) for phrase in (allow.phrases if allow else ())
        )
        self.allow_max = max((len(p) for p in self.allow_phrases), default=0)

    def _pair_filter(self) -> PairFilter:
        """Sound-alike targets for two words read as one: the terms of several words. Every key of two
        words joined starts with the first's key_head and ends with the second's key_tail, so a pair
        whose parts fit no such target is no sound-alike of a term."""
        targets = [
            (k, len(self.joined[t])) for k, ts in self.sounds.items() for t in ts if len(self.words[t]) > 1
        ]
        heads: dict[str, int] = {}
        tails: dict[str, int] = {}
        lengths: dict[int, int] = {}
        for bit, (k, length) in enumerate(targets):
            for i in range(len(k) + 1):
                heads[k[:i]] = heads.get(k[:i], 0) | 1 << bit
                tails[k[i:]] = tails.get(k[i:], 0) | 1 << bit
            for n in range(max(1, length - SOUND_ALIKE_SLACK), length + SOUND_ALIKE_SLACK + 1):
                lengths[n] = lengths.get(n, 0) | 1 << bit
        return PairFilter(heads, tails, lengths)

    # -- repeated letters -----------------------------------------------------------------------

    def runs_cover(self, term: int, word: str, m: list[int], a: int, b: int) -> bool:
        """Each letter of the hit (squeezed positions a..b of `word`, whose squeeze map is `m`) repeats
        in the word at least as often as in the term. False means a shortening: "as" for "ass"."""
        need = self.runs[term]
        if len(need) != b - a:
            return True
        for p in range(a, b):
            have = (m[p + 1] if p + 1 < len(m) else len(word)) - m[p]
            if have < need[p - a]:
                return False
        return True

    def more_repeats(self, term: int, word: str, m: list[int], a: int, b: int) -> bool:
        """Some letter of the hit repeats in the word more often than in the term ("rapping")."""
        need = self.runs[term]
        if len(need) != b - a:
            return False
        return any((m[p + 1] if p + 1 < len(m) else len(word)) - m[p] > need[p - a] for p in range(a, b))

    def may_hide(self, word: str, term_length: int) -> bool:
        """A word no lexicon knows may hide a term of `term_length` letters (squeezed), as a shortening
        ("pusy", "jiz") or inside it ("squadjizz"); a known word never does ("as", "cockpit")."""
        return term_length >= MIN_HIDDEN_TERM and not self.lexicon.is_known(word)

    # -- sound-alikes ---------------------------------------------------------------------------

    def is_sound_alike_candidate(self, word: str) -> bool:
        """A word that may be a deliberate misspelling: 3+ letters, and no dictionary word, no first
        name, rarer than FUZZY_KNOWN_ZIPF (one lookup)."""
        return len(word) >= 3 and word.isalpha() and self.lexicon.is_rare_unknown(word, FUZZY_KNOWN_ZIPF)

    def sound_alike_candidates(self) -> set[str]:
        """Every lexicon word for which is_sound_alike_candidate holds, in one pass."""
        return self.lexicon.rare_unknown_words(FUZZY_KNOWN_ZIPF, min_len=3)

    def sound_alike(self, word: str, *, pair: bool, key: str | None = None) -> SoundAlike | None:
        """The term `word` sounds like, if any. `pair`: the word is two words read as one, so only terms
        of several words are its targets (otherwise only terms of one). `key`: sound_key(word), when the
        caller has it already."""
        sq = squeeze(word)
        if len(sq) > self.sound_longest + SOUND_ALIKE_SLACK:  # longer than any target allows (below)
            return None
        if key is None:
            key = sound_key(word)
        if len(word) < 4 and len(key) < 3:  # "dak" is not "darkie"; "mlf" (MLF) may be "milf"
            return None
        for term in self.sounds.get(key, ()):
            if (len(self.words[term]) > 1) != pair:
                continue
            target = self.joined[term]
            # The key already fixes the first sound; a leading vowel ("A") stands for any vowel.
            if abs(len(target) - len(sq)) > SOUND_ALIKE_SLACK or (key[0] == "A" and sq[0] != target[0]):
                continue
            ratio = fuzz.ratio(sq, target) / 100.0
            # A loose resemblance is enough only for a word no corpus has seen ("tossa"); a rare
            # real word ("beanie", "Conley") must be a close one.
            if ratio >= 0.75 or (ratio >= 0.65 and self.lexicon.zipf(word) < 1.5):
                return SoundAlike(term, round(0.8 * ratio, 4))
        return None

    def dropped_letters(self, word: str) -> int | None:
        """The one-word term that `word` spells with vowels or doubled letters left out ("sht",
        "btch", "pssy", "mstrbtn"; "fcks" with an ending), if any. The word's letters must all be the
        term's, in order: "shat" has the skeleton of "shit" but is another word."""
        if not self.skeletons or len(word) < MIN_SKELETON or not word.isalpha():
            return None
        sq = squeeze(word)
        for form in (sq, sq[:-1]) if sq.endswith("s") and len(sq) > MIN_SKELETON else (sq,):
            for term in self.skeletons.get(skeleton(form), ()):
                if _is_subsequence(form, self.joined[term]):
                    return term
        return None

    def misspelled(self, word: str) -> int | None:
        """The one-word term `word` is a deliberate misspelling of, beyond what its sound key catches:
        vowels dropped ("sht", "mstrbtn"), two neighbouring letters swapped ("btich"), or "v" written
        for "u" ("kvnt"); an "s" ending is allowed. Asked only of words no lexicon knows."""
        term = self.dropped_letters(word)
        if term is not None:
            return term
        sq = squeeze(word)
        term = self.swapped.get(sq)
        if term is None and sq.endswith("s"):
            term = self.swapped.get(sq[:-1])
        if term is None and "v" in word:
            as_u = _V_AS_U.sub("u", word)
            if as_u != word:
                term = self.spelled(as_u)
                if term is None and as_u.endswith("s"):
                    term = self.spelled(as_u[:-1])
                if term is None:
                    found = self.sound_alike(as_u, pair=False)
                    term = found.term if found is not None else None
        return term

    def may_be_misspelled(self, word: str) -> bool:
        """Cheap sets-only test: misspelled(word) can only be a term if this holds (so the lexicon's
        rare words are judged at build without calling it for each)."""
        sq = squeeze(word)
        return (
            "v" in word
            or skeleton(sq) in self.skeletons
            or skeleton(sq[:-1]) in self.skeletons
            or sq in self.swapped
            or sq[:-1] in self.swapped
        )

    # -- masked and joined words ----------------------------------------------------------------

    def spelled(self, word: str) -> int | None:
        """The one-word term that `word` squeezes to."""
        idxs = self.single.get(squeeze(word))
        return idxs[0] if idxs else None

    def spelled_masked(self, pattern: str) -> int | None:
        """A term the pattern spells, "?" standing for one letter or none (after squeezing, a masked
        letter may have been a doubled one: "thre#s#me"). Only masked words reach this linear pass."""
        if pattern.count("?") > 3 or sum(c.isalpha() for c in pattern) < 2:
            return None
        pat = _squeeze_letters(pattern)
        wild = pat.count("?")
        head = pat[: pat.index("?")] if wild else pat
        for length in range(len(pat) - wild, len(pat) + 1):
            for key in self.by_len.get(length, ()):
                if key.startswith(head) and _wild_equal(pat, key):
                    return self.keys[key][0]
        return None

    def spelled_split(self, a: str, b: str) -> int | None:
        """A one-word term that two words spell when joined, one of them no word of its own: "sh it",
        "ca mgirl", "fu cking". Two real words never ("pen is", "the rapist")."""
        if self.lexicon.is_known(a) and self.lexicon.is_known(b):
            return None
        return self.spelled(a + b)

    def spelled_joined(self, a: str, b: str) -> int | None:
        """A term that two words cut by one mask-like separator spell, the separator being nothing or a
        masked letter: "r-mjob", "tr-nny"."""
        term = self.spelled(a + b)
        return term if term is not None else self.spelled_masked(a + "?" + b)


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
