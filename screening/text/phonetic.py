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

_VOWELS = frozenset("aeiouy")


def phonetic_key(word: str, non_rhotic: bool = False) -> str:
    w = "".join(c for c in word if "a" <= c <= "z")
    n = len(w)
    out: list[str] = []
    vowel_gap = False  # a vowel since the last code: "kakao" keeps both Ks
    i = 0
    while i < n:
        c = w[i]
        nxt = w[i + 1] if i + 1 < n else ""
        step = 1
        code = ""
        if c in _VOWELS:
            if i == 0:
                code = "A"
            else:
                vowel_gap = True
                i += 1
                continue
        elif c == "p" and nxt == "h":
            code, step = "F", 2
        elif c == "c" and nxt == "k":
            code, step = "K", 2
        elif c in "cs" and nxt == "h":
            code, step = "X", 2
        elif c == "t" and nxt == "h":
            code, step = "0", 2
        elif c == "w" and nxt == "h":
            code, step = "W", 2
        elif c == "g" and nxt == "h":
            step = 2
        elif c == "q":
            code, step = "K", 2 if nxt == "u" else 1
        elif c == "x":
            code = "S" if i == 0 else "KS"
        elif c == "c":
            code = "S" if nxt in ("e", "i", "y") else "K"
        elif c == "z":
            code = "S"
        elif c in "gk":
            code = "K"
        elif c == "w":
            code = "W" if nxt in _VOWELS else ""
        elif c == "h":
            code = "H" if (i == 0 or w[i - 1] in _VOWELS) and nxt in _VOWELS else ""
        elif c == "r":
            code = "" if non_rhotic and nxt not in _VOWELS else "R"
        else:
            code = c.upper()
        if code:
            for part in code:
                if not out or out[-1] != part or vowel_gap:
                    out.append(part)
                vowel_gap = False
        i += step
    return "".join(out)
