"""Generate labelled text-screening sets that the matchers were not tuned on, deterministic by seed.

    .venv/bin/python scripts/make_text_sets.py --seed 1 --half held --out var/textsets/held-s1
    python /work/shared/eval/text/score.py var/textsets/held-s1/cases.jsonl \
        --cmd ".venv/bin/customization-vault screen text --format labels" --repeat 1
    ... and the same for var/textsets/held-s1/ordinary.jsonl (false alarms on ordinary texts)

Every obfuscation family is generated over the whole shipped term and mark lists, not over the dev set's
examples. Terms and marks are split into two halves by a hash of their id (`half_of`): rules are tuned
on the "tune" half only and reported on the "held" half, and on a second seed. Look-alike symbols are
split the same way, so the held half is written with symbols no rule was tuned on.

Two files, in the format of the public dev set (`{id, category, text, expected, also_ok, meta}`):
  cases.jsonl     positives per family (off_*, tm_*) and hard negatives (neg_off_*, neg_tm_*);
  ordinary.jsonl  a large corpus of ordinary personalisation texts (names, dates, wishes, quotes),
                  category neg_personalization: every flag there is a false alarm.
Names and words come from the shipped lexicon (US Census names, wordfreq frequencies, SCOWL words).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from screening.text.lexicon import default_lexicon  # noqa: E402
from screening.text.lists import (  # noqa: E402
    Distinctiveness,
    MarkList,
    TermList,
    is_everyday_phrase,
    load_marks,
    load_terms,
    mark_words,
)
from screening.text.screener import DEFAULT_MARKS, DEFAULT_TERMS  # noqa: E402
from screening.text.trademark import MarkIndex  # noqa: E402

Rng = random.Random
VOWELS = "aeiou"


def half_of(key: str) -> str:
    """'tune' or 'held', by a hash of the entry (stable across runs and machines)."""
    return "tune" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "held"


# -- look-alike symbols: letter -> symbols that read as it in a word ------------------------------
LOOKALIKES: dict[str, str] = {
    "a": "αа∂∀ąåª₳",
    "b": "βЬ฿ƀ",
    "c": "¢⊂ςс₵ç",
    "d": "∂ðđɗ",
    "e": "ε€∈∃ěєё",
    "f": "ƒſ₣",
    "g": "ɢğǥ",
    "h": "ħнћ",
    "i": "ιї¡ıɪ",
    "k": "κĸкќ",
    "l": "ℓł£ι",
    "m": "мɱ₥",
    "n": "η∩πп₦",
    "o": "θσø⊙οΘ°",
    "p": "ρþ₱р",
    "r": "ягŕ",
    "s": "§ѕ$ş",
    "t": "τ†ŧ₮т",
    "u": "μυ∪ц",
    "v": "ν√ѵ",
    "w": "ωшψ₩",
    "x": "χ×ж",
    "y": "γ¥ўу",
    "z": "ƶž",
}
MASKS = "*#@$!%"
FIRST_ORDINALS = ["18th", "21st", "30th", "40th", "50th", "60th", "65th", "70th", "80th"]

OFF_FRAMES = [
    "{name} is a {x}",
    "World's okayest {x} — {name}",
    "{x} club, est. {year}",
    "To {name}: stay {x}",
    "Happy {ordinal} you old {x}",
    "{name} + {name2} = {x}",
    "Certified {x} since {year}",
    "{x}",
    "Daddy's little {x}",
    "No {x} zone",
    "Sorry not sorry, {x}",
    "{x} of the year {year} — {name}",
]
TM_FRAMES = [
    "{name} loves {x}",
    "{x} crew {year}",
    "My first {x} — {name}",
    "Powered by {x}",
    "{name}'s {x} fan mug",
    "{x} team, {name} #{num}",
]
WISHES = [
    "Happy Birthday {name}!",
    "Happy {ordinal} Birthday, {name}",
    "With love from {name} and {name2}",
    "{name} & {name2} — {day} {month} {year}",
    "Congratulations {name}, class of {year}",
    "Best {role} ever",
    "World's best {role} — love, {name}",
    "Property of {name} {surname}",
    "The {surname} family, est. {year}",
    "Mr & Mrs {surname}, {day}.{mnum}.{year}",
    "Merry Christmas {name}",
    "Welcome home, {name}",
    "{name}'s {noun}",
    "Keep calm and {verb} on",
    "{adj} {noun} for {name}",
    "Forever {adj}, {name}",
    "In loving memory of {name} {surname}, {year1}–{year}",
    "Get well soon, {name}",
    "Thank you {name} for everything",
    "Live, laugh, {verb}",
    "{name}, you are my {noun}",
    "Good vibes only — {name}",
    "Happy anniversary {name} and {name2}",
    "Team {surname} {year}",
    "{city} {year}",
    "Dr {name} {surname}, PhD",
    "{name} the {adj} {noun}",
    "Just married — {name} & {name2}",
    "Baby {name}, born {day} {month} {year}",
    "Home is where the {noun} is",
]
ROLES = ["mum", "dad", "grandma", "grandpa", "teacher", "boss", "sister", "brother", "nan", "coach", "auntie"]
MONTHS = "January February March April May June July August September October November December".split()
CITIES = ["Scunthorpe", "Penistone", "Middlesex", "Sussex", "Essex", "Lightwater", "Cockermouth"]


class Pools:
    """Names and ordinary words from the shipped lexicon."""

    def __init__(self, terms: TermList) -> None:
        lex = default_lexicon()
        self.lex = lex
        listed = {w for e in terms.entries for w in mark_words(e.term)}
        inflected = {w + s for w in listed for s in ("", "s", "es", "ed", "er", "ers", "ing", "y")}
        names = sorted(w for w in lex.entries if lex.is_common_first_name(w) and w.isalpha())
        self.names = [n.capitalize() for n in names if n not in inflected]
        self.surnames = sorted(
            w.capitalize()
            for w, c in lex.entries.items()
            if lex.is_surname(w) and c >> 4 >= 28 and w.isalpha() and w not in inflected
        )
        common = sorted(
            w
            for w, c in lex.entries.items()
            if lex.is_dictionary(w) and c >> 4 >= 38 and w.isalpha() and len(w) >= 3 and w not in inflected
        )
        self.nouns = common
        self.adjs = [w for w in common if w.endswith(("y", "ful", "ous", "ive", "al", "ic", "ed"))]
        self.verbs = [w for w in common if len(w) <= 6]
        self.terms_all = listed

    def frame(self, frames: list[str], slot: str, rng: Rng) -> str:
        """A frame that has the slot, so the word under test is in the text."""
        return rng.choice([f for f in frames if "{" + slot + "}" in f])

    def fill(self, frame: str, rng: Rng, **extra: str) -> str:
        year = rng.randint(1940, 2026)
        values = {
            "name": rng.choice(self.names),
            "name2": rng.choice(self.names),
            "surname": rng.choice(self.surnames),
            "year": str(year),
            "year1": str(year - rng.randint(30, 95)),
            "ordinal": rng.choice(FIRST_ORDINALS),
            "day": str(rng.randint(1, 28)),
            "month": rng.choice(MONTHS),
            "mnum": f"{rng.randint(1, 12):02d}",
            "role": rng.choice(ROLES),
            "noun": rng.choice(self.nouns),
            "adj": rng.choice(self.adjs),
            "verb": rng.choice(self.verbs),
            "city": rng.choice(CITIES),
            "num": str(rng.randint(1, 99)),
            **extra,
        }
        return frame.format(**values)


# -- offensive obfuscations: each returns None when the term does not lend itself to it ----------


def _interior(word: str) -> range:
    return range(1, len(word) - 1)


def drop_vowels(t: str, rng: Rng) -> str | None:
    """Vowels after the first letter removed ("shit" -> "sht"), or a doubled letter undoubled."""
    if rng.random() < 0.7:
        out = t[0] + "".join(c for c in t[1:] if c not in VOWELS)
    else:
        out = re.sub(r"(.)\1", r"\1", t)
    return out if out != t and len(out) >= 3 and sum(c.isalpha() for c in out) >= 3 else None


def masked_spaced(t: str, rng: Rng) -> str | None:
    """Spelled out with one interior letter masked ("f-*-c-k", "s h # t"), or spelled out without
    its vowels ("f.c.k")."""
    if len(t) < 4:
        return None
    sep = rng.choice([" ", "-", ".", "-", " "])
    letters = list(t)
    if rng.random() < 0.7:
        i = rng.choice(list(_interior(t)))
        letters[i] = rng.choice(MASKS[:4])
    else:
        letters = [letters[0]] + [c for c in letters[1:] if c not in VOWELS]
        if len(letters) < 3 or len(letters) == len(t):
            return None
    return sep.join(letters)


_SOUND_RULES: list[tuple[str, str]] = [
    ("ph", "f"),
    ("f", "ph"),
    ("ck", "k"),
    ("ck", "kk"),
    ("c", "k"),
    ("k", "c"),
    ("u", "v"),
    ("s", "z"),
    ("z", "s"),
    ("i", "ee"),
    ("o", "oo"),
    ("er", "a"),
    ("y", "ie"),
    ("ie", "y"),
    ("x", "ks"),
    ("qu", "kw"),
]


def sound_alike(t: str, rng: Rng) -> str | None:
    """One or two sound-preserving respellings (ph/f, c/k/ck, u/v, s/z, doubled vowels, er/a) or a
    transposition of two interior letters ("fukc" is not, "fcuk" is)."""
    if rng.random() < 0.25 and len(t) >= 4:
        i = rng.choice(list(_interior(t))[:-1] or [1])
        if i + 1 < len(t) and t[i] != t[i + 1]:
            return t[:i] + t[i + 1] + t[i] + t[i + 2 :]
        return None
    rules = [(a, b) for a, b in _SOUND_RULES if a in t]
    if not rules:
        return None
    out = t
    for a, b in rng.sample(rules, min(len(rules), rng.choice([1, 1, 2]))):
        positions = [m.start() for m in re.finditer(re.escape(a), out)]
        if not positions:
            continue
        p = rng.choice(positions)
        out = out[:p] + b + out[p + len(a) :]
    return out if out != t else None


def inner_separators(t: str, rng: Rng) -> str | None:
    """Separators inside one word: underscores, mixed separators, or partial spacing ("fu ck")."""
    if len(t) < 4:
        return None
    kind = rng.randrange(3)
    if kind == 0:
        return "_".join(t)
    if kind == 1:
        return "".join(c + rng.choice("_.-~") for c in t[:-1]) + t[-1]
    i = rng.choice(list(_interior(t)))
    return t[:i] + rng.choice([" ", " ", "_", "  "]) + t[i:]


def lookalike_factory(half: str) -> Callable[[str, Rng], str | None]:
    pool = {k: [s for s in v if half_of("sym:" + s) == half] for k, v in LOOKALIKES.items()}

    def lookalike(t: str, rng: Rng) -> str | None:
        """One or two letters replaced by symbols that read as them (β, ι, ⊂, μ, ¢, κ, ...)."""
        places = [i for i, c in enumerate(t) if pool.get(c)]
        if not places:
            return None
        out = list(t)
        for i in rng.sample(places, min(len(places), rng.choice([1, 2]))):
            out[i] = rng.choice(pool[t[i]])
        return "".join(out)

    return lookalike


def leet(t: str, rng: Rng) -> str | None:
    table = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "g": "9"}
    places = [i for i, c in enumerate(t) if c in table]
    if not places:
        return None
    out = list(t)
    for i in rng.sample(places, min(len(places), 2)):
        out[i] = table[t[i]]
    return "".join(out)


def masked(t: str, rng: Rng) -> str | None:
    if len(t) < 4:
        return None
    i = rng.choice(list(_interior(t)))
    return t[:i] + rng.choice(MASKS) + t[i + 1 :]


def repeats(t: str, rng: Rng) -> str | None:
    i = rng.randrange(len(t))
    return t[:i] + t[i] * rng.randint(2, 5) + t[i:]


def spaced(t: str, rng: Rng) -> str | None:
    return rng.choice([" ", ".", "-", ". "]).join(t) if len(t) >= 3 else None


def inflected(t: str, rng: Rng) -> str | None:
    if len(t) < 4 or t.endswith(("s", "y", "x", "z")):
        return None
    end = rng.choice(["s", "ing", "er", "ed"])
    return (t[:-1] if t.endswith("e") and end != "s" else t) + end


def plain(t: str, rng: Rng) -> str | None:
    return t if rng.random() < 0.5 else t.capitalize()


# -- trademark variants --------------------------------------------------------------------------


def tm_inflected(mark: str, rng: Rng) -> str | None:
    """Plural or possessive: "Teslas", "Tesla's", "Tesla’s", "Porsches"."""
    end = rng.choice(["s", "'s", "’s", "es"])
    if end == "es" and not mark.lower().endswith(("s", "x", "ch", "sh", "z")):
        end = "s"
    if mark.lower().endswith("s") and end == "s":
        end = "'s"
    return mark + end


def tm_misspelled(mark: str, rng: Rng) -> str | None:
    """One edit after the first letter (drop, double, swap, change), or a sound-alike respelling."""
    letters = [c for c in mark if c.isalpha()]
    if len(letters) < 7 or not mark.isascii() or " " in mark:
        return None
    if rng.random() < 0.5:
        out = sound_alike(mark.lower(), rng)
        return out.capitalize() if out else None
    i = rng.randrange(2, len(mark) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return mark[:i] + mark[i + 1 :]
    if kind == 1:
        return mark[:i] + mark[i] + mark[i:]
    if kind == 2 and mark[i] != mark[i + 1]:
        return mark[:i] + mark[i + 1] + mark[i] + mark[i + 2 :]
    repl = rng.choice([c for c in "aeioubdgkmnprst" if c != mark[i].lower()])
    return mark[:i] + repl + mark[i + 1 :]


BRAND_SIGNALS = ["{x}® store", "Official {x} merch", "{x} logo sticker for {name}", "{x}™ fan club"]


def build(
    seed: int, half: str, per_family: int, ordinary: int
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    rng = random.Random(seed)
    terms = load_terms(DEFAULT_TERMS)  # LDNOOBW only, so every set is built from one list
    pools = Pools(terms)
    lex = pools.lex
    single = [e for e in terms.entries if half_of(e.id) == half and " " not in e.term and e.term.isalpha()]
    multi = [e for e in terms.entries if half_of(e.id) == half and " " in e.term]
    cases: list[dict[str, object]] = []

    def add(category: str, text: str, offensive: bool, marks: list[str], **meta: object) -> None:
        cases.append(
            {
                "id": f"g{seed}-{len(cases):05d}",
                "category": category,
                "text": text,
                "expected": {"trademark": marks, "offensive": offensive},
                "also_ok": meta.pop("also_ok", []),
                "meta": meta,
            }
        )

    families: dict[str, Callable[[str, Rng], str | None]] = {
        "off_plain": plain,
        "off_inflected": inflected,
        "off_dropped_letters": drop_vowels,
        "off_masked_spaced": masked_spaced,
        "off_sound_alike": sound_alike,
        "off_inner_separators": inner_separators,
        "off_lookalike": lookalike_factory(half),
        "off_leet": leet,
        "off_masked": masked,
        "off_repeats": repeats,
        "off_spaced": spaced,
    }
    for family, fn in families.items():
        made = 0
        for _ in range(per_family * 20):
            if made >= per_family:
                break
            entry = rng.choice(single)
            x = fn(entry.term, rng)
            if x is None or (family != "off_plain" and x.lower() == entry.term):
                continue
            if family != "off_plain" and x.isalpha() and lex.is_known(x.lower()):
                continue  # a respelling that is itself a word ("cock" -> "cook") is no disguise
            add(family, pools.fill(rng.choice(OFF_FRAMES), rng, x=x), True, [], term=entry.id, surface=x)
            made += 1
    for _ in range(per_family):
        entry = rng.choice(multi)
        words = entry.term.split()
        k = rng.randrange(len(words))
        fn = rng.choice([plain, sound_alike, lookalike_factory(half), leet])
        words[k] = fn(words[k], rng) or words[k]
        x = " ".join(words)
        add("off_multiword", pools.fill(rng.choice(OFF_FRAMES), rng, x=x), True, [], term=entry.id, surface=x)

    # Hard negatives: words and names that contain a term, consonant clusters and abbreviations,
    # real words one sound away from a term.
    held_terms = {squeeze_(w) for e in single for w in [e.term] if len(e.term) >= 3}
    holders = sorted(
        w
        for w, c in lex.entries.items()
        if lex.is_dictionary(w)
        and c >> 4 >= 25
        and w.isalpha()
        and w not in pools.terms_all
        and any(t in w for t in held_terms)
        and not any(w == t + s for t in held_terms for s in ("s", "es", "ing", "er", "ed", "y"))
    )
    name_holders = [n for n in pools.names + pools.surnames if any(t in n.lower() for t in held_terms)]
    for _ in range(per_family * 2):
        w = rng.choice(holders)
        add("neg_off_scunthorpe", pools.fill(pools.frame(WISHES, "noun", rng), rng, noun=w), False, [])
    for _ in range(per_family):
        n = rng.choice(name_holders)
        add(
            "neg_off_name",
            pools.fill(pools.frame(WISHES, rng.choice(["name", "surname"]), rng), rng, name=n, surname=n),
            False,
            [],
        )
    abbreviations = [
        "Mr",
        "Mrs",
        "Dr",
        "St",
        "Rd",
        "PhD",
        "BFF",
        "xoxo",
        "NYC",
        "DJ",
        "TV",
        "MVP",
        "GG",
        "LOL",
        "OMG",
        "HQ",
        "BBQ",
        "PS",
        "RSVP",
        "ASAP",
        "MBA",
        "CEO",
        "VIP",
        "DIY",
        "XL",
        "Jr",
        "Sr",
        "Ltd",
        "Bros",
        "Pvt",
        "Sgt",
        "Cpl",
        "Pte",
        "HMS",
        "RIP",
        "B&B",
    ]
    for _ in range(per_family):
        a = " ".join(rng.sample(abbreviations, 2))
        add("neg_off_abbrev", pools.fill(pools.frame(WISHES, "noun", rng), rng, noun=a), False, [])
    near_words = sorted(
        w
        for w, c in lex.entries.items()
        if lex.is_dictionary(w)
        and c >> 4 >= 30
        and w.isalpha()
        and 3 <= len(w) <= 8
        and w not in pools.terms_all
        and any(_one_edit(w, t) for t in held_terms if abs(len(t) - len(w)) <= 1)
    )
    for _ in range(per_family):
        w = rng.choice(near_words)
        add("neg_off_near_word", pools.fill(pools.frame(WISHES, "noun", rng), rng, noun=w), False, [])

    # Trademarks.
    marks = load_marks(DEFAULT_MARKS)
    index = MarkIndex.build(MarkList("m", "0", marks.ids, marks.marks, marks.distinctiveness), lex)
    own = [i for i in range(len(marks)) if half_of(marks.ids[i]) == half]
    coined = [
        i
        for i in own
        if index.distinctiveness(i) is Distinctiveness.COINED
        and len(mark_words(marks.marks[i])) == 1
        and len(index.key(i)) >= 4
    ]
    dictionary = [
        i for i in own if index.distinctiveness(i) is Distinctiveness.DICTIONARY and len(index.key(i)) >= 3
    ]
    phrases = [
        i for i in own if index.distinctiveness(i) is Distinctiveness.ARBITRARY and int(index.nwords[i]) > 1
    ]
    sayings = [
        i
        for i in range(len(marks))
        if half_of(marks.ids[i]) == half
        and all(c.isalpha() or c in " '" for c in marks.marks[i])
        and is_everyday_phrase(mark_words(marks.marks[i]), lex)
    ]
    first_names = [
        i
        for i in own
        if int(index.nwords[i]) == 1 and marks.marks[i].isalpha() and lex.is_first_name(index.key(i))
    ]

    def contained(i: int) -> list[str]:
        """Marks inside the gold one (Google in Google Cloud): predicting them is neither right nor wrong."""
        words = mark_words(marks.marks[i])
        out: list[str] = []
        for a in range(len(words)):
            for b in range(a + 1, len(words) + 1):
                key = "".join(words[a:b])
                out.extend(marks.ids[j] for j in index.lookup([key], [], [])[0][0] if j != i)
        return sorted(set(out))

    for family, pool, fn in (
        ("tm_exact", coined, lambda m, r: m),
        ("tm_inflected", coined + phrases, tm_inflected),
        ("tm_misspelled", coined, tm_misspelled),
    ):
        made = 0
        for _ in range(per_family * 20):
            if made >= per_family:
                break
            i = rng.choice(pool)
            x = fn(marks.marks[i], rng)
            if x is None:
                continue
            if family == "tm_misspelled" and (lex.is_known(mark_words(x)[0]) if mark_words(x) else True):
                continue
            add(
                family,
                pools.fill(rng.choice(TM_FRAMES), rng, x=x),
                False,
                [marks.ids[i]],
                also_ok=contained(i),
                surface=x,
            )
            made += 1

    def add_signalled(category: str, i: int) -> None:
        """The mark as a brand, with a signal ("® store", "Official … merch"): always a mention."""
        x = marks.marks[i]
        add(
            category,
            pools.fill(rng.choice(BRAND_SIGNALS), rng, x=x),
            False,
            [marks.ids[i]],
            also_ok=contained(i),
        )

    for _ in range(per_family):
        i = rng.choice(dictionary)
        x = marks.marks[i]
        add_signalled("tm_generic_brand_context", i)
        add(
            "neg_tm_generic_word",
            pools.fill(pools.frame(WISHES, rng.choice(["noun", "name"]), rng), rng, noun=x.lower(), name=x),
            False,
            [],
            mark=x,
        )
    for _ in range(per_family):
        i = rng.choice(sayings)
        x = marks.marks[i]
        frame = rng.choice(
            [
                "{name}, {x}!",
                "Always {x} — {name}",
                "{x}, love {name}",
                "{name} says: {x}",
                "Happy Birthday! {x}",
            ]
        )
        text = pools.fill(frame, rng, x=x.lower() if rng.random() < 0.5 else x.title())
        add("neg_tm_everyday_phrase", text, False, [], mark=x)
        add_signalled("tm_phrase_brand_context", i)
    for _ in range(per_family):
        i = rng.choice(first_names)
        x = marks.marks[i].capitalize()
        add("neg_tm_first_name", pools.fill(pools.frame(WISHES, "name", rng), rng, name=x), False, [], mark=x)
        add_signalled("tm_first_name_brand_context", i)
    return cases, ordinary_texts(pools, rng, ordinary, seed)


def ordinary_texts(pools: Pools, rng: Rng, n: int, seed: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for k in range(n):
        text = pools.fill(rng.choice(WISHES), rng)
        out.append(
            {
                "id": f"o{seed}-{k:06d}",
                "category": "neg_personalization",
                "text": text,
                "expected": {"trademark": [], "offensive": False},
                "also_ok": [],
                "meta": {},
            }
        )
    return out


def squeeze_(w: str) -> str:
    return re.sub(r"(.)\1+", r"\1", w)


def _one_edit(a: str, b: str) -> bool:
    if a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if len(a) > len(b):
        a, b = b, a
    return any(b[:i] + b[i + 1 :] == a for i in range(len(b)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--half", choices=["tune", "held"], default="held")
    ap.add_argument("--per-family", type=int, default=120)
    ap.add_argument("--ordinary", type=int, default=20_000)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    cases, ordinary = build(args.seed, args.half, args.per_family, args.ordinary)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("cases.jsonl", cases), ("ordinary.jsonl", ordinary)):
        with (args.out / name).open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases, {len(ordinary)} ordinary texts -> {args.out}")


if __name__ == "__main__":
    main()
