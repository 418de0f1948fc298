"""`customization-vault screen text`: batch text screening over JSON lines (owned by the text engine)."""

from __future__ import annotations

import enum
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

if TYPE_CHECKING:  # the engine loads when the command runs, not when the CLI lists its commands
    from screening.text import TextScreener

_PROGRESS_EVERY_S = 0.5
_LARGE_INPUT = 10_000  # without a terminal, a progress line every this many texts


class OutputFormat(enum.StrEnum):
    findings = "findings"
    labels = "labels"


def _error_line(line_no: int, item_id: object, reason: str) -> str:
    return json.dumps({"id": item_id, "line": line_no, "error": reason})


def _parse(line: str) -> tuple[object, str | None, str | None]:
    """(id, text, error). The error names what is wrong with the line, never its content."""
    item_id, text, error, _ = _parse_line(line)
    return item_id, text, error


def _parse_line(line: str) -> tuple[object, str | None, str | None, str | None]:
    """(id, text, error, product): a line may name its own product."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None, None, "not valid JSON", None
    if not isinstance(obj, dict):
        return None, None, "expected a JSON object", None
    item_id = obj.get("id")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool):
        return None, None, "'id' must be a string or an integer", None
    text = obj.get("text")
    if not isinstance(text, str):
        return item_id, None, "'text' must be a string", None
    product = obj.get("product")
    if product is not None and not isinstance(product, str):
        return item_id, None, "'product' must be a string", None
    return item_id, text, None, product


def run(
    screener: TextScreener,
    fmt: OutputFormat,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    product: str | None = None,
) -> int:
    """Screens every line; returns the number of malformed lines (each answered with an error line).
    `product`: the default product (a line's own "product" wins), for the register's class filter."""
    from screening.text.register import for_product

    tty = stderr.isatty()
    bad = 0
    done = 0
    busy = 0.0
    started = last_report = time.perf_counter()
    for line_no, raw in enumerate(stdin, start=1):
        if not raw.strip():
            continue
        item_id, text, error, line_product = _parse_line(raw)
        if error is not None or text is None:
            bad += 1
            stdout.write(_error_line(line_no, item_id, error or "bad line") + "\n")
            continue
        t0 = time.perf_counter()
        verdict = for_product(screener.screen_text(text), line_product or product)
        busy += time.perf_counter() - t0
        if fmt is OutputFormat.labels:
            tm = sorted({f.entry for f in verdict.findings if f.kind.value == "trademark"})
            off = any(f.kind.value == "offensive" for f in verdict.findings)
            out: dict[str, object] = {"id": item_id, "trademark": tm, "offensive": off}
        else:
            out = {"id": item_id, **verdict.to_dict()}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        done += 1
        now = time.perf_counter()
        if tty and now - last_report >= _PROGRESS_EVERY_S:
            stderr.write(f"\rscreened {done} texts ({done / (now - started):.0f}/s)")
            stderr.flush()
            last_report = now
        elif not tty and done % _LARGE_INPUT == 0:
            stderr.write(f"screened {done} texts\n")
    if tty and done:
        stderr.write(f"\rscreened {done} texts\n")
    if bad:
        stderr.write(f"{bad} malformed input line(s) answered with an error line\n")
    stderr.write(json.dumps({"busy_s": round(busy, 6), "texts": done}) + "\n")
    stdout.flush()
    return bad


def register(app: typer.Typer) -> None:
    @app.command("text")
    def screen_text(
        marks: Annotated[
            Path | None,
            typer.Option("--marks", help="Marks CSV (header with 'mark'); default: shipped list."),
        ] = None,
        terms: Annotated[
            Path | None,
            typer.Option("--terms", help="Terms CSV ('term') or text file; default: shipped list."),
        ] = None,
        allow: Annotated[
            Path | None, typer.Option("--allow", help="Allow-list of benign phrases; default: shipped list.")
        ] = None,
        register_file: Annotated[
            Path | None,
            typer.Option(
                "--register",
                help="A trademark register to screen against too: a register CSV (.csv) or USPTO "
                "trademark-applications XML (or a zip of it).",
            ),
        ] = None,
        product: Annotated[
            str | None,
            typer.Option("--product", help="What the texts are printed on (a line's own 'product' wins)."),
        ] = None,
        output_format: Annotated[
            OutputFormat,
            typer.Option(
                "--format", help="findings: verdict and findings; labels: {id, trademark, offensive}."
            ),
        ] = OutputFormat.findings,
    ) -> None:
        """Screen JSON lines {"id","text"} from stdin against trademark and offensive-term lists."""
        from screening.errors import ListFormatError
        from screening.text import build_text_screener

        try:
            screener = build_text_screener(marks, terms, allow)
            if register_file is not None:
                screener = _with_register(screener, marks, register_file)
        except ListFormatError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(code=2) from None
        run(screener, output_format, sys.stdin, sys.stdout, sys.stderr, product)


def _with_register(screener: TextScreener, marks: Path | None, path: Path) -> TextScreener:
    """The screener with `path`'s register indexed beside its marks (read as `lists import` reads it;
    bad records are counted on stderr)."""
    from screening.text import TextScreener, load_marks
    from screening.text.register import (
        ImportReport,
        build_register,
        iter_csv_register,
        iter_uspto,
        parse_register,
    )
    from screening.text.screener import shipped_marks
    from screening.text.trademark import MarkIndex

    report = ImportReport()
    reader = iter_csv_register if path.suffix.lower() == ".csv" else iter_uspto
    content = build_register([reader(path, report)], report)
    if report.bad_records:
        typer.echo(f"{report.bad_records} bad register record(s) skipped", err=True)
    register = parse_register(content, path.stem, "file")
    base = load_marks(marks) if marks is not None else shipped_marks()
    index = MarkIndex.build(base, screener.lexicon, register=register)
    return TextScreener(index, screener.terms, screener.allow, screener.lexicon)
