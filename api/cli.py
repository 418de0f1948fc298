"""The `customization-vault` command line: one typer app assembled from `api.commands` modules."""

from __future__ import annotations

import typer

from api.commands import admin, retention, screen_images, screen_text, serve

app = typer.Typer(
    name="customization-vault",
    help="Encrypted per-order customization data: screening, review, fulfilment and purge.",
    no_args_is_help=True,
    add_completion=False,
)
screen_app = typer.Typer(
    help="Batch screening of texts and images (JSON lines in, JSON lines out).", no_args_is_help=True
)
screen_text.register(screen_app)
screen_images.register(screen_app)
app.add_typer(screen_app, name="screen")
admin.register(app)
serve.register(app)
retention.register(app)


def main() -> None:
    app()
