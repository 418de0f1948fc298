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

import re

# A few C-speed passes (a per-char Python loop cost ~20 µs a key, too slow for indexing 3M marks).
# Upper case = a finished code; lower-case vowels remain until the end so they can still separate two
# equal codes ("kakao" keeps both Ks).
_DIGRAPHS = {"ph": "F", "ck": "K", "sh": "X", "ch": "X", "th": "0", "wh": "W", "gh": "", "qu": "K"}
_DIGRAPH_RE = re.compile(r"ph|ck|[cs]h|th|wh|gh|qu")
_SOFT_C = re.compile(r"c(?=[eiy])")
_SILENT = re.compile(r"w(?![aeiouy])|(?<=[^aeiouy])h|h(?![aeiouy])")
_NON_RHOTIC = re.compile(r"r(?![aeiouy])")
_CODES = str.maketrans(
    {"c": "K", "g": "K", "k": "K", "q": "K", "x": "KS", "z": "S", **{c: c.upper() for c in "bdfhjlmnprstvw"}}
)
_KEEP_LETTERS = re.compile(r"[^a-z]")
_SQUEEZE = re.compile(r"([A-Z0])\1+")
_DROP_VOWELS = str.maketrans("", "", "aeiouy")


def _digraph(m: re.Match[str]) -> str:
    return _DIGRAPHS[m.group()]


def phonetic_key(word: str, non_rhotic: bool = False) -> str:
    w = word if word.isalpha() and word.isascii() and word.islower() else _KEEP_LETTERS.sub("", word)
    if not w:
        return ""
    if w[0] == "x":
        w = "s" + w[1:]
    elif w.startswith("gh"):
        w = w[1:]  # "ghost": an initial gh is a hard g
    w = _SOFT_C.sub("S", _DIGRAPH_RE.sub(_digraph, w))
    w = _SILENT.sub("", w)
    if non_rhotic:
        w = _NON_RHOTIC.sub("", w)
    w = _SQUEEZE.sub(r"\1", w.translate(_CODES))
    if not w:
        return ""
    head = "A" if w[0] in "aeiouy" else ""
    return head + w.translate(_DROP_VOWELS)
