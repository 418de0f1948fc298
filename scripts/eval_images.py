"""Adapter for the logo-matching scorer (`score.py --cmd`): registry from references.jsonl, JSON lines out.

Reads $IMGEVAL_SET, $IMGEVAL_REFERENCES, $IMGEVAL_QUERIES and writes $IMGEVAL_OUT (see score.py):
  .venv/bin/python /work/shared/eval/images/score.py --set SET --cmd ".venv/bin/python scripts/eval_images.py"
Options: --threshold, --radius, --jobs; `--baseline phash` answers with plain imagehash pHash of the
whole image instead (best = nearest reference, score = 1 - distance/64), the baseline to compare with.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from screening.image import ImageRegistry, ImageScreener
from screening.image.errors import ImageError

_SCREENER: ImageScreener | None = None


def _init(registry_dir: str, threshold: float, radius: int | None) -> None:
    global _SCREENER
    _SCREENER = ImageScreener(ImageRegistry.load(Path(registry_dir)), threshold=threshold, radius=radius)


def _answer(task: tuple[str, str]) -> dict[str, object]:
    set_dir, rel = task
    assert _SCREENER is not None
    try:
        report = _SCREENER.match((Path(set_dir) / rel).read_bytes())
    except ImageError:
        return {"file": rel, "matches": [], "best": {"ref_id": None, "score": 0.0}}
    best = report.best
    return {
        "file": rel,
        "matches": [{"ref_id": m.entry, "score": round(m.score, 4)} for m in report.matches],
        "best": {"ref_id": best.entry if best else None, "score": round(best.score, 4) if best else 0.0},
    }


def _phash_baseline(set_dir: Path, refs: list[dict[str, str]], queries: list[str]) -> list[dict[str, object]]:
    import imagehash
    from PIL import Image

    ref_hashes = [(r["ref_id"], imagehash.phash(Image.open(set_dir / r["file"]))) for r in refs]
    answers: list[dict[str, object]] = []
    for q in queries:
        h = imagehash.phash(Image.open(set_dir / q))
        ref_id, dist = min(((rid, h - rh) for rid, rh in ref_hashes), key=lambda x: x[1])
        answers.append({"file": q, "matches": [], "best": {"ref_id": ref_id, "score": 1 - dist / 64}})
    return answers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--radius", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--baseline", choices=["phash"], default=None)
    args = ap.parse_args(argv)
    from screening.image.screener import DEFAULT_THRESHOLD

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    radius = args.radius  # None: the screener's size-adaptive default
    set_dir = Path(os.environ["IMGEVAL_SET"])
    refs = [
        json.loads(x) for x in Path(os.environ["IMGEVAL_REFERENCES"]).read_text().splitlines() if x.strip()
    ]
    queries = [x.strip() for x in Path(os.environ["IMGEVAL_QUERIES"]).read_text().splitlines() if x.strip()]
    if args.baseline == "phash":
        answers = _phash_baseline(set_dir, refs, queries)
        with open(os.environ["IMGEVAL_OUT"], "w") as out:
            out.writelines(json.dumps(a) + "\n" for a in answers)
        return 0
    registry = ImageRegistry("eval", "1")
    for ref in refs:
        try:
            registry.add(ref["ref_id"], (set_dir / ref["file"]).read_bytes())
        except ImageError as exc:  # reported, not fatal: the other references are still scored
            print(f"reference {ref['ref_id']} not registered: {exc}", file=sys.stderr)
    report = registry.report()["by_matcher"]
    print(f"registered {len(registry)}/{len(refs)} references: {report}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        registry.save(Path(tmp))
        with ProcessPoolExecutor(args.jobs, initializer=_init, initargs=(tmp, threshold, radius)) as pool:
            answers = list(pool.map(_answer, [(str(set_dir), q) for q in queries], chunksize=8))
    with open(os.environ["IMGEVAL_OUT"], "w") as out:
        for a in answers:
            out.write(json.dumps(a) + "\n")
    print(f"answered {len(answers)} queries against {len(registry)} references", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
