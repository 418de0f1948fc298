"""The README documents every setting and every top-level command (docs that cannot silently rot)."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from api.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_readme_lists_every_setting() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("settings_table", ROOT / "scripts" / "settings_table.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    readme = (ROOT / "README.md").read_text()
    missing = [v for v in mod.all_variables() if f"`{v}`" not in readme]
    assert missing == [], f"run: python scripts/settings_table.py --write README.md (missing {missing})"


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text()[:1500]
    assert "make run" in head
    assert "make test" in head


def test_every_command_has_help() -> None:
    root = get_command(app)
    assert root.help
    stack = [(root, root.make_context("customization-vault", [], resilient_parsing=True))]
    while stack:
        cmd, ctx = stack.pop()
        assert cmd.help or cmd.short_help, cmd.name
        for name in getattr(cmd, "list_commands", lambda _ctx: [])(ctx):
            sub = cmd.get_command(ctx, name)  # type: ignore[attr-defined]
            stack.append((sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True)))
