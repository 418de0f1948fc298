"""The ids clients choose — a seller's order ids, the marketplace's seller ids — and the one rule for them.

They travel in URL paths and `Location` headers and name objects in the catalog, so they are limited
to a set that needs no escaping anywhere and cannot be read as a path step: an ASCII letter or digit,
then up to 127 of letters, digits, `.`, `_`, `:` and `-`. `.` and `..` can never match (the first
character is alphanumeric). Internal ids (UUIDs) fit the same rule, so one path pattern serves both.

    A-1001            valid
    2026:DE:000123    valid
    €-1               refused (not ASCII)
    a?b, a/b, a%3Fb   refused (query, path and escape characters)
    .., .hidden       refused (a path step, or a leading dot)
"""

from __future__ import annotations

import re

from customization_vault.errors import InvalidInput

__all__ = [
    "ID_PATTERN",
    "MAX_ID_LENGTH",
    "PRODUCT_PATTERN",
    "InvalidId",
    "check_id",
    "check_product",
    "is_internal_id",
    "is_valid_id",
]

MAX_ID_LENGTH = 128
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
_ID = re.compile(ID_PATTERN)
# What `catalog.types.new_id` makes: a random UUID in its canonical lower-case form.
_INTERNAL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class InvalidId(InvalidInput):
    code = "invalid_id"


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def is_internal_id(value: str) -> bool:
    """True for an id the service made itself (sellers', orders', items', cases' internal ids)."""
    return _INTERNAL_ID.fullmatch(value) is not None


def check_id(value: str, what: str) -> str:
    """`value` unchanged, or `InvalidId` naming `what` and the rule (never echoing the value)."""
    if not is_valid_id(value):
        raise InvalidId(
            f"{what} is 1-{MAX_ID_LENGTH} characters: an ASCII letter or digit, then letters, digits, "
            "'.', '_', ':' or '-'"
        )
    return value


PRODUCT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._\-]{0,63}$"
_PRODUCT = re.compile(PRODUCT_PATTERN)


def check_product(value: str | None) -> str | None:
    """A product name as a seller writes it ("t-shirt", "Phone case"): 1-64 ASCII letters, digits,
    spaces, '.', '_' or '-', starting with a letter or digit. A name the product file does not know is
    accepted (it is screened against every class); None and "" mean no product."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or _PRODUCT.fullmatch(value) is None:
        raise InvalidId(
            "a product is 1-64 characters: an ASCII letter or digit, then letters, digits, "
            "' ', '.', '_' or '-'"
        )
    return value
