"""A small phonetic key (Double-Metaphone-lite) so sound-alike spellings meet: "Spotiphie" ~ "Spotify".

Consonant skeleton after English spelling rules; vowels vanish except a leading one ("A"). Examples:

    spotify, spotiphie   -> SPTF        iveco, iveko        -> AVK
    contensis, kontensiz -> KNTNS       arxiv, arksiv       -> ARKSV
    reebok, reeboc       -> RBK         pixabay, picsabay   -> PKSB
    boner, bona (non_rhotic=True) -> BN tosser, tossa        -> TS

`non_rhotic` drops an r that no vowel follows, as British speech (and spellings like "tossa") do; it
is used for offensive terms, where such spellings are a deliberate evasion.
"""

from __future__ import annotations

import operator
import re

# A few C-speed passes (a per-char Python loop cost ~20 µs a key, too slow for indexing 3M marks).
# Upper case = a finished code; lower-case vowels remain until the end so they can still separate two
# equal codes ("kakao" keeps both Ks).
_SOFT_C = re.compile(r"c(?=[eiy])")
_SILENT = re.compile(r"w(?![aeiouy])|(?<=[^aeiouy])h|h(?![aeiouy])")
_NON_RHOTIC = re.compile(r"r(?![aeiouy])")
_CODES = str.maketrans(
    {"c": "K", "g": "K", "k": "K", "q": "K", "x": "KS", "z": "S", **{c: c.upper() for c in "bdfhjlmnprstvw"}}
)
_KEEP_LETTERS = re.compile(r"[^a-z]")
_SQUEEZE = re.compile(r"([A-Z0])\1+")
_FIRST = operator.itemgetter(1)  # a C-level callback, 3-4x cheaper than a "\1" template
_DROP_VOWELS = str.maketrans("", "", "aeiouy")


def phonetic_key(word: str, non_rhotic: bool = False) -> str:
    w = word if word.isalpha() and word.isascii() and word.islower() else _KEEP_LETTERS.sub("", word)
    if not w:
        return ""
    if w[0] == "x":
        w = "s" + w[1:]
    elif w.startswith("gh"):
        w = w[1:]  # "ghost": an initial gh is a hard g
    if "h" in w or "ck" in w or "qu" in w:
        # Chained replaces equal one left-to-right pass: no digraph can overlap another (none starts
        # with h, k or u), the codes they leave are upper case, and "gh" -> "" goes last so the letters
        # it brings together are not re-read. Several times faster than a sub() with a callback.
        w = (
            w.replace("ph", "F")
            .replace("ck", "K")
            .replace("sh", "X")
            .replace("ch", "X")
            .replace("th", "0")
            .replace("wh", "W")
            .replace("qu", "K")
            .replace("gh", "")
        )
    if "c" in w:
        w = _SOFT_C.sub("S", w)
    if "w" in w or "h" in w:
        w = _SILENT.sub("", w)
    if non_rhotic and "r" in w:
        w = _NON_RHOTIC.sub("", w)
    w = _SQUEEZE.sub(_FIRST, w.translate(_CODES))
    if not w:
        return ""
    head = "A" if w[0] in "aeiouy" else ""
    return head + w.translate(_DROP_VOWELS)


_VOWELS = frozenset("aeiouy")


def key_head(key: str, word: str) -> str:
    """The part of `word`'s key that every key of `word + anything` starts with (both squeezed). Only
    the last letter of a word can read differently once another follows ("pac" + "e": K becomes S;
    "tos" + "h": S becomes X), so its code is dropped, unless the word ends in a vowel, which fixes it."""
    return key if word[-1:] in _VOWELS else key[:-1]


def key_tail(key: str) -> str:
    """The part of `word`'s key that every key of `anything + word` ends with: without its first code
    (an initial "h" or "x" reads differently after a letter: "t" + "hat", "o" + "xen"), and without the
    vowel mark and the code after it ("q" + "uh": the "u" joins the "q")."""
    return key[2:] if key[:1] == "A" else key[1:]
