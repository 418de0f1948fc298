"""Text normalisation with a map back to the customer's original character offsets.

Every finding must point at the customer's own characters, so folding never loses the link: each folded
character remembers the index of the original character it came from. Worked examples (folded, tokens):

    "Ｎｅｔｆｌｉｘ"          -> "netflix"                 NFKD folds fullwidth and math alphanumerics
    "Coca-Сola" (Cyrillic С) -> "coca-cola", [coca][cola]  TR39 confusables; "-" is a soft gap
    "s\\u200bl\\u200cu\\u200dt"  -> "slut"                    zero-width and format characters vanish
    "dîçk"                    -> "dick"                    diacritics dropped after NFKD
    "R. e. d. d. i. t"        -> [reddit]                  3+ single letters with short gaps join up
    "t~i~t.s", "s-h-*-t"      -> [tits], [sh*t]            mixed one-char separators; a mask in the run
    "βιtch", "¢ock", "ʙłøw"   -> "bitch", "cock", "blow"   look-alikes inside a Latin word; stroked letters
    "sh1t"                    -> [sh1t], variants shit/shlt leetspeak is an alternative, never forced
"""

from __future__ import annotations

import enum
import itertools
import operator
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "text"

# Trademark symbols are brand signals, read from the original text; in the folded text they separate.
SIGNAL_CHARS = frozenset("™®℠©")
LEET_SYMBOLS = "@$!*#|"
_STRIP_LEAD = "!*#|"
_STRIP_TRAIL = "|@"  # a trailing "!" or "*" may be a letter: "pak!", "whit* power"
# Gaps that can sit inside one brand or word: "Coca-Cola", "Booking.com", "McDonald's", "R_e_d_d_i_t".
SOFT_GAP_CHARS = frozenset("-._'’/‐‑")
_TOKEN_RE = re.compile(r"(?:[^\W_]|[@$!*#|])+")
# Leetspeak, one table: the letter a digit or symbol stands for. "1", "!" and "|" may be an i or an l,
# so a token has two readings (LEET_AS_I, LEET_AS_L); a mask ("*", "#") is "?", a letter not known.
LEETSPEAK = {
    "0": "o",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "*": "?",
    "#": "?",
}
LEET_I_OR_L = "1!|"
LEET_AS_I = str.maketrans({**LEETSPEAK, **dict.fromkeys(LEET_I_OR_L, "i")})
LEET_AS_L = str.maketrans({**LEETSPEAK, **dict.fromkeys(LEET_I_OR_L, "l")})
_DROP_SYMBOLS = str.maketrans("", "", LEET_SYMBOLS)
# Numbers with a unit or ordinal are numbers, not leetspeak: "40th" is not "aoth" (nor "Auth0").
_NUMBER_RE = re.compile(r"^\d+(?:st|nd|rd|th|s|am|pm|k|m|kg|g|lb|lbs|oz|cm|mm|km|ft|yo|yr|yrs|x)?$")
_ASCII_CTRL = str.maketrans(dict.fromkeys((*range(32), 127), " "))
_ASCII_LOWER = {c: chr(c).lower() for c in range(ord("A"), ord("Z") + 1)} | _ASCII_CTRL
# One non-ASCII character: texts without one take the ASCII fast paths.
NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")


class Gap(enum.IntEnum):
    """What separates a token from the one before it; windows never cross a HARD gap ("—", ",", "&")."""

    START = 0
    SPACE = 1
    SOFT = 2
    HARD = 3


class Token(NamedTuple):
    """One word of the folded text. `pos` maps each char of `text` to a folded index when the token was
    joined from separated letters ("n i k e"); None means text == folded[start:end].

    A NamedTuple, not a frozen dataclass: every text makes one per word, and a frozen dataclass takes
    ~3 us to build (each field set through object.__setattr__), a tuple a few hundred ns."""

    text: str
    start: int
    end: int
    gap: Gap
    upper_first: bool
    all_upper: bool
    camel: tuple[int, ...] = ()
    pos: tuple[int, ...] | None = None
    possessive: bool = False  # the "s" of "Coco's": never part of a name or word

    @property
    def disguised(self) -> bool:
        """Spelled letter by letter or with symbols for letters: never an innocent name."""
        return self.pos is not None or not (self.text.isalpha() or self.text.isdigit())

    def folded_index(self, i: int) -> int:
        """Folded-text index of char i of `text` (i == len(text) gives the end)."""
        if self.pos is None:
            return self.start + i
        return self.end if i >= len(self.pos) else self.pos[i]

    def variants(self) -> tuple[str, ...]:
        """The token as written (symbols dropped), then its leetspeak readings (1 as i, then as l)."""
        t = self.text.rstrip("!")  # "FRITZ!", "Bob!": for names a trailing "!" is punctuation
        if t.isalpha() or t.isdigit() or _NUMBER_RE.match(t):
            return (t,)
        out = [t.translate(_DROP_SYMBOLS)]
        if any(c.isalpha() for c in t) or any(c in LEET_SYMBOLS for c in t):
            for v in (t.translate(LEET_AS_I), t.translate(LEET_AS_L)):
                if v not in out:
                    out.append(v)
        return tuple(v for v in out if v)


@dataclass(frozen=True, slots=True)
class NormalizedText:
    original: str
    folded: str
    offsets: tuple[int, ...] | None
    tokens: tuple[Token, ...]
    has_lower: bool
    has_upper: bool

    def span(self, fstart: int, fend: int) -> tuple[int, int]:
        """Original [start, end) covering folded chars [fstart, fend)."""
        if self.offsets is None:
            return fstart, fend
        return self.offsets[fstart], self.offsets[fend - 1] + 1

    def token_span(self, first: int, last: int) -> tuple[int, int]:
        """Original span of tokens[first..last] inclusive."""
        return self.span(self.tokens[first].start, self.tokens[last].end)

    def __repr__(self) -> str:  # customer content never reaches logs
        return f"NormalizedText(<{len(self.original)} chars>, {len(self.tokens)} tokens)"


@lru_cache(maxsize=1)
def lookalikes() -> dict[str, str]:
    """Symbol or letter of another script -> the Latin letter it reads as inside a Latin word ("β" in
    "βitch", "¢" in "¢ock", "ц" in "cцm"). Only in such a word: "€5", "£20" and Greek or Cyrillic
    words keep their own reading."""
    table: dict[str, str] = {}
    for line in (DATA_DIR / "lookalikes.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            cp, target = line.split("\t")[:2]
            table[chr(int(cp, 16))] = target
    return table


@lru_cache(maxsize=1)
def _lookalike_re() -> re.Pattern[str]:
    """A look-alike next to a letter (or to another look-alike), in a word that has an ASCII letter."""
    chars = re.escape("".join(lookalikes()))
    return re.compile(rf"(?=\S*[A-Za-z])\S*?[{chars}]\S*")


def read_lookalikes(text: str) -> str:
    """The text with each look-alike that sits in a Latin word replaced by its letter, char for char
    (so offsets do not move): "βιtches" -> "bitches"; "€5 off", "£20", "καλή" are left alone."""
    table = lookalikes()
    if not any(c in table for c in set(NON_ASCII_RE.findall(text))):
        return text

    def word(m: re.Match[str]) -> str:
        w = m.group()
        out = list(w)
        for i, c in enumerate(w):
            if c in table and (
                (i > 0 and (w[i - 1].isalpha() or w[i - 1] in table))
                or (i + 1 < len(w) and (w[i + 1].isalpha() or w[i + 1] in table))
            ):
                out[i] = table[c]
        return "".join(out)

    return _lookalike_re().sub(word, text)


_LATIN_BASE_RE = re.compile(r"LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?([A-Z])(?: WITH .*)?$")


def _latin_base(c: str) -> str:
    """A Latin letter that NFKD leaves alone ("ł", "ø", "đ", "ħ", "ɢ") -> its base letter, from its
    Unicode name; "" when it has none."""
    m = _LATIN_BASE_RE.match(unicodedata.name(c, ""))
    return m.group(1).lower() if m else ""


@lru_cache(maxsize=1)
def confusables() -> dict[str, str]:
    """Non-ASCII look-alike -> ASCII letter (Cyrillic, Greek, Cherokee, ...), derived from TR39."""
    table: dict[str, str] = {}
    for line in (DATA_DIR / "confusables.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            cp, target = line.split("\t")
            table[chr(int(cp, 16))] = target
    return table


_FOLD_CACHE: dict[str, str] = {}


def fold_char(c: str) -> str:
    """One original char -> zero or more folded chars (lower-case, ASCII where a look-alike exists)."""
    hit = _FOLD_CACHE.get(c)
    if hit is not None:
        return hit
    if c in SIGNAL_CHARS:
        out = " "
    else:
        cat = unicodedata.category(c)
        if cat in ("Cf", "Mn", "Me") or (cat == "Cc" and not c.isspace()):
            out = ""
        elif c.isspace():
            out = " "
        else:
            table = confusables()
            parts = []
            for ch in unicodedata.normalize("NFKD", c):
                if unicodedata.combining(ch):
                    continue
                direct = table.get(ch)  # case matters: Greek capital Nu is "n", small nu is "v"
                if direct is not None:
                    parts.append(direct)
                    continue
                for low in ch.casefold():
                    parts.append(table.get(low) or (low if low.isascii() else _latin_base(low) or low))
            out = "".join(parts)
    if len(_FOLD_CACHE) < 100_000:  # bounded: an attacker can send every code point
        _FOLD_CACHE[c] = out
    return out


def fold(text: str) -> tuple[str, tuple[int, ...] | None]:
    """Folded text and, unless it is the identity, the original index of every folded char. ASCII is
    lower-cased and its control characters read as spaces on every path."""
    if text.isascii():
        return text.lower().translate(_ASCII_CTRL), None
    text = read_lookalikes(text)
    table = {ord(c): fold_char(c) for c in set(NON_ASCII_RE.findall(text))}
    low = text.translate(_ASCII_LOWER)
    # Most non-ASCII text folds char for char ("—", "é", Cyrillic "а") or drops a char (zero-width
    # spaces): one more C-level translation, and the offsets, if any, from C-level iterators.
    if all(len(f) <= 1 for f in table.values()):
        folded = low.translate(table)
        if len(folded) == len(text):
            return folded, None  # every folded index is the original one
        dropped = {chr(o) for o, f in table.items() if not f}
        kept = map(operator.not_, map(dropped.__contains__, text))
        return folded, tuple(itertools.compress(range(len(text)), kept))
    chars: list[str] = []
    offsets: list[int] = []
    for i, c in enumerate(low):  # a char that folds to several ("ß" -> "ss") needs the loop
        f = c if c.isascii() else table[ord(c)]
        if len(f) == 1:
            chars.append(f)
            offsets.append(i)
        elif f:
            chars.extend(f)
            offsets.extend([i] * len(f))
    return "".join(chars), tuple(offsets)


_RUNS_RE = re.compile(r"(.)\1+", re.DOTALL)
_FIRST = operator.itemgetter(1)  # a C-level callback: a "\1" template costs 3-4x more in CPython 3.11


def squeeze(s: str) -> str:
    """Collapse runs of one letter: "sllllut" -> "slut", "jizz" -> "jiz" (terms are squeezed too)."""
    return _RUNS_RE.sub(_FIRST, s) if len(s) > 1 else s


def squeeze_map(s: str) -> tuple[str, list[int]]:
    """squeeze() plus, for each kept char, its index in s (where it differs from the char before it,
    found by C-level iterators)."""
    if not s:
        return s, []
    return squeeze(s), [0, *itertools.compress(range(1, len(s)), map(operator.ne, s[1:], s))]


def _gap(between: str) -> Gap:
    if not between or between.isspace():
        return Gap.SPACE
    soft = 0
    for c in between:
        if c in SOFT_GAP_CHARS:
            soft += 1
        elif not c.isspace():
            return Gap.HARD
    return Gap.SOFT if soft <= 1 and len(between) <= 3 else Gap.HARD


_CAMEL_RE = re.compile(r"(?<=[a-z])[A-Z]")
_MASK_TOKENS = frozenset("*#@$")
# One-char separators that a run of spelled-out letters may mix: "t~i~t.s", "c_u-n.t".
_MIXED_JOINERS = frozenset("-._~/|+:=")


def normalize(text: str) -> NormalizedText:
    folded, offsets = fold(text)
    raw: list[Token] = []
    prev_end = 0
    singles = False
    # Per word, every check runs at C speed where it can (map over str methods, not generators): a text
    # that reaches this full path costs mostly this loop.
    for m in _TOKEN_RE.finditer(folded):
        s, e = m.span()
        word = m.group()
        if len(word) == 1 and word in _MASK_TOKENS:
            if raw and len(raw[-1].text) == 1:
                # A lone mask after a lone letter may stand for a letter of a spelled-out word
                # ("s-h-*-t"); it is kept only if it joins such a run (_join_single_letters).
                raw.append(Token(word, s, e, _gap(folded[prev_end:s]), False, False))
                prev_end = e
                singles = True
            continue
        if word[0] in _STRIP_LEAD or word[-1] in _STRIP_TRAIL:
            while s < e and folded[s] in _STRIP_LEAD:
                s += 1
            while e > s and folded[e - 1] in _STRIP_TRAIL:
                e -= 1
            word = folded[s:e]
        if not word.isalnum() and not any(map(str.isalnum, word)):
            continue
        between = folded[prev_end:s]
        if not raw:
            gap = Gap.START
        elif raw[-1].text[-1] == "!":
            gap = Gap.HARD  # "Hi Bob! Happy ...": the "!" stayed in the token but still ends a phrase
        else:
            gap = Gap.SPACE if between == " " else _gap(between)
        # The original characters behind the token decide its case (fullwidth "Ｎ" is upper too).
        orig = text[s:e] if offsets is None else "".join(map(text.__getitem__, offsets[s:e]))
        if orig.islower() or not any(map(str.isalpha, orig)):
            upper_first = all_upper = False
            camel: tuple[int, ...] = ()
        else:
            first = orig[0] if orig[0].isalpha() else next(c for c in orig if c.isalpha())
            upper_first = first.isupper()
            all_upper = not any(map(str.islower, orig))
            if all_upper or len(orig) != len(word) or orig[1:].islower():
                camel = ()  # "Happy": no upper case after a lower one
            elif orig.isascii():
                camel = tuple(x.start() for x in _CAMEL_RE.finditer(orig))
            else:
                camel = tuple(i for i in range(1, len(orig)) if orig[i].isupper() and orig[i - 1].islower())
        possessive = word == "s" and between in ("'", "’")
        singles = singles or len(word) == 1
        # Positional: twice as fast as keywords.
        raw.append(Token(word, s, e, gap, upper_first, all_upper, camel, None, possessive))
        prev_end = e
    tokens = _join_single_letters(raw, folded) if singles else raw
    has_lower = not text.isupper() and any(map(str.islower, text))
    has_upper = not text.islower() and any(map(str.isupper, text))
    return NormalizedText(text, folded, offsets, tuple(tokens), has_lower, has_upper)


def _join_single_letters(raw: list[Token], folded: str) -> list[Token]:
    """ "f.u.c.k", "n i k e", "N-I-K-E", "R_y_a_n", "t~i~t.s", "s-h-*-t": a run of 3+ one-char tokens
    becomes one token. A lone mask that joins no run is dropped, as any other symbol is."""
    out: list[Token] = []
    i = 0
    n = len(raw)
    while i < n:
        j = i
        if len(raw[i].text) == 1 and not raw[i].possessive and i + 1 < n:
            # One separator style per run: in "R. e. d. d. i. t x Betty" the "x" is a word, not a letter;
            # only runs cut by one-char joiners may mix them ("t~i~t.s").
            sep = folded[raw[i].end : raw[i + 1].start]
            mixed = len(sep) == 1 and sep in _MIXED_JOINERS
            while j + 1 < n and len(raw[j + 1].text) == 1 and len(sep) <= 3:
                between = folded[raw[j].end : raw[j + 1].start]
                if between == sep and raw[j + 1].gap in (Gap.SPACE, Gap.SOFT):
                    j += 1
                elif mixed and len(between) == 1 and between in _MIXED_JOINERS:
                    j += 1
                else:
                    break
        while j > i and raw[j].text in _MASK_TOKENS:
            j -= 1  # a run ends with a letter
        if (
            j - i >= 2
            and j + 1 < n
            and len(raw[j + 1].text) <= 2
            and raw[j + 1].text not in _MASK_TOKENS
            and folded[raw[j].end : raw[j + 1].start] == sep
        ):
            j += 1  # a spelled-out word's ending: "t. r. a. n. n. ys"
        if j - i >= 2 and raw[i].text not in _MASK_TOKENS:
            run = raw[i : j + 1]
            out.append(
                Token(
                    "".join(t.text for t in run),
                    run[0].start,
                    run[-1].end,
                    run[0].gap,
                    upper_first=run[0].upper_first,
                    all_upper=all(t.all_upper for t in run if t.text not in _MASK_TOKENS),
                    pos=tuple(t.start for t in run),
                )
            )
            i = j + 1
        else:
            if raw[i].text not in _MASK_TOKENS:
                out.append(raw[i])
            i += 1
    return out
