"""The `customization-vault` command line: a typer app whose commands load on first use.

`--help` and shell completion list the commands from the table below without importing them, so they
answer in a fraction of a second; running a command imports its module (`api.commands.*`) and only
what that command needs. Each module has `register(app)`, which adds its commands and groups.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class Entry:
    """A top-level command or group: the module that registers it and its one-line help."""

    module: str
    help: str


# Order is the order of `--help`. The help lines repeat the commands' own first lines; a test keeps
# them equal, so the listing never drifts from what `COMMAND --help` says.
COMMANDS: dict[str, Entry] = {
    "serve": Entry(
        "api.commands.serve",
        "Run the HTTP API (OpenAPI at /docs); first start in development creates demo API keys.",
    ),
    "worker": Entry(
        "api.commands.retention",
        'Screen uploads, drive every order that must be purged to "purged" (also expiry, orphans and '
        "KEK epochs) and deliver the seller webhooks waiting in the outbox.",
    ),
    "init": Entry(
        "api.commands.admin",
        "Prepare the data directory: migrate the catalog and check the key provider and blob store.",
    ),
    "keys": Entry("api.commands.admin", "Key-encryption keys and API keys."),
    "audit": Entry("api.commands.admin", "The hash-chained audit log."),
    "db": Entry("api.commands.admin", "Catalog database schema."),
    "receipts": Entry("api.commands.retention", "Signed purge receipts."),
    "holds": Entry("api.commands.retention", "Legal holds: the only thing that pauses a purge (audited)."),
    "sellers": Entry("api.commands.sellers", "Sellers: their decision webhooks."),
    "doctor": Entry(
        "api.commands.doctor",
        "Check this deployment's settings and backends (database, bucket, KMS key, queue, screening "
        "jobs) and say what is wrong; exit 1 if anything must be fixed. Changes nothing.",
    ),
    "screen": Entry(
        "api.commands.screen", "Batch screening of texts and images (JSON lines in, JSON lines out)."
    ),
    "lists": Entry(
        "api.commands.lists",
        "Screening list versions (marks, terms, allow, images, fonts, register) and re-screens.",
    ),
}


@functools.cache
def _load_module(module: str) -> dict[str, Any]:
    """The click commands a module registers, by name (imports the module and what it needs); once
    per process, as its `register` adds to module-level groups."""
    sub = typer.Typer()
    importlib.import_module(module).register(sub)
    return dict(typer.main.get_group(sub).commands)


class LazyGroup(TyperGroup):
    """The root group: lists `COMMANDS` from their help lines, imports a module when a command runs.

    Listing happens in `--help` and in shell completion of a command name; there `get_command`
    answers a placeholder carrying the name and help. Anything else (running a command, its own
    `--help`, completing its options) gets the real command.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False
        self._loaded: dict[str, Any] = {}
        for name, entry in COMMANDS.items():
            self.commands.setdefault(name, TyperCommand(name, help=entry.help))

    @contextmanager
    def _only_listing(self) -> Iterator[None]:
        self._listing, before = True, self._listing
        try:
            yield
        finally:
            self._listing = before

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None or self._listing:
            return super().get_command(ctx, cmd_name)
        if cmd_name not in self._loaded:
            commands = _load_module(entry.module)
            mine = {n: c for n, c in commands.items() if n in COMMANDS and COMMANDS[n].module == entry.module}
            self._loaded.update(mine)
            self.commands.update(mine)
        return self._loaded[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with self._only_listing():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        with self._only_listing():
            return super().shell_complete(ctx, incomplete)


app = typer.Typer(
    name="customization-vault",
    cls=LazyGroup,
    help="Encrypted per-order customization data: screening, review, fulfilment and purge.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a crash's locals may hold an API key or customer text
)


@app.callback()
def _root() -> None:
    """Encrypted per-order customization data: screening, review, fulfilment and purge."""


def main() -> None:
    app()
