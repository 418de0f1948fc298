"""Alembic environment: runs against the engine handed in by `catalog.db.migrate` (no alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from customization_vault.catalog.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through customization_vault.catalog.db.migrate(engine)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
