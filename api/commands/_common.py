"""Shared CLI plumbing: settings from the environment plus command-line overrides, and error exits.

Imports of settings and backends happen inside the functions: a command module that uses this one
must stay cheap to import, because `COMMAND --help` and shell completion import it too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from api.settings import Settings
    from api.wiring import Services

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory of the embedded default (env CV_DATA_DIR; default ./var)"
    ),
]


def load_settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    from api.settings import Settings

    values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    try:
        return Settings(**values)
    except ValueError as exc:
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(code=2) from exc


@contextmanager
def services(settings: Settings) -> Iterator[Services]:
    """Build the backends for one command; domain errors become a one-line message and exit code 1."""
    from api.wiring import build_services
    from customization_vault.errors import VaultError

    try:
        svc = build_services(settings)
    except VaultError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    try:
        yield svc
    except VaultError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    finally:
        svc.close()


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
