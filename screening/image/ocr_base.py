"""The OCR seam: an engine reads text lines from an image so the text screener can check them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One line of recognised text and its box (x, y, w, h) in the pixels of the image given."""

    text: str
    box: tuple[int, int, int, int]
    confidence: float

    def __repr__(self) -> str:
        # The text is customer content: keep it out of reprs and logs.
        return f"OcrLine(box={self.box}, confidence={self.confidence:.2f}, chars={len(self.text)})"


@runtime_checkable
class OcrEngine(Protocol):
    name: str

    def read(self, image: Image.Image) -> list[OcrLine]:
        """Every text line found; an empty list when there is none. Never downloads anything."""
        ...
