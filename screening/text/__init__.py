"""Text screening: normalisation with offset maps, offensive-term automaton, trademark index.

Public API: `TextScreener` (screen_text / screen), `default_text_screener()` over the shipped lists,
`build_text_screener(marks, terms, allow)` from paths and the list loaders (a list that cannot be read
raises `screening.errors.ListFormatError`).
"""

from screening.text.errors import TextDecodeError
from screening.text.lists import (
    AllowList,
    Distinctiveness,
    MarkList,
    TermEntry,
    TermList,
    infer_distinctiveness,
    load_allow,
    load_marks,
    load_terms,
)
from screening.text.normalize import NormalizedText, normalize
from screening.text.screener import (
    TextScreener,
    build_text_screener,
    default_text_screener,
    open_mark_index,
    shipped_lists,
)
from screening.text.trademark import MarkIndex

__all__ = [
    "AllowList",
    "Distinctiveness",
    "MarkIndex",
    "MarkList",
    "NormalizedText",
    "TermEntry",
    "TermList",
    "TextDecodeError",
    "TextScreener",
    "build_text_screener",
    "default_text_screener",
    "infer_distinctiveness",
    "load_allow",
    "load_marks",
    "load_terms",
    "normalize",
    "open_mark_index",
    "shipped_lists",
]
