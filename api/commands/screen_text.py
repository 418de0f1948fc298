"""`customization-vault screen text`: batch text screening over JSON lines (owned by the text engine)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("text")
    def screen_text() -> None:
        """Screen JSON lines {"id","text"} from stdin against trademark and offensive-term lists."""
        raise typer.Exit(code=2)
