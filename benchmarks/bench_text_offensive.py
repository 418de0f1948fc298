"""Claim: offensive-term screening runs at >= 100x the throughput of `better-profanity` with higher recall
and no more false alarms, both given the same term list (the shipped LDNOOBW-derived one).

    .venv/bin/python benchmarks/bench_text_offensive.py           # 10k texts
    .venv/bin/python benchmarks/bench_text_offensive.py --quick   # 2k texts

Two text sets: the trademark benchmark's personalisation texts (one in twenty with a disguised term),
and an adversarial mix where a fifth carry a listed term disguised the ways customers do (leetspeak,
separators, repeated letters, masks, homoglyphs, zero-width characters, joined words) and another fifth
Scunthorpe-type innocent words. Needs the `bench` extra (better-profanity).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from screening.text.lexicon import default_lexicon  # noqa: E402
from screening.text.screener import TextScreener, _default_allow, _default_terms  # noqa: E402

TEMPLATES = [
    "Happy Birthday {name}, you {x}",
    "Best {x} ever — love, {name}",
    "{name} & {name2} — est. {year}",
    "Property of {name} {surname}",
    "Our first {word} together {year}",
    "Keep calm and {word} on, {name}",
    "{name}'s {x} collection",
]
INNOCENT = [
    "Scunthorpe",
    "cockpit",
    "Hancock",
    "grape",
    "therapist",
    "assassin",
    "Dickinson",
    "Essex",
    "classic",
    "Cockatoo",
    "Sextet",
    "analyst",
    "button",
    "petition",
    "cocktail",
    "shiitake",
    "Penistone",
    "Matsushita",
]
HOMO = {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "i": "і", "x": "х", "y": "у"}
LEET = {"a": "@", "e": "3", "i": "1", "o": "0", "s": "$", "t": "7"}


def disguise(term: str, rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return term
    if kind == 1:
        return "".join(LEET.get(c, c) if rng.random() < 0.5 else c for c in term)
    if kind == 2:
        return rng.choice([" ", ".", "-"]).join(term)
    if kind == 3:
        i = rng.randrange(len(term))
        return term[:i] + term[i] * 3 + term[i:]
    if kind == 4 and len(term) > 3:
        i = rng.randrange(1, len(term) - 1)
        return term[:i] + "*" + term[i + 1 :]
    if kind == 5:
        return "".join(HOMO.get(c, c) if rng.random() < 0.5 else c for c in term)
    if kind == 6:
        return "\u200b".join(term)
    return term.capitalize() + rng.choice(["Squad", "King", "Life", "Club"])


def make_texts(n: int, rng: random.Random) -> tuple[list[str], list[bool]]:
    lex = default_lexicon()
    names = sorted(w for w in lex.entries if lex.is_common_first_name(w))
    terms = [e.term for e in _default_terms().entries if " " not in e.term and len(e.term) >= 4]
    listed = {w for e in _default_terms().entries for w in e.term.split()}
    words = sorted(
        w for w, c in lex.entries.items() if c >> 4 >= 40 and w.isalpha() and len(w) > 3 and w not in listed
    )
    texts, gold = [], []
    for _ in range(n):
        r = rng.random()
        if r < 0.2:
            x, bad = disguise(rng.choice(terms), rng), True
        elif r < 0.4:
            x, bad = rng.choice(INNOCENT), False
        else:
            x, bad = rng.choice(words), False
        t = rng.choice(TEMPLATES)
        if "{x}" not in t:
            t += " {x}"
        texts.append(
            t.format(
                name=rng.choice(names).capitalize(),
                name2=rng.choice(names).capitalize(),
                surname=rng.choice(names).capitalize() + "son",
                year=rng.randint(1950, 2026),
                word=rng.choice(words),
                x=x,
            )
        )
        gold.append(bad)
    return texts, gold


def score(pred: list[bool], gold: list[bool]) -> tuple[float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    return tp / max(1, sum(gold)), fp / max(1, len(gold) - sum(gold))


def realistic_texts(n: int, rng: random.Random) -> tuple[list[str], list[bool]]:
    """The trademark benchmark's personalisation texts, one in twenty carrying a disguised term."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_text_marks import generate_marks, generate_texts, word_pools

    words, names = word_pools()
    listed = {w for e in _default_terms().entries for w in e.term.split()}
    long_listed = [w for w in listed if len(w) >= 4]
    words = [w for w in words if w not in listed and not any(t in w for t in long_listed)]
    texts = generate_texts(n, generate_marks(5_000, words, rng), words, names, rng)
    terms = [e.term for e in _default_terms().entries if " " not in e.term and len(e.term) >= 4]
    gold = [rng.random() < 0.05 for _ in texts]
    return [
        t + " " + disguise(rng.choice(terms), rng) if g else t for t, g in zip(texts, gold, strict=True)
    ], gold


def measure(texts: list[str], gold: list[bool], warmup: list[str], label: str, chunks: int = 10) -> None:
    """Both engines screen the same chunks in turn (better-profanity, then ours, chunk by chunk), so a
    change in the machine's speed during the run (a shared VM) falls on both alike. Before each timed
    chunk, each engine first screens the same few other texts (`warmup`, untimed): otherwise whichever
    runs second would pay for the CPU caches the first one emptied. Ours meets the chunk's texts for
    the first time (first pass), then screens them again (second pass), as a running service that has
    seen these words before."""
    terms = _default_terms()
    from better_profanity import profanity  # type: ignore[import-untyped]

    t0 = time.perf_counter()
    profanity.load_censor_words(custom_words=[e.term for e in terms.entries])
    build_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    screener = TextScreener(None, terms, _default_allow(), default_lexicon())
    build_ours = time.perf_counter() - t0
    screener.screen_text("warm up")
    # Both engines' lists, the lexicon and the texts live for the whole run. Frozen out of the cyclic
    # collector's sight, a collection that happens to fall inside a timed chunk costs what the
    # engines' own garbage costs, not a walk over everything the setup built (without this, two
    # collections put ~30 ms into the first chunk, whichever engine they fell on).
    gc.collect()
    gc.freeze()
    n = len(texts)
    step = -(-n // chunks)
    base: list[bool] = []
    ours: list[bool] = []
    again: list[bool] = []
    t_base = t_ours = t_warm = 0.0
    for lo in range(0, n, step):
        part = texts[lo : lo + step]
        for t in warmup:
            profanity.contains_profanity(t)
        t0 = time.perf_counter()
        base += [profanity.contains_profanity(t) for t in part]
        t_base += time.perf_counter() - t0
        for t in warmup:
            screener.screen_text(t)
        t0 = time.perf_counter()
        ours += [bool(screener.screen_text(t).findings) for t in part]
        t1 = time.perf_counter()
        again += [bool(screener.screen_text(t).findings) for t in part]
        t_ours += t1 - t0
        t_warm += time.perf_counter() - t1
    gc.unfreeze()
    assert again == ours, "a second pass must give the same verdicts"
    print(f"\n## {label}: {n} texts ({sum(gold)} offensive), {len(terms.entries)} terms for both")
    print("| engine | build | texts/s | recall | false-alarm rate |")
    print("|---|---:|---:|---:|---:|")
    rows = (
        ("better-profanity 0.7", base, t_base, build_base),
        ("screening.text, first pass", ours, t_ours, build_ours),
        ("screening.text, second pass", again, t_warm, build_ours),
    )
    for name, pred, secs, build in rows:
        rec, far = score(pred, gold)
        print(f"| {name} | {build * 1e3:,.0f} ms | {n / secs:,.0f} | {rec:.3f} | {far:.3f} |")
    cold, warm = t_base / t_ours, t_base / t_warm
    print(f"throughput ratio: {cold:.0f}x first pass, {warm:.0f}x second (goal >= 100x, at higher recall)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 2_000 if args.quick else 10_000
    print(f"# bench_text_offensive  machine: {platform.platform()} | cores={os.cpu_count()}")
    print("# other jobs share this machine, so timings are noisy; both engines run in the same process")
    warm = realistic_texts(100, random.Random(99))[0]
    measure(*realistic_texts(n, random.Random(5)), warm, "personalisation texts (as bench_text_marks)")
    warm = make_texts(100, random.Random(99))[0]
    measure(
        *make_texts(n, random.Random(11)), warm, "adversarial mix (1/5 disguised terms, 1/5 Scunthorpe words)"
    )


if __name__ == "__main__":
    main()
