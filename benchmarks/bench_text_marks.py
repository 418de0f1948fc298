"""Claim: trademark screening over 1M/3M marks answers a text in about a millisecond (median), builds in
under a minute, fits in 1 GiB and reloads from its saved index in seconds; baseline: rapidfuzz
`process.extract(text, marks, scorer=partial_ratio)` over all marks, the naive approach.

    .venv/bin/python benchmarks/bench_text_marks.py            # 1M and 3M marks, 10k texts
    .venv/bin/python benchmarks/bench_text_marks.py --quick    # 100k marks, 2k texts

Marks are generated from real English words (the shipped lexicon): word pairs and triples ("Silver
Falcon Labs"), coined blends ("Falconix"), joined forms ("BlueHarbor"). Texts are personalisation
templates with names, dates and words, a tenth of them mentioning one of the marks (some misspelled).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from screening.text.lexicon import default_lexicon  # noqa: E402
from screening.text.lists import load_marks  # noqa: E402
from screening.text.screener import TextScreener  # noqa: E402
from screening.text.trademark import MarkIndex  # noqa: E402

SUFFIXES = ["Labs", "Systems", "Studio", "Co", "Group", "Works", "Digital", "Foods", "Games", "Cloud", "Ltd"]
COINED_ENDS = ["ix", "ify", "ly", "io", "ora", "eon", "ex", "oo", "ara", "ium", "ova", "zy"]
TEMPLATES = [
    "Happy Birthday {name}!",
    "{name} & {name2} — est. {year}",
    "Best {word} ever — love, {name}",
    "Property of {name} {surname}",
    "Team {mark} — {name} #{num}",
    "Keep calm and love {mark}",
    "{word} {word2} for {name}, {year}",
    "In loving memory of {name} {surname}, {year}",
    "Official {mark} merch for {name}",
    "Our first {word} together {year}",
    "{name}'s {word} {word2} club",
    "Thank you for the {word} and the {word2}, {name}",
]


def machine() -> str:
    return f"{platform.platform()} | {platform.processor() or platform.machine()} | cores={os.cpu_count()}"


def word_pools() -> tuple[list[str], list[str]]:
    lex = default_lexicon()
    words = [w for w, code in lex.entries.items() if code >> 4 >= 30 and 3 <= len(w) <= 10 and w.isalpha()]
    names = [w for w in lex.entries if lex.is_common_first_name(w)]
    return sorted(words), sorted(names)


def generate_marks(n: int, words: list[str], rng: random.Random) -> list[str]:
    out: set[str] = set()
    cap = str.capitalize
    while len(out) < n:
        r = rng.random()
        a, b, c = rng.choice(words), rng.choice(words), rng.choice(words)
        if r < 0.35:
            m = f"{cap(a)} {cap(b)}"
        elif r < 0.55:
            m = f"{cap(a)} {cap(b)} {rng.choice(SUFFIXES)}"
        elif r < 0.75:
            m = cap(a[: max(3, len(a) - 2)] + rng.choice(COINED_ENDS))
        elif r < 0.9:
            m = cap(a) + cap(b)
        else:
            m = f"{cap(a)} {c[:3]}{b[-3:]}"
        out.add(m)
    return sorted(out)


def misspell(mark: str, rng: random.Random) -> str:
    if len(mark) < 6:
        return mark
    i = rng.randrange(1, len(mark) - 1)
    return mark[:i] + mark[i + 1] + mark[i] + mark[i + 2 :]


def generate_texts(
    n: int, marks: list[str], words: list[str], names: list[str], rng: random.Random
) -> list[str]:
    texts = []
    for _ in range(n):
        t = rng.choice(TEMPLATES)
        mark = rng.choice(marks)
        if rng.random() < 0.3:
            mark = misspell(mark, rng)
        if "{mark}" in t and rng.random() > 0.3:
            mark = rng.choice(words).capitalize()
        text = t.format(
            name=rng.choice(names).capitalize(),
            name2=rng.choice(names).capitalize(),
            surname=rng.choice(names).capitalize() + "son",
            year=rng.randint(1950, 2026),
            num=rng.randint(1, 99),
            word=rng.choice(words),
            word2=rng.choice(words),
            mark=mark,
        )
        # Lengths spread over 5-200 characters like real customisation texts: pad with more words, cut.
        target = rng.choice((rng.randint(5, 40), rng.randint(20, 90), rng.randint(5, 200)))
        while len(text) < target:
            text += " " + rng.choice(words)
        cut = text[:target]
        if len(text) > target and " " in cut:
            cut = cut.rsplit(" ", 1)[0]  # whole words: a cut word is a misspelling nobody typed
        texts.append(cut.rstrip() or text[:5])
    return texts


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def run_size(
    n_marks: int, texts: list[str], words: list[str], workdir: Path, naive_sample: int
) -> dict[str, float]:
    rng = random.Random(n_marks)
    marks = generate_marks(n_marks, words, rng)
    path = workdir / f"marks_{n_marks}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "mark"])
        for i, m in enumerate(marks):
            w.writerow([f"m{i}", m])
    lex = default_lexicon()
    t0 = time.perf_counter()
    c0 = time.process_time() + _children_cpu()
    mark_list = load_marks(path)
    t_parse = time.perf_counter() - t0
    index = MarkIndex.build(mark_list, lex)
    t_build = time.perf_counter() - t0
    c_build = time.process_time() + _children_cpu() - c0  # the build's worker processes included
    del mark_list
    cache = workdir / f"marks_{n_marks}.npz"
    t0 = time.perf_counter()
    index.save(cache)
    t_save = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = MarkIndex.load(cache)
    t_load = time.perf_counter() - t0
    screener = TextScreener(index, None, None, lex)
    for t in texts[:200]:  # warm caches (fold table, numpy)
        screener.screen_text(t)
    lat = []
    flagged = 0
    c0 = time.process_time()
    for t in texts:
        a = time.perf_counter()
        v = screener.screen_text(t)
        lat.append(time.perf_counter() - a)
        flagged += bool(v.findings)
    cpu_ms = 1e3 * (time.process_time() - c0) / len(texts)
    from rapidfuzz import fuzz, process

    naive = []
    for t in texts[:naive_sample]:
        a = time.perf_counter()
        process.extract(t, marks, scorer=fuzz.partial_ratio, limit=5)
        naive.append(time.perf_counter() - a)
    return {
        "marks": n_marks,
        "parse_s": t_parse,
        "build_s": t_build,
        "build_cpu_s": c_build,
        "cpu_ms": cpu_ms,
        "save_s": t_save,
        "load_s": t_load,
        "index_mib": index.nbytes() / 2**20,
        "median_ms": 1e3 * statistics.median(lat),
        "p99_ms": 1e3 * pct(lat, 0.99),
        "naive_median_ms": 1e3 * statistics.median(naive),
        "naive_n": len(naive),
        "flagged_share": flagged / len(texts),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*")
    ap.add_argument("--texts", type=int)
    args = ap.parse_args()
    sizes = args.sizes or ([100_000] if args.quick else [1_000_000, 3_000_000])
    n_texts = args.texts or (2_000 if args.quick else 10_000)
    words, names = word_pools()
    rng = random.Random(7)
    seed_marks = generate_marks(20_000, words, random.Random(sizes[0]))
    texts = generate_texts(n_texts, seed_marks, words, names, rng)
    print(f"# bench_text_marks  machine: {machine()}")
    print(
        f"# {n_texts} texts, median length {statistics.median(len(t) for t in texts):.0f} chars; "
        "other jobs share this machine, so timings are noisy"
    )
    print(
        "| marks | build s (cpu) | save s | load s | index MiB | median ms | p99 ms | mean cpu ms "
        "| naive median ms | speed-up (median) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench_text_") as d:
        for n in sizes:
            r = run_size(n, texts, words, Path(d), naive_sample=3 if n >= 1_000_000 else 10)
            ratio = r["naive_median_ms"] / r["median_ms"]
            print(
                f"| {n:,} | {r['build_s']:.1f} ({r['build_cpu_s']:.1f}) | {r['save_s']:.1f} | "
                f"{r['load_s']:.2f} | {r['index_mib']:.0f} | {r['median_ms']:.3f} | {r['p99_ms']:.2f} | "
                f"{r['cpu_ms']:.3f} | "
                f"{r['naive_median_ms']:.0f} (n={r['naive_n']}) | {ratio:,.0f}x |",
                flush=True,
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# peak RSS of the whole run: {rss:.0f} MiB (includes generation and the naive baseline's list)")
    print("# goals: median <= 1 ms at 1M, <= 2 ms at 3M; build <= 60 s at 3M; index <= 1 GiB; load <= 5 s")


if __name__ == "__main__":
    main()
