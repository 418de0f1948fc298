"""The CLI answers `--help` and completion without loading the engines, and every command still runs.

Timing is `benchmarks/bench_cli.py`'s business; what is tested here is the behaviour that makes it
fast: which modules a command's start-up imports (checked in a fresh interpreter each time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from api.cli import COMMANDS, app

# The engines (image hashing, OCR, numeric stacks) and the server's frameworks.
ENGINES = ("numpy", "scipy", "PIL", "onnxruntime", "rapidocr_onnxruntime", "imagehash", "cv2", "ahocorasick")
BACKENDS = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "pydantic_settings", "boto3")

_PROBE = """
import json, sys
from api.cli import main
sys.argv = ["customization-vault", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
print("\\n@@" + json.dumps(sorted(m for m in sys.modules if "." not in m)), file=sys.stderr)
"""


def imported_by(args: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """Top-level modules loaded by running the CLI with `args` in a fresh interpreter; and its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    marker = proc.stderr.rsplit("\n@@", 1)
    assert len(marker) == 2, proc.stderr[-2000:]
    return set(json.loads(marker[1])), proc.stdout


def test_root_help_lists_every_command_and_loads_neither_engines_nor_backends() -> None:
    modules, out = imported_by(["--help"])
    for name in COMMANDS:
        assert name in out
    assert modules.isdisjoint(ENGINES + BACKENDS), modules & set(ENGINES + BACKENDS)
    assert not any(m.startswith(("screening", "customization_vault", "retention")) for m in modules)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_commands_help_loads_no_engine(name: str) -> None:
    modules, out = imported_by([name, "--help"])
    assert "Usage" in out
    assert modules.isdisjoint(ENGINES), modules & set(ENGINES)


def test_a_light_command_runs_without_the_engines(tmp_path: Path) -> None:
    env = {"CV_ENVIRONMENT": "test", "CV_BOOTSTRAP_DEMO": "false"}
    modules, out = imported_by(["audit", "verify", "--data-dir", str(tmp_path / "var")], env)
    assert "audit chain intact: 0 events" in out
    assert modules.isdisjoint(ENGINES), modules & set(ENGINES)


def test_completion_of_command_names_loads_no_command_module() -> None:
    env = {"_CUSTOMIZATION_VAULT_COMPLETE": "complete_bash", "COMP_WORDS": "customization-vault h"}
    env["COMP_CWORD"] = "1"
    modules, out = imported_by([], env)
    assert out.split() == ["holds"]
    assert modules.isdisjoint(ENGINES + BACKENDS)


def test_the_listing_says_what_each_command_says_of_itself() -> None:
    """`COMMANDS` repeats each command's first help paragraph so `--help` need not import it."""
    root = get_command(app)
    ctx = root.make_context("customization-vault", [], resilient_parsing=True)
    for name, entry in COMMANDS.items():
        real = root.get_command(ctx, name)  # type: ignore[attr-defined]
        assert real is not None, name
        first = (real.short_help or real.help or "").strip().split("\n\n", 1)[0]
        assert entry.help == " ".join(first.split()), name


def test_the_cli_role_choices_are_the_domain_roles() -> None:
    from api.commands.admin import RoleName
    from customization_vault.apikeys import Role

    assert [r.value for r in RoleName] == [r.value for r in Role]
