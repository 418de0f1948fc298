"""The lists each screening engine is built from: the newest stored version of a kind when there is
one, else the `CV_SCREENING__*_PATH` file, else the shipped list.

A list from the catalog is named `<kind>@<version>` (e.g. `marks@3`) in the findings it produces, so a
finding names the exact stored version that matched; a file keeps its own "name@content-hash" and the
shipped lists their upstream release. Engines are imported here lazily, as `api.wiring` does, so a
process without an engine installed can still report it missing instead of failing to import.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from customization_vault.config import ScreeningConfig
from customization_vault.lists import ENGINE_LISTS, ListKind, StoredLists, registry_from_archive

if TYPE_CHECKING:
    from screening.fonts import RestrictedFontList
    from screening.image.registry import ImageRegistry
    from screening.text.screener import TextScreener

__all__ = ["image_registry", "restricted_fonts", "text_screener"]


def text_screener(cfg: ScreeningConfig, stored: StoredLists) -> TextScreener:
    from screening.text.lexicon import default_lexicon
    from screening.text.lists import load_allow, load_marks, load_terms, parse_allow, parse_marks, parse_terms
    from screening.text.register import parse_register
    from screening.text.screener import (
        TextScreener,
        build_text_screener,
        open_mark_index,
        shipped_lists,
        shipped_marks,
    )
    from screening.text.trademark import MarkIndex

    if not any(k in stored for k in ENGINE_LISTS["text"]):
        return build_text_screener(cfg.marks_path, cfg.terms_path, cfg.allow_path)
    lexicon = default_lexicon()
    shipped_index, shipped_terms, shipped_allow = shipped_lists()

    s = stored.get(ListKind.MARKS)
    reg = stored.get(ListKind.REGISTER)
    marks: MarkIndex
    if reg is not None:
        # The marks list and the register share one index (one lookup per text for both).
        register = parse_register(reg.content, reg.kind.value, str(reg.version))
        if s is not None:
            base = replace(parse_marks(s.content, s.kind.value, s.ref), version=str(s.version))
        else:
            base = load_marks(cfg.marks_path) if cfg.marks_path is not None else shipped_marks()
        marks = MarkIndex.build(base, lexicon, register=register)
    elif s is not None:
        marks = MarkIndex.build(
            replace(parse_marks(s.content, s.kind.value, s.ref), version=str(s.version)), lexicon
        )
    else:
        marks = open_mark_index(cfg.marks_path, lexicon) if cfg.marks_path is not None else shipped_index
    s = stored.get(ListKind.TERMS)
    if s is not None:
        terms = replace(parse_terms(s.content, s.kind.value, s.ref), version=str(s.version))
    else:
        terms = load_terms(cfg.terms_path) if cfg.terms_path is not None else shipped_terms
    s = stored.get(ListKind.ALLOW)
    if s is not None:
        allow = replace(parse_allow(s.content, s.kind.value, s.ref), version=str(s.version))
    else:
        allow = load_allow(cfg.allow_path) if cfg.allow_path is not None else shipped_allow
    return TextScreener(marks, terms, allow, lexicon)


def image_registry(cfg: ScreeningConfig, stored: StoredLists) -> ImageRegistry:
    from screening.image.registry import ImageRegistry

    images = stored.get(ListKind.IMAGES)
    if images is not None:
        return registry_from_archive(images.content, images.version)
    if cfg.registry_path is not None:
        return ImageRegistry.from_csv(cfg.registry_path)
    return ImageRegistry.default()


def restricted_fonts(cfg: ScreeningConfig, stored: StoredLists) -> RestrictedFontList | None:
    """None: the font engine's shipped default."""
    from screening.fonts import load_restricted_fonts, parse_restricted_fonts

    fonts = stored.get(ListKind.FONTS)
    if fonts is not None:
        parsed = parse_restricted_fonts(fonts.content, name=fonts.kind.value, source=fonts.ref)
        return replace(parsed, version=str(fonts.version))
    if cfg.restricted_fonts_path is not None:
        return load_restricted_fonts(cfg.restricted_fonts_path)
    return None
