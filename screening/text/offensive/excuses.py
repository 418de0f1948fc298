"""When a whole-word hit is no offence: the word is used as a person's name ("Dick Whittington", "Mrs
Weiner", "Moby Dick"), or it sits inside an allow-listed phrase ("pussy willow")."""

from __future__ import annotations

from screening.text.name_cues import FAMILY_WORDS, HONORIFICS
from screening.text.normalize import Gap, Token, squeeze
from screening.text.offensive.index import TermIndex

# After a surname, the words that show it is one: the family words, and "and" ("Hooker and Sons").
_AFTER_SURNAME = FAMILY_WORDS | {"and"}


class Excuses:
    def __init__(self, index: TermIndex) -> None:
        self.index = index
        self.lexicon = index.lexicon

    def excused(self, toks: tuple[Token, ...], term: int, first: int, last: int) -> bool:
        """The hit of `term` on tokens first..last (inclusive), a whole-word hit, is excused."""
        if self.index.allow_phrases and self._allowed(toks, first, last):
            return True
        return term in self.index.name_terms and first == last and self._name_use(toks, first)

    def _allowed(self, toks: tuple[Token, ...], first: int, last: int) -> bool:
        """Some allow-listed phrase covers the hit's words ("pussy willow")."""
        phrases, longest = self.index.allow_phrases, self.index.allow_max
        lo = max(0, first - longest + 1)
        hi = min(len(toks), first + longest)
        words = squeeze("\x00".join(t.text for t in toks[lo:hi])).split("\x00")  # only the window
        for i in range(lo, first + 1):
            for j in range(max(i, last), min(hi, i + longest)):
                if tuple(words[i - lo : j + 1 - lo]) in phrases:
                    return True
        return False

    def _name_use(self, toks: tuple[Token, ...], k: int) -> bool:
        """A capitalised term that is also a name, used as one: "Dick Whittington", "Mrs Weiner",
        "Moby Dick"; not "Big Dick", not "you dick", never a disguised spelling ("D i c k")."""
        tok = toks[k]
        if tok.disguised or not tok.upper_first:
            return False
        if k > 0 and toks[k - 1].text in HONORIFICS:
            return True
        if k + 1 < len(toks) and toks[k + 1].text in _AFTER_SURNAME and self.lexicon.is_surname(tok.text):
            return True  # "the Hooker family", "the Boner house"
        if k + 1 < len(toks) and toks[k + 1].gap == Gap.SPACE and toks[k + 1].upper_first:
            after = toks[k + 1].text  # "Dick Moody": a first name followed by a surname
            if after.isalpha() and self.lexicon.is_surname(after):
                return True
        return self.name_context(toks, k)

    def name_context(self, toks: tuple[Token, ...], k: int) -> bool:
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
