"""Errors of the text screening engine.

ValueError
├── ListFormatError      a mark/term/allow list that cannot be read (names the file and line)
└── TextDecodeError      bytes screened as text that are not UTF-8
"""

from __future__ import annotations


class ListFormatError(ValueError):
    """A bad list row. The message names the file and line and the rule broken, never customer text."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


class TextDecodeError(ValueError):
    """Bytes given as text that are not UTF-8. Names the byte offset only, never the bytes."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"text is not valid UTF-8 (first bad byte at offset {offset})")
        self.offset = offset
