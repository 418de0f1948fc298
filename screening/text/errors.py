"""Errors of the text screening engine (a list that cannot be read is `screening.errors.ListFormatError`).

ValueError
└── TextDecodeError      bytes screened as text that are not UTF-8
"""

from __future__ import annotations


class TextDecodeError(ValueError):
    """Bytes given as text that are not UTF-8. Names the byte offset only, never the bytes."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"text is not valid UTF-8 (first bad byte at offset {offset})")
        self.offset = offset
