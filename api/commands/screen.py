"""`customization-vault screen text|images`: the batch screening group (each engine owns its command)."""

from __future__ import annotations

import typer

from api.commands import screen_images, screen_text


def register(app: typer.Typer) -> None:
    screen_app = typer.Typer(
        help="Batch screening of texts and images (JSON lines in, JSON lines out).", no_args_is_help=True
    )
    screen_text.register(screen_app)
    screen_images.register(screen_app)
    app.add_typer(screen_app, name="screen")
