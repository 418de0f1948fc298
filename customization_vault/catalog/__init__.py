"""The catalog database: schema, engines, sessions and migrations."""

from customization_vault.catalog.db import (
    create_db_engine,
    current_revision,
    downgrade,
    is_sqlite,
    make_sessionmaker,
    migrate,
    session_scope,
)

__all__ = [
    "create_db_engine",
    "current_revision",
    "downgrade",
    "is_sqlite",
    "make_sessionmaker",
    "migrate",
    "session_scope",
]
