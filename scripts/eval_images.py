"""Adapter for the logo-matching scorer (`score.py --cmd`): registry from references.jsonl, JSON lines out.

Reads $IMGEVAL_SET, $IMGEVAL_REFERENCES, $IMGEVAL_QUERIES and writes $IMGEVAL_OUT (see score.py):
  .venv/bin/python /work/shared/eval/images/score.py --set SET --cmd ".venv/bin/python scripts/eval_images.py"
Options: --threshold, --radius, --jobs.
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


def _init(registry_dir: str, threshold: float, radius: int) -> None:
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--radius", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    from screening.image.screener import DEFAULT_RADIUS, DEFAULT_THRESHOLD

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    radius = DEFAULT_RADIUS if args.radius is None else args.radius
    set_dir = Path(os.environ["IMGEVAL_SET"])
    refs = [
        json.loads(x) for x in Path(os.environ["IMGEVAL_REFERENCES"]).read_text().splitlines() if x.strip()
    ]
    queries = [x.strip() for x in Path(os.environ["IMGEVAL_QUERIES"]).read_text().splitlines() if x.strip()]
    registry = ImageRegistry("eval", "1")
    for ref in refs:
        registry.add(ref["ref_id"], (set_dir / ref["file"]).read_bytes())
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
