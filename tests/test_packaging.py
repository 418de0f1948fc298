"""Packaging that installs quietly: `pip install` of the server or of the client prints no deprecation
wall. setuptools >= 77 warns, at length and on every build, about a `project.license` TOML table and
about `License ::` classifiers; the string form (an SPDX expression, PEP 639) is the one it accepts
silently, and only setuptools >= 77 understands it, so the build backend must ask for that."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECTS = [ROOT / "pyproject.toml", ROOT / "clients" / "python" / "pyproject.toml"]


def _setuptools_floor(requires: list[str]) -> tuple[int, ...] | None:
    for req in requires:
        m = re.fullmatch(r"setuptools\s*>=\s*([\d.]+)", req.strip())
        if m:
            return tuple(int(p) for p in m.group(1).split("."))
    return None


@pytest.mark.parametrize("path", PYPROJECTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_license_is_an_spdx_string_the_build_backend_understands(path: Path) -> None:
    data = tomllib.loads(path.read_text())
    project = data["project"]
    assert isinstance(project["license"], str), "a license table prints setuptools' deprecation wall"
    assert project["license"].strip()
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]
    floor = _setuptools_floor(data["build-system"]["requires"])
    assert floor is not None
    assert floor >= (77,), "older setuptools refuses a license string"
