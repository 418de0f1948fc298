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


def folder_prefix(prefix: str) -> str:
    """Validate a prefix that names a whole folder ("seller/order/"): whole-order deletes and checks
    must never match a sibling whose id merely starts the same way."""
    if not prefix.endswith("/"):
        raise ValueError("a prefix to delete or check must name a whole folder (end with '/')")
    key_parts(prefix[:-1])
    return prefix
