"""The database failures callers must tell apart, named here so nobody outside the catalog imports SQLAlchemy.

DuplicateRow         a unique constraint refused a row (a concurrent caller created it first)
DatabaseUnavailable  the database could not be reached or answered with an operational error
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError as DuplicateRow
from sqlalchemy.exc import OperationalError as DatabaseUnavailable

__all__ = ["DatabaseUnavailable", "DuplicateRow"]
