"""`customization-vault screen images`: batch image screening over JSON lines (owned by the image engine).

In: one `{"id": ..., "path": ...}` per line on stdin. Out: one line per input, in input order —
`{"id", "verdict", "findings": [...]}`, or `{"id", "error"}` for an unreadable line or image
(never a traceback). `--format eval` writes the logo-matching scorer's answer shape instead.
Images are screened in a process pool (one registry per worker); a progress bar goes to stderr.
A registry CSV line that cannot be used is reported on stderr with its number and skipped (`--strict`:
refused). `customization-vault screen registry` prints what a registry holds and decided per reference.
"""

from __future__ import annotations

import enum
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # the engine (numpy, scipy, OCR) loads when the command runs, not for `--help`
    from screening.image import ImageRegistry, ImageScreener


class OutputFormat(enum.StrEnum):
    findings = "findings"
    eval = "eval"


_WORKER: ImageScreener | None = None


def _init_worker(registry_dir: str | None, threshold: float | None, radius: int | None, ocr: bool) -> None:
    global _WORKER
    from screening.image import ImageRegistry, ImageScreener
    from screening.image.screener import DEFAULT_THRESHOLD

    registry = ImageRegistry.default() if registry_dir is None else ImageRegistry.load(Path(registry_dir))
    ocr_engine = text_screener = None
    if ocr:
        from screening.image.ocr import default_ocr_engine
        from screening.text.screener import default_text_screener

        ocr_engine, text_screener = default_ocr_engine(), default_text_screener()
    _WORKER = ImageScreener(
        registry,
        ocr_engine,
        text_screener,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        radius=radius,
    )


def _parse(line_no: int, raw: str) -> tuple[object, str | None, str | None]:
    """(id, path, error); the error names the problem, never the content."""
    try:
        obj = json.loads(raw)
    except ValueError:
        return None, None, f"line {line_no}: not valid JSON"
    if not isinstance(obj, dict):
        return None, None, f"line {line_no}: expected a JSON object"
    item_id = obj.get("id")
    path = obj.get("path")
    if not isinstance(path, str) or not path:
        return item_id, None, f"line {line_no}: 'path' must be a non-empty string"
    return item_id, path, None


def _screen_one(task: tuple[object, str, str]) -> dict[str, Any]:
    from screening.image import ImageError

    item_id, path, fmt = task
    assert _WORKER is not None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return {"id": item_id, "error": "cannot read the image file"}
    try:
        if fmt == OutputFormat.eval.value:
            report = _WORKER.match(data)
            best = report.best
            return {
                "file": path,
                "matches": [{"ref_id": m.entry, "score": round(m.score, 4)} for m in report.matches],
                "best": {
                    "ref_id": best.entry if best else None,
                    "score": round(best.score, 4) if best else 0.0,
                },
            }
        verdict = _WORKER.screen_image(data)
    except ImageError as exc:
        return {"id": item_id, "error": str(exc)}
    findings = []
    for f in verdict.findings:
        d = f.to_dict()
        d.setdefault("distance", None)
        d.setdefault("region", None)
        findings.append(d)
    return {"id": item_id, "verdict": verdict.kind.value, "findings": findings}


def _build_registry(path: Path, jobs: int, strict: bool) -> ImageRegistry:
    """The registry from CSV; skipped lines go to stderr. Exits 2 when strict and a line is bad, or when
    no reference at all could be registered."""
    from screening.image import ImageError, ImageRegistry

    try:
        built = ImageRegistry.from_csv(path, workers=jobs, strict=strict)
    except ImageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    for problem in built.problems:
        typer.echo(f"skipped: {problem}", err=True)
    if len(built) == 0:
        typer.echo("error: the registry has no usable reference", err=True)
        raise typer.Exit(code=2)
    return built


def registry_report_lines(report: dict[str, Any]) -> list[str]:
    """`ImageRegistry.report()` as text: a summary, then per reference id, matchers, severity, keypoints and
    label (tab-separated), then the skipped lines. `screen registry` and `lists show --references`."""
    lines = [f"{report['list']}: {report['entries']} references, {report['by_matcher']}"]
    lines += [
        f"{r['id']}\t{'+'.join(r['matchers'])}\t{r['severity']}\t{r['keypoints']}\t{r['label'] or ''}"
        for r in report["references"]
    ]
    lines += [f"skipped line {s['line']}: {s['error']}" for s in report["skipped"]]
    return lines


def register(app: typer.Typer) -> None:
    @app.command("registry")
    def screen_registry(
        registry: Annotated[
            Path | None,
            typer.Option("--registry", help="Registry CSV; default: the shipped simple-icons registry."),
        ] = None,
        strict: Annotated[
            bool, typer.Option("--strict", help="Refuse the registry at its first bad line.")
        ] = (False),
        jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes (default: all cores).")] = (
            os.cpu_count() or 1
        ),
        as_json: Annotated[bool, typer.Option("--json", help="The whole report as JSON.")] = False,
    ) -> None:
        """What a registry holds: per reference its matchers (shape, artwork), severity and keypoints."""
        from screening.image import ImageRegistry

        reg = ImageRegistry.default() if registry is None else _build_registry(registry, jobs, strict)
        report = reg.report()
        if as_json:
            typer.echo(json.dumps(report, ensure_ascii=False))
            return
        for line in registry_report_lines(report):
            typer.echo(line)

    @app.command("images")
    def screen_images(
        registry: Annotated[
            Path | None,
            typer.Option(
                "--registry", help="Registry CSV (id,path[,label,owner]); default: shipped simple-icons."
            ),
        ] = None,
        fmt: Annotated[OutputFormat, typer.Option("--format", help="findings, or eval (scorer shape).")] = (
            OutputFormat.findings
        ),
        jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes (default: all cores).")] = (
            os.cpu_count() or 1
        ),
        threshold: Annotated[
            float | None,
            typer.Option(
                help="Score needed for a finding (default: the image screener's; artwork inliers are mapped)."
            ),
        ] = None,
        radius: Annotated[
            int | None,
            typer.Option(help="Hamming radius of the candidate search (default: sized to the registry)."),
        ] = None,
        ocr: Annotated[
            bool, typer.Option("--ocr/--no-ocr", help="Also read and screen text in images.")
        ] = False,
        strict: Annotated[
            bool, typer.Option("--strict", help="Refuse a registry CSV with any bad line (default: skip it).")
        ] = False,
    ) -> None:
        """Screen JSON lines {"id","path"} from stdin against a registry of protected images."""

        tasks: list[tuple[int, tuple[object, str, str] | dict[str, Any]]] = []
        for line_no, raw in enumerate(sys.stdin, start=1):
            if not raw.strip():
                continue
            item_id, path, error = _parse(line_no, raw)
            if error is not None or path is None:
                tasks.append((line_no, {"id": item_id, "error": error or "bad line"}))
            else:
                tasks.append((line_no, (item_id, path, fmt.value)))
        with tempfile.TemporaryDirectory() as tmp:
            registry_dir: str | None = None
            if registry is not None:
                _build_registry(registry, jobs, strict).save(Path(tmp))
                registry_dir = tmp
            work = [t for _, t in tasks if isinstance(t, tuple)]
            with ProcessPoolExecutor(
                max_workers=jobs, initializer=_init_worker, initargs=(registry_dir, threshold, radius, ocr)
            ) as pool:
                results = pool.map(_screen_one, work, chunksize=4)
                with typer.progressbar(length=len(tasks), label="screening images", file=sys.stderr) as bar:
                    for _, t in tasks:
                        out = t if isinstance(t, dict) else next(results)
                        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
                        bar.update(1)
        sys.stdout.flush()
