"""Blob key validation shared by the stores: keys are ids joined by '/', nothing a path could abuse."""

from __future__ import annotations

import re

_PART = re.compile(r"[A-Za-z0-9_-]{1,128}")


def key_parts(key: str) -> list[str]:
    """Split and validate a key. Rejects '.', '..', empty parts, separators and anything non-id-like.

    Keys come from internal ids, but validating here means a bug upstream (or a hostile catalog row)
    still cannot address a path outside the store's root or collide with our temp files ('.tmp-*').
    """
    parts = key.split("/")
    if not all(_PART.fullmatch(p) for p in parts):
        raise ValueError("blob keys are '/'-joined ids of [A-Za-z0-9_-]")
    return parts
