"""English lexicon: word frequencies, dictionary words and person names, loaded from shipped data.

Used to decide what is an ordinary word (no fuzzy matching, dictionary-word marks) and what is a name
(first names and surnames resemble brands and terms: "Porsha", "Dick Whittington").
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from screening.text.normalize import squeeze
from screening.text.phonetic import phonetic_key

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "text"

_DICT = 1
_FIRST = 2
_SURNAME = 4
_COMMON_FIRST = 8
_SHIFT = 4


def sound_key(word: str) -> str:
    """The offensive matcher's sound-alike key: non-rhotic phonetic key of the squeezed word."""
    return phonetic_key(squeeze(word), non_rhotic=True)


def _rare(code: int, limit: float) -> bool:
    """Neither a dictionary word nor a first name, and rarer than limit (zipf x 10)."""
    return not code & (_DICT | _FIRST) and (code >> _SHIFT) < limit


@dataclass(frozen=True, slots=True)
class Lexicon:
    """word -> zipf*10 << 4 | flags. One dict keeps ~180k words in ~20 MB and one lookup per question.
    `sounds`: word -> sound_key(word) or "-", shipped precomputed (a key costs ~3 us; the offensive matcher
    asks for thousands of rare words' keys)."""

    entries: dict[str, int]
    sounds: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Lines of "word code [sound]" (code = zipf*10 << 4 | flags); one split, ~0.2 s for 180k words."""
        with gzip.open(path, "rt", encoding="utf-8") as f:
            first = f.readline()
            parts = (first + f.read()).split()
        if len(first.split()) == 2:
            return cls(dict(zip(parts[0::2], map(int, parts[1::2]), strict=True)))
        words = parts[0::3]
        return cls(
            dict(zip(words, map(int, parts[1::3]), strict=True)), dict(zip(words, parts[2::3], strict=True))
        )

    def sound(self, word: str) -> str:
        """sound_key(word), from the shipped keys when the word has one ("-" is the empty key)."""
        key = self.sounds.get(word)
        if key is None:
            return sound_key(word)
        return key if key != "-" else ""

    def zipf(self, word: str) -> float:
        """Zipf frequency (log10 per billion words); 0 for unknown words."""
        return (self.entries.get(word, 0) >> _SHIFT) / 10.0

    def is_dictionary(self, word: str) -> bool:
        """An ordinary lower-case English word (SCOWL), whatever its frequency."""
        return bool(self.entries.get(word, 0) & _DICT)

    def is_first_name(self, word: str) -> bool:
        return bool(self.entries.get(word, 0) & _FIRST)

    def is_common_first_name(self, word: str) -> bool:
        """At least 5 in 100,000 people have it (US Census 1990): Ray, Fritz; not Porsche, Royce."""
        return bool(self.entries.get(word, 0) & _COMMON_FIRST)

    def is_rare_unknown(self, word: str, max_zipf: float) -> bool:
        """Neither a dictionary word nor a first name, and rarer than max_zipf: a word that may be a
        disguised spelling (one lookup: this is asked of every word of every text)."""
        return _rare(self.entries.get(word, 0), max_zipf * 10)

    def rare_unknown_words(self, max_zipf: float, min_len: int = 1) -> set[str]:
        """Every word of all letters for which is_rare_unknown holds, in one pass."""
        limit = max_zipf * 10
        return {
            w for w, code in self.entries.items() if _rare(code, limit) and len(w) >= min_len and w.isalpha()
        }

    def is_surname(self, word: str) -> bool:
        return bool(self.entries.get(word, 0) & _SURNAME)

    def is_name(self, word: str) -> bool:
        return bool(self.entries.get(word, 0) & (_FIRST | _SURNAME))

    def is_known(self, word: str, min_zipf: float = 1.8) -> bool:
        """Any word people write often enough, or a dictionary word or a name: never fuzzy-matched."""
        code = self.entries.get(word, 0)
        return bool(code & 15) or (code >> _SHIFT) >= min_zipf * 10

    def is_common(self, word: str, min_zipf: float = 3.0) -> bool:
        """A frequent word: the building blocks of joined-up slogans ("squad", "queen", "king")."""
        return (self.entries.get(word, 0) >> _SHIFT) >= min_zipf * 10


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return Lexicon.load(DATA_DIR / "lexicon_en.txt.gz")
