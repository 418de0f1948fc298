"""English lexicon: word frequencies, dictionary words and person names, loaded from shipped data.

Used to decide what is an ordinary word (no fuzzy matching, dictionary-word marks) and what is a name
(first names and surnames resemble brands and terms: "Porsha", "Dick Whittington").
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "text"

_DICT = 1
_FIRST = 2
_SURNAME = 4
_COMMON_FIRST = 8
_SHIFT = 4


@dataclass(frozen=True, slots=True)
class Lexicon:
    """word -> zipf*10 << 4 | flags. One dict keeps ~180k words in ~20 MB and one lookup per question."""

    entries: dict[str, int]

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Lines of "word code" (code = zipf*10 << 4 | flags); one split, ~0.1 s for 180k words."""
        with gzip.open(path, "rt", encoding="utf-8") as f:
            parts = f.read().split()
        return cls(dict(zip(parts[0::2], map(int, parts[1::2]), strict=True)))

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
        code = self.entries.get(word, 0)
        return not code & (_DICT | _FIRST) and (code >> _SHIFT) < max_zipf * 10

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
