"""Errors shared by every screening engine (each engine's own live beside it: `text/errors.py`, ...).

ValueError
└── ListFormatError      a list file (marks, terms, allow-list, restricted fonts) that cannot be read
"""

from __future__ import annotations

__all__ = ["ListFormatError"]


class ListFormatError(ValueError):
    """A list that cannot be read: names the file, the line (None: the whole file) and the rule broken.

    Lists come from operators, not customers, yet the message still quotes no more of a row than an id.
    """

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason
