"""Trademark matching policy: which windows of a text to look up, which candidates to accept.

Precision comes from three rules, none tied to any particular mark:
  * only words no lexicon knows are read fuzzily: "Netflic", "Spotiphie" yes; "Megan", "Aiden", "modern"
    (known words and names) never become "MEGA", "Adyen", "Modin";
  * edit distance is length-aware: marks of 4-5 letters accept a swap or substitution but not an added
    or dropped letter ("Huber" is not "Uber"), 6-10 letters one edit, longer marks two;
  * ordinary-word marks need a brand signal (™ ®, "logo", "official … merch", "Inc.", "HQ", "store"),
    and phrases of ordinary words used across several words must be written like a name (capitalised).
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from screening.findings import Finding, FindingKind, Severity
from screening.text.lexicon import Lexicon
from screening.text.lists import Distinctiveness, is_everyday_phrase, mark_words
from screening.text.name_cues import FAMILY_WORDS, HONORIFICS, NAME_SLOT_WORDS
from screening.text.normalize import SIGNAL_CHARS, Gap, NormalizedText, Token
from screening.text.phonetic import phonetic_key
from screening.text.trademark import MarkIndex

_NEXT_SIGNALS = frozenset(
    {
        "logo",
        "logos",
        "hq",
        "inc",
        "ltd",
        "llc",
        "corp",
        "corporation",
        "store",
        "merch",
        "merchandise",
        "brand",
        "branded",
        "gmbh",
        "plc",
        "tm",
        "headquarters",
        "trademark",
    }
)
_PREV_SIGNALS = frozenset(
    {"official", "genuine", "authentic", "licensed", "licenced", "sponsored", "powered", "presented"}
)
_MAX_KEY = 48


@dataclass(frozen=True, slots=True)
class _Window:
    first: int
    last: int
    keys: tuple[str, ...]
    fuzzy: bool  # contains a word no lexicon knows: read it as a possible misspelling
    compound: bool  # several words joined only by "-" "." "'" ("Coca-Cole"): spelled as one name
    masked: bool  # "*" or "#" stood for letters: its sound is unknown


@dataclass(frozen=True, slots=True)
class _Match:
    mark: int
    first: int
    last: int
    score: float
    distance: int


def _allowed_distance(d: int, mark: str, text: str) -> bool:
    if d == 0:
        return True
    mark_len = len(mark)
    if mark_len <= 3:
        return False
    if mark_len <= 5:  # a swap or substitution, not at the first letter: "Telsa" but not "Fossa"/"Tossa"
        return d == 1 and len(text) == mark_len and text[0] == mark[0]
    if mark_len <= 10:
        return d <= 1
    return d <= 2


class BrandMatcher:
    def __init__(self, index: MarkIndex, lexicon: Lexicon) -> None:
        self.index = index
        self.lexicon = lexicon

    def find(self, nt: NormalizedText, explained: set[int] | frozenset[int] = frozenset()) -> list[Finding]:
        """`explained`: token indices already matched as offensive terms; they are read exactly only."""
        toks = nt.tokens
        if not toks or len(self.index) == 0:
            return []
        windows = self._windows(toks, explained)
        exact_q: list[str] = []
        exact_w: list[int] = []
        edit_q: list[str] = []
        edit_w: list[int] = []
        phon_q: list[str] = []
        phon_w: list[int] = []
        for w_i, w in enumerate(windows):
            multi = w.last > w.first
            for key in w.keys:
                exact_q.append(key)
                exact_w.append(w_i)
                if len(key) >= 5 and key.endswith("s"):
                    exact_q.append(key[:-1])  # plural or possessive without apostrophe: "WhatsApps"
                    exact_w.append(w_i)
                    if len(key) >= 6 and key.endswith("es"):
                        exact_q.append(key[:-2])  # "RetroArches", "Ionoses"
                        exact_w.append(w_i)
                if (w.fuzzy or multi) and len(key) >= 4:
                    edit_q.append(key)  # the text lacks one letter of the mark
                    edit_w.append(w_i)
                if (w.fuzzy or w.compound) and len(key) >= 5:
                    for p in range(len(key)):
                        d = key[:p] + key[p + 1 :]
                        exact_q.append(d)  # the text has one letter too many
                        exact_w.append(w_i)
                        edit_q.append(d)  # one letter changed or swapped
                        edit_w.append(w_i)
                if w.fuzzy and not w.masked and len(key) >= 4:
                    phon_q.append(phonetic_key(key))
                    phon_w.append(w_i)
        ex, ed, ph = self.index.lookup(exact_q, edit_q, phon_q)
        cands: dict[int, set[int]] = {}
        phon_cands: dict[int, set[int]] = {}
        for res, wins, target in ((ex, exact_w, cands), (ed, edit_w, cands), (ph, phon_w, phon_cands)):
            for q_i, found in enumerate(res):
                if found:
                    target.setdefault(wins[q_i], set()).update(found)
        matches: list[_Match] = []
        for pool, phonetic in ((cands, False), (phon_cands, True)):
            for w_i, marks in pool.items():
                w = windows[w_i]
                for m in marks:
                    got = self._verify(w, m, phonetic=phonetic)
                    if got is not None and self._policy(nt, toks, w, m, got.distance):
                        matches.append(got)
        return [self._finding(nt, m) for m in _resolve(matches)]

    # -- windows --------------------------------------------------------------------------------

    def _windows(self, toks: tuple[Token, ...], explained: set[int] | frozenset[int]) -> list[_Window]:
        lex = self.lexicon
        variants = [t.variants() for t in toks]
        # One word alone is read loosely only if no lexicon knows it (names like "Porsha" stay names);
        # inside a phrase, rarer words ("Beatz bie dre") may be misspellings too.
        unknown = [
            not any(v.isalpha() and lex.is_known(v) for v in vs) and not vs[0].isdigit() for vs in variants
        ]
        loose = [
            not any(
                v.isalpha() and (lex.is_dictionary(v) or lex.is_first_name(v) or lex.is_common(v, 3.0))
                for v in vs
            )
            and not vs[0].isdigit()
            for vs in variants
        ]
        masked = [any(c in "*#" for c in t.text) for t in toks]
        nv = max(len(vs) for vs in variants)
        soft = [t.gap == Gap.SOFT for t in toks]
        stop = [t.gap == Gap.HARD or t.possessive for t in toks]
        out: list[_Window] = []
        limit = self.index.max_words
        n = len(toks)
        for i in range(n):
            if toks[i].possessive:
                continue
            acc = [""] * nv  # the window's key under each leetspeak reading, grown one word at a time
            any_loose = any_masked = any_explained = False
            compound = True
            for j in range(i, min(n, i + limit)):
                if j > i:
                    if stop[j]:
                        break
                    compound = compound and soft[j]
                vs = variants[j]
                if nv == 1:
                    acc[0] += vs[0]
                else:
                    last = len(vs) - 1
                    for v in range(nv):
                        acc[v] += vs[v if v < last else last]
                if len(acc[0]) > _MAX_KEY:
                    break
                if nv == 1 and "?" not in acc[0]:
                    keys: tuple[str, ...] = (acc[0],)
                else:
                    keys = tuple(k for k in dict.fromkeys(k.replace("?", "") for k in acc) if k)
                any_loose = any_loose or loose[j]
                any_masked = any_masked or masked[j]
                any_explained = any_explained or j in explained
                fuzzy = (unknown[i] if i == j else any_loose) and not any_explained
                out.append(_Window(i, j, keys, fuzzy, compound and j > i, any_masked))
        return out

    # -- candidates -----------------------------------------------------------------------------

    def _verify(self, w: _Window, m: int, phonetic: bool) -> _Match | None:
        mk = self.index.key(m)
        best: _Match | None = None
        for key in w.keys:
            if key == mk or (len(mk) >= 4 and (key == mk + "s" or key == mk + "es")):
                return _Match(m, w.first, w.last, 1.0, 0)
            if not (w.fuzzy or w.compound) and w.first == w.last:
                continue
            d = OSA.distance(key, mk)
            if _allowed_distance(d, mk, key):
                score = 1.0 - d / max(len(mk), len(key))
                if best is None or score > best.score:
                    best = _Match(m, w.first, w.last, round(score, 4), d)
            elif phonetic and w.fuzzy and len(mk) >= 4 and phonetic_key(key) == phonetic_key(mk):
                # Sound-alike evidence needs a real respelling: one stray letter that the edit rule
                # refused ("Tessla" for "Tesla") is not overruled here.
                ratio = fuzz.ratio(key, mk) / 100.0
                vowel_start_ok = key[0] == mk[0] or phonetic_key(mk)[:1] != "A"  # "A" is any vowel
                if ratio >= 0.6 and (d >= 2 or len(key) == len(mk)) and vowel_start_ok:
                    score = round(0.9 * ratio, 4)
                    if best is None or score > best.score:
                        best = _Match(m, w.first, w.last, score, d)
        return best

    def _policy(self, nt: NormalizedText, toks: tuple[Token, ...], w: _Window, m: int, distance: int) -> bool:
        d = self.index.distinctiveness(m)
        if d is Distinctiveness.COINED:
            return not (w.first == w.last and distance == 0 and self._name_use(nt, toks, w.first))
        multiword_mark = int(self.index.nwords[m]) > 1
        if d is Distinctiveness.ARBITRARY and multiword_mark:
            if w.first == w.last:  # "newbalance", "FontAwesome": the joined form is itself a name
                return True
            if _brand_signal(nt, toks, w.first, w.last):
                return True
            if any(_spelled_oddly(toks[k]) for k in range(w.first, w.last + 1)) or w.fuzzy:
                return True  # "Und3r Armour", "Buy Me A Cofee": a spelling nobody uses by chance
            if is_everyday_phrase(mark_words(self.index.label(m)), self.lexicon):
                return False  # "try it online", "Welcome To The Jungle": a saying, even capitalised
            return any(toks[k].upper_first for k in range(w.first, w.last + 1))
        # Dictionary word (or a one-word arbitrary mark): exactly, and only when used as a brand.
        return distance == 0 and _brand_signal(nt, toks, w.first, w.last)

    def _name_use(self, nt: NormalizedText, toks: tuple[Token, ...], k: int) -> bool:
        """A mark that is also a person's name, used as one: "Carolyn Chrysler", "the Bose family",
        "Erasmo & Zola", "Happy Birthday Kimi!"."""
        tok = toks[k]
        word = tok.text.rstrip("!")  # "Kimi!": the "!" stays in the token, but it ends the name
        lex = self.lexicon
        if not tok.upper_first or tok.all_upper or not word.isalpha() or not lex.is_name(word):
            return False
        for j in (k - 1, k + 1):  # "A & B", "A and B" with another first name
            if 0 <= j < len(toks) and toks[j].upper_first and lex.is_first_name(toks[j].text):
                lo, hi = (toks[j].end, tok.start) if j < k else (tok.end, toks[j].start)
                if nt.folded[lo:hi].strip() in ("&", "and", "+"):
                    return True
        if lex.is_first_name(word) and self._name_slot(toks, k):
            return True
        if not lex.is_surname(word):
            return False
        if k + 1 < len(toks) and toks[k + 1].text in FAMILY_WORDS:
            return True
        if k > 0 and toks[k - 1].text in HONORIFICS:
            return True
        prev = toks[k - 1] if k > 0 else None
        return (
            prev is not None
            and tok.gap == Gap.SPACE
            and prev.upper_first
            and not prev.all_upper
            and self.lexicon.is_first_name(prev.text)
        )

    def _name_slot(self, toks: tuple[Token, ...], k: int) -> bool:
        """Where personalisation puts a first name: after "Happy Birthday", "love", "for", "Baby";
        signing off after a comma or dash ("Get well soon, Kimi"); before a surname ("Porsche Council")."""
        tok = toks[k]
        if k > 0 and toks[k - 1].text in NAME_SLOT_WORDS:
            return True
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if k > 0 and tok.gap == Gap.HARD and (nxt is None or nxt.gap == Gap.HARD):
            return True
        return (
            nxt is not None
            and nxt.gap == Gap.SPACE
            and nxt.upper_first
            and nxt.text.isalpha()
            and self.lexicon.is_surname(nxt.text)
        )

    def _finding(self, nt: NormalizedText, m: _Match) -> Finding:
        d = self.index.distinctiveness(m.mark)
        severity = (
            Severity.BLOCK
            if d is Distinctiveness.COINED and m.distance == 0 and m.score >= 1.0
            else (Severity.REVIEW)
        )
        return Finding(
            kind=FindingKind.TRADEMARK,
            list_ref=self.index.list_ref_of(m.mark),
            entry=self.index.mark_id(m.mark),
            score=m.score,
            severity=severity,
            span=_span(nt, m.first, m.last),
            distance=m.distance,
            label=self.index.label(m.mark),
            register=self.index.register_info(m.mark),
        )


def _span(nt: NormalizedText, first: int, last: int) -> tuple[int, int]:
    """The words' original span, without a trailing "!" ("FRITZ!" keeps it as written in the list)."""
    tok = nt.tokens[last]
    end = tok.end
    if tok.pos is None:
        end -= len(tok.text) - len(tok.text.rstrip("!"))
    return nt.span(nt.tokens[first].start, end)


def _spelled_oddly(tok: Token) -> bool:
    """Spelled letter by letter or with symbols for letters (a trailing "!" is punctuation)."""
    return tok.pos is not None or not (tok.text.rstrip("!").isalpha() or tok.text.isdigit())


def _brand_signal(nt: NormalizedText, toks: tuple[Token, ...], first: int, last: int) -> bool:
    """™/® right after the mark, or a brand word next to it: "Keeper® merch", "Monica HQ", "Lydia Inc."."""
    _, end = nt.token_span(first, last)
    rest = nt.original[end : end + 4].lstrip()
    if rest[:1] in SIGNAL_CHARS:
        return True
    for k in (last + 1, last + 2):
        if k < len(toks) and toks[k].text in _NEXT_SIGNALS:
            return True
    return any(k >= 0 and toks[k].text in _PREV_SIGNALS for k in (first - 1, first - 2))


def _resolve(matches: list[_Match]) -> list[_Match]:
    """Best match per window; then drop matches whose words lie inside a longer match
    ("PlayStation 5" wins over "PlayStation", "Git for Windows" over "Git")."""
    best: dict[tuple[int, int], list[_Match]] = {}
    for m in matches:
        cur = best.get((m.first, m.last))
        if cur is None or m.score > cur[0].score:
            best[(m.first, m.last)] = [m]
        elif m.score == cur[0].score and all(c.mark != m.mark for c in cur):
            cur.append(m)
    ranges = sorted(best, key=lambda r: (-(r[1] - r[0]), r[0]))
    kept: list[tuple[int, int]] = []
    out: list[_Match] = []
    for r in ranges:
        if any(k[0] <= r[0] and r[1] <= k[1] for k in kept):
            continue
        kept.append(r)
        out.extend(best[r])
    return sorted(out, key=lambda m: (m.first, m.last))
