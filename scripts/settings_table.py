"""Print the README's configuration table from `api.settings.Settings`, so the docs cannot drift.

Usage: python scripts/settings_table.py [--write README.md]  (a test checks README lists every variable).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from api.settings import Settings


def rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        ann: Any = field.annotation
        env = f"{prefix}{name.upper()}"
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.extend(rows(ann, env + "__"))
            continue
        out.append((env, _default(field), field.description or ""))
    return out


def _default(field: FieldInfo) -> str:
    d = field.get_default(call_default_factory=True)
    if d is None:
        return "—"
    if hasattr(d, "value"):
        d = d.value
    return f"`{d}`"


def all_variables() -> list[str]:
    return [r[0] for r in rows(Settings, "CV_")]


BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{env}` | {default} | {desc} |" for env, default, desc in rows(Settings, "CV_")]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        path = Path(sys.argv[2])
        text = path.read_text()
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        path.write_text(f"{head}{BEGIN}\n{table()}\n{END}{tail}")
        return
    print(table())


if __name__ == "__main__":
    main()
