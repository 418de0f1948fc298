"""Builds the shipped text-screening data in `screening/data/text/` from public packages (run by hand).

Inputs (none are runtime dependencies; install them only to rebuild):
  npm  naughty-words@1.2.0 (LDNOOBW, CC BY 4.0) and simple-icons@16.37.0 (CC0), unpacked with `npm pack`;
  PyPI wordfreq (word frequencies), names (US Census 1990 first names and surnames),
       confusable-homoglyphs (it carries Unicode TR39 confusables.txt as JSON);
  Debian wamerican (/usr/share/dict/american-english: SCOWL, whose lower-case entries are the
       ordinary dictionary words and capitalised ones proper nouns).

    npm pack naughty-words@1.2.0 simple-icons@16.37.0   # in a scratch dir, then untar both
    .venv/bin/pip install wordfreq names confusable-homoglyphs && apt-get install wamerican
    .venv/bin/python scripts/build_text_lists.py --naughty DIR/naughty-words --icons DIR/simple-icons
    .venv/bin/python scripts/build_text_lists.py --rekey   # after changing screening/text/phonetic.py
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import shutil
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "screening" / "data" / "text"

# Categories for the LDNOOBW English list. Anything not named here is "sexual". Slurs and hate speech
# block outright; profanity, insults and sexual terms go to a reviewer (a mug that says "bullshit" is
# a legitimate order in many shops).
SLURS = {
    "nigger",
    "nigga",
    "negro",
    "kike",
    "spic",
    "wetback",
    "raghead",
    "towelhead",
    "beaner",
    "beaners",
    "tranny",
    "paki",
    "jigaboo",
    "jiggaboo",
    "jiggerboo",
    "darkie",
    "slanteye",
    "coon",
    "coons",
    "honkey",
    "pikey",
    "fag",
    "faggot",
    "nig nog",
    "shemale",
    "spastic",
    "mong",
    "poof",
}
HATE = {
    "neonazi",
    "white power",
    "swastika",
    "nambla",
    "rape",
    "raping",
    "rapist",
    "date rape",
    "daterape",
    "pedobear",
    "pedophile",
    "paedophile",
    "jailbait",
    "jail bait",
    "pthc",
}
VIOLENCE = {"how to kill", "how to murder"}
PROFANITY = {
    "fuck",
    "fuckin",
    "fucking",
    "fucktards",
    "clusterfuck",
    "shit",
    "shitty",
    "shitblimp",
    "bullshit",
    "apeshit",
    "god damn",
    "bastard",
    "bastardo",
    "bollocks",
    "wank",
    "fuck buttons",
}
INSULT = {
    "cunt",
    "twat",
    "bitch",
    "bitches",
    "whore",
    "slut",
    "asshole",
    "arsehole",
    "tosser",
    "dick",
    "motherfucker",
    "piece of shit",
    "camwhore",
    "assmunch",
}
# Entries whose ordinary, benign use dominates in personalisation text ("tied up with love", "hard core
# workout", "jelly donut", "snatch victory", "mum xx", "escort", "Tainted Love"): shipping them would flag
# honest orders and teach reviewers to ignore the queue. A user list can still add any of them.
EXCLUDED = {
    "tied up",
    "hard core",
    "jelly donut",
    "snatch",
    "domination",
    "escort",
    "suck",
    "sucks",
    "xx",
    "xxx",  # kisses at the end of a card ("love you, Mum xxx") far outnumber the other reading
    "taste my",
    "tongue in a",
    "girl on",
    "big black",
    "hot chick",
    "huge fat",
    "tainted love",
    "violet wand",
    "sultry women",
    "wrapping men",
    "spread legs",
    "eunuch",
    "rectum",
    "intercourse",
    "lolita",
    "playboy",
    "topless",
    "undressing",
    "swinger",
    "sexual",
    "sexually",
    "sexuality",
    "genitals",
    "nude",
    "nudity",
    "erotic",
    "dominatrix",
    "bondage",
    "viagra",
    "cialis",
    "butt",
    "pleasure chest",
    "tight white",
    "scat",
    "grope",
    "humping",
    "kinky",
    "voyeur",
    "hooker",
    "ecchi",
    "girls gone wild",
    "strip club",
    "panty",
    "panties",
    "twinkie",
    "nipple",
    "nipples",
    "fingering",
    "sadism",
    "cumming",
    "semen",
    "vibrator",
    "pegging",
    "shrimping",
    "snowballing",
    "scissoring",
    "rimming",
    "pissing",
    "🖕",
}

# Extra look-alikes TR39 leaves out or routes through a non-Latin letter (Greek kappa -> kra).
GREEK_EXTRA = {"κ": "k", "ĸ": "k", "ι": "i", "ν": "v", "η": "n", "τ": "t", "υ": "u", "ρ": "p", "χ": "x"}


def category_of(term: str) -> tuple[str, str]:
    if term in SLURS:
        return "slur", "block"
    if term in HATE:
        return "hate", "block"
    if term in VIOLENCE:
        return "violence", "block"
    if term in PROFANITY:
        return "profanity", "review"
    if term in INSULT:
        return "insult", "review"
    return "sexual", "review"


def build_terms(naughty: Path) -> None:
    terms = json.loads((naughty / "en.json").read_text(encoding="utf-8"))
    rows = []
    seen: set[str] = set()
    for raw in terms:
        term = raw.strip().lower()
        if not term or term in EXCLUDED or term in seen:
            continue
        seen.add(term)
        category, severity = category_of(term)
        term_id = "ldnoobw:" + term.replace(" ", "_")
        rows.append((term_id, term, category, severity))
    with (OUT / "terms_ldnoobw_en.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "term", "category", "severity"])
        w.writerows(rows)
    version = json.loads((naughty / "package.json").read_text())["version"]
    licence = (naughty / "LICENSE").read_text(encoding="utf-8")
    (OUT / "LDNOOBW-ATTRIBUTION.txt").write_text(
        "terms_ldnoobw_en.csv is adapted from the English list of the List of Dirty, Naughty, Obscene and\n"
        f"Otherwise Bad Words (npm package naughty-words {version}, (c) Shutterstock and contributors),\n"
        "licensed under Creative Commons Attribution 4.0 International (CC BY 4.0).\n"
        "Changes: categories and severities added; entries whose benign use dominates removed\n"
        "(see scripts/build_text_lists.py).\n\n" + licence,
        encoding="utf-8",
    )
    print(f"terms: {len(rows)} (from {len(terms)})", file=sys.stderr)


def build_lexicon() -> None:
    import names  # type: ignore[import-untyped]
    from wordfreq import iter_wordlist, zipf_frequency

    entries: dict[str, tuple[int, set[str]]] = {}
    for word in iter_wordlist("en", "large"):
        z = zipf_frequency(word, "en", "large")
        if z < 1.5:
            break
        if word.isascii() and word.isalpha():
            entries[word] = (round(z * 10), set())
    for line in Path("/usr/share/dict/american-english").read_text(encoding="utf-8").splitlines():
        if line and line[0].islower() and line.isascii() and line.isalpha():
            entries.setdefault(line, (round(zipf_frequency(line, "en") * 10), set()))[1].add("d")
    ndir = Path(names.__file__).parent
    for fname, flag, limit in (
        ("dist.female.first", "f", None),
        ("dist.male.first", "f", None),
        ("dist.all.last", "s", 30000),
    ):
        for i, line in enumerate((ndir / fname).read_text().splitlines()):
            if limit is not None and i >= limit:
                break
            word, freq = line.split()[0].lower(), float(line.split()[1])
            if word.isalpha():
                flags = entries.setdefault(word, (round(zipf_frequency(word, "en") * 10), set()))[1]
                flags.add(flag)
                # A common first name (>= 5 per 100k people: Ray, Fritz, Kia) makes a one-word mark an
                # ordinary word; a rare one (Porsche, Royce) does not.
                if flag == "f" and freq >= 0.005:
                    flags.add("F")

    bits = {"d": 1, "f": 2, "s": 4, "F": 8}
    write_lexicon({w: (z << 4) | sum(bits[c] for c in flags) for w, (z, flags) in entries.items()})


def write_lexicon(codes: dict[str, int]) -> None:
    """One "word code sound" line per word, code = zipf*10 << 4 | flags (1 dictionary word, 2 first
    name, 4 surname, 8 common first name), sound = the offensive matcher's phonetic key of the squeezed
    word ("-" if none). Loads with one split and no per-line parsing, as it is read at every start;
    the keys spare every process computing them (a test checks they match the code)."""
    from screening.text.lexicon import sound_key

    lines = [f"{word} {codes[word]} {sound_key(word) or '-'}\n" for word in sorted(codes)]
    with (OUT / "lexicon_en.txt.gz").open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write("".join(lines).encode("utf-8"))  # mtime=0: rebuilding gives the same bytes
    print(f"lexicon: {len(codes)} words", file=sys.stderr)


def rekey_lexicon() -> None:
    """Rewrite the shipped lexicon's sound keys after a change to the phonetic key (no inputs needed)."""
    from screening.text.lexicon import Lexicon

    write_lexicon(Lexicon.load(OUT / "lexicon_en.txt.gz").entries)


def build_confusables() -> None:
    import confusable_homoglyphs  # type: ignore[import-untyped]

    data = json.loads((Path(confusable_homoglyphs.__file__).parent / "confusables.json").read_text("utf-8"))
    mapping: dict[str, str] = {}
    # Keyed by the char as written: an upper-case Greek Nu is an "N", its lower-case form an "v".
    # Upper-case look-alikes come from the upper-case target's group, lower-case from the lower-case one.
    for target in "abcdefghijklmnopqrstuvwxyz0123456789":
        for upper in (False, True):
            for entry in data.get(target.upper() if upper else target, []):
                c = entry["c"]
                if len(c) != 1 or c.isascii() or (upper and not c.isupper()) or (not upper and c.isupper()):
                    continue
                mapping.setdefault(c, target)
    # Letters before digits: a Cyrillic "о" is an "o" in a word, never a zero.
    for c, t in list(mapping.items()):
        if t.isdigit():
            for entry in data.get(c, []):
                alt = entry["c"]
                if len(alt) == 1 and alt.isascii() and alt.isalpha():
                    mapping[c] = alt.lower()
    # Chars NFKD already folds to ASCII need no entry (fullwidth, mathematical alphanumerics).
    table = {}
    for c, t in {**mapping, **GREEK_EXTRA}.items():
        folded = "".join(
            ch for ch in unicodedata.normalize("NFKD", c).casefold() if not unicodedata.combining(ch)
        )
        if folded != t:
            table[c] = t
    with (OUT / "confusables.txt").open("w", encoding="utf-8") as f:
        f.write("# codepoint\tascii  (derived from Unicode TR39 confusables via confusable-homoglyphs)\n")
        for c in sorted(table):
            f.write(f"{ord(c):04X}\t{table[c]}\n")
    print(f"confusables: {len(table)}", file=sys.stderr)


def build_marks(icons: Path) -> None:
    from screening.text.lexicon import Lexicon
    from screening.text.lists import infer_distinctiveness

    lex = Lexicon.load(OUT / "lexicon_en.txt.gz")
    data = json.loads((icons / "data" / "simple-icons.json").read_text(encoding="utf-8"))
    version = json.loads((icons / "package.json").read_text())["version"]
    with (OUT / "marks_simple_icons.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "mark", "distinctiveness"])
        for icon in data:
            w.writerow([icon["slug"], icon["title"], infer_distinctiveness(icon["title"], lex).value])
    shutil.copy(icons / "LICENSE.md", OUT / "SIMPLE-ICONS-LICENSE.md")
    (OUT / "VERSIONS.json").write_text(json.dumps({"simple-icons": version, "naughty-words": "1.2.0"}) + "\n")
    print(f"marks: {len(data)}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--naughty", type=Path, help="unpacked naughty-words package dir")
    ap.add_argument("--icons", type=Path, help="unpacked simple-icons package dir")
    ap.add_argument("--rekey", action="store_true", help="only recompute the lexicon's sound keys")
    args = ap.parse_args()
    if args.rekey:
        rekey_lexicon()
        return
    if args.naughty is None or args.icons is None:
        ap.error("--naughty and --icons are required (or --rekey)")
    OUT.mkdir(parents=True, exist_ok=True)
    build_terms(args.naughty)
    build_lexicon()
    build_confusables()
    build_marks(args.icons)


if __name__ == "__main__":
    main()
