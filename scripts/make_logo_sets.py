"""Logo evaluation sets from disjoint quarters of simple-icons, for tuning on one and reporting on another.

The public generator (`/work/shared/eval/images/make_dev_set.py`) draws every set from the dev quarter of
the logos (a hash of the slug, mod 4 == 0). This script reuses it unchanged except for that pool: it
builds a set from any chosen quarters, so a set to tune on and a set to report on share no logo, and
both are disjoint from the dev sets. Every logo of the chosen quarters that is not registered is a
negative (`--n-neg-logos` large takes them all): thousands of hard negatives, not hundreds.

Images stay in the cache (never in git):
  python scripts/make_logo_sets.py --quarters 1 --seed 1601 --n-neg-logos 5000   # tuning set
  python scripts/make_logo_sets.py --quarters 2,3 --seed 2602 --n-neg-logos 5000 # held-out set
It prints the set folder. Other options are passed to the generator (`--n-ref`, `--n-pos`, `--jobs`).

A negative logo that CONTAINS a registered one (a product mark drawn around a company mark) is a true
match, not a false one. The generator keeps negatives whose silhouette is >= 0.90 IoU of a reference
out of the negatives, but not marks that hold a reference inside a larger design. `--contains FILE`
(lines `registered-slug containing-slug`, each pair checked by eye) relabels such negatives as
positives of that reference (kind `contains`), so the scorer counts them as matches.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

_GENERATOR = Path(os.environ.get("IMGEVAL_GENERATOR", "/work/shared/eval/images/make_dev_set.py"))


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_dev_set", _GENERATOR)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the generator {_GENERATOR}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_dev_set"] = module  # its workers pickle its functions by module name
    spec.loader.exec_module(module)
    return module


def quarter(slug: str) -> int:
    """The generator's pool of a logo: the dev sets use quarter 0."""
    return int(hashlib.sha256(slug.encode()).hexdigest(), 16) % 4


def relabel_containing(out: Path, pairs: set[tuple[str, str]]) -> int:
    """Negatives whose logo holds a registered one become positives of that reference."""
    refs = [json.loads(x) for x in (out / "references.jsonl").read_text().splitlines() if x.strip()]
    by_slug = {r["slug"]: r["ref_id"] for r in refs}
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines() if x.strip()]
    changed = 0
    for row in rows:
        for slug, holder in pairs:
            if row["kind"] == "negative_logo" and row["source"] == holder and slug in by_slug:
                row.update(label=by_slug[slug], kind="contains")
                changed += 1
    (out / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quarters", default="1", help="comma-separated quarters (0 is the dev sets' pool)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument(
        "--cache", default=os.environ.get("IMGEVAL_CACHE", os.path.expanduser("~/.cache/cv-imgeval"))
    )
    ap.add_argument(
        "--contains", type=Path, help="lines 'registered-slug containing-slug' to relabel as matches"
    )
    a, rest = ap.parse_known_args(argv)
    quarters = {int(q) for q in a.quarters.split(",")}
    gen = _load_generator()
    setattr(gen, "in_pool", lambda slug, pool: quarter(slug) in quarters)  # noqa: B010 (a module patched)
    name = "q" + "".join(str(q) for q in sorted(quarters))
    out = Path(a.cache) / f"set-si{gen.SIMPLE_ICONS_VERSION}-s{a.seed}-{name}"
    rc = int(gen.main(["--cache", a.cache, "--seed", str(a.seed), "--out", str(out), *rest]))
    if rc == 0 and a.contains is not None:
        pairs = {
            (x.split()[0], x.split()[1]) for x in a.contains.read_text().splitlines() if len(x.split()) == 2
        }
        print(
            f"relabelled {relabel_containing(out, pairs)} marks holding a reference as matches",
            file=sys.stderr,
        )
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
