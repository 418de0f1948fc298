"""`customization-vault screen images`: batch image screening over JSON lines (owned by the image engine)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("images")
    def screen_images() -> None:
        """Screen JSON lines {"id","path"} from stdin against a registry of protected images."""
        raise typer.Exit(code=2)
