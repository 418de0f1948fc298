"""Docs that cannot silently rot: the README documents every setting and every top-level command, and
every link, file name and import contract the docs mention exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from typer.main import get_command

from api.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
# A path into the repository in backticks: `retention/purge.py`, `customization_vault/catalog/`,
# `retention/policy.py:decide_epoch` (a name after the colon).
_REPO_PATH = re.compile(
    r"`((?:api|retention|customization_vault|screening|tests|scripts|benchmarks)/[\w./-]*)"
)


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


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in _HEADING.findall(markdown)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_in_the_docs_resolve(doc: Path) -> None:
    text = doc.read_text()
    broken = []
    for target in _LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path).resolve() if path else doc
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked.read_text()):
            broken.append(target)
    assert broken == [], f"{doc.name}: links to nothing: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_the_docs_stand_alone(doc: Path) -> None:
    """A reader has only this repository: no doc may send them to files outside it."""
    assert not re.search(r"\.\./shared|shared/(DESIGN|STYLE)\.md|shared/eval", doc.read_text())


def test_the_architecture_names_only_files_that_exist() -> None:
    named = {m.split(":", 1)[0] for m in _REPO_PATH.findall(ARCHITECTURE.read_text())}
    assert named, "the architecture document names no file at all?"
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == [], f"docs/ARCHITECTURE.md names files that do not exist: {missing}"


def test_the_architecture_names_every_import_contract() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    text = ARCHITECTURE.read_text()
    assert [c["name"] for c in contracts if c["name"] not in text] == []
