"""The schema migrates up from empty and back down on both databases."""

from __future__ import annotations

from sqlalchemy import inspect

from customization_vault.catalog.db import create_db_engine, current_revision, downgrade, migrate
from customization_vault.catalog.models import Base


def test_upgrade_to_head_and_back_to_base(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == "0001"
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        migrate(engine)  # idempotent at every start
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) & set(Base.metadata.tables) == set()
        migrate(engine)
        assert current_revision(engine) == "0001"
    finally:
        engine.dispose()


def test_models_match_the_migrated_schema(db_url: str) -> None:
    """Autogenerate against a migrated database finds nothing to add: models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_db_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()
