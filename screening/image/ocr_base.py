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


@runtime_checkable
class PreviewGate(Protocol):
    """An engine that can tell from a small copy of an image that it surely holds no text.

    Optional: OCR reads at up to 1,280 px, while the image matchers already decoded the upload at
    512 px or so; an engine with this test lets a photo without text skip the second, larger decode.
    """

    def surely_blank(self, preview: Image.Image) -> bool:
        """True only when `preview` (the whole image, scaled down) holds no text for sure; False when
        it may, or when the preview is too small to judge — `read` then decides."""
        ...
