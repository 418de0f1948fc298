"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Dialect, Integer, String
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=enum.Enum)
N = TypeVar("N", bound=enum.IntEnum)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware-UTC datetimes in Python, on both backends.

    SQLite has no time zones and hands back naive values; comparing those with aware `now()` raises.
    Storing naive UTC and re-attaching UTC on the way out keeps one rule everywhere.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; pass an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    """Internal ids are random UUIDs: they name blobs and keys, so they must carry no client data."""
    return str(uuid.uuid4())


class EnumString(TypeDecorator[E]):
    """A state enum stored as its string value (or int, for ordered enums): readable in SQL, typed in Python.

    Values come back as the enum, so a state read from the catalog is never a bare string; an unknown
    value in the database (a newer release's state) fails loudly on read rather than passing as a str.
    """

    impl = String(16)
    cache_ok = True

    def __init__(self, enum_type: type[E]) -> None:
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self.enum_type(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_type(value)


class EnumInt(TypeDecorator[N]):
    """An ordered enum (the purge step) stored as its integer: comparisons work in SQL and Python."""

    impl = Integer
    cache_ok = True

    def __init__(self, enum_type: type[N]) -> None:
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else int(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> N | None:
        return None if value is None else self.enum_type(value)
