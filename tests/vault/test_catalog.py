"""The schema migrates up from empty and back down on both databases."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from customization_vault.catalog.db import MIGRATIONS, create_db_engine, current_revision, downgrade, migrate
from customization_vault.catalog.models import Base

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_upgrade_to_head_and_back_to_base(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == HEAD
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        migrate(engine)  # idempotent at every start
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) & set(Base.metadata.tables) == set()
        migrate(engine)
        assert current_revision(engine) == HEAD
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


def _seller_order_item(conn: Connection, *, state: str, **item: str) -> None:
    """Rows as an older schema held them: seller s1, its order o1, and its text item i1."""
    conn.execute(text("INSERT INTO sellers (id, external_id, created_at) VALUES ('s1', 'S', '2026-01-01')"))
    conn.execute(
        text(
            "INSERT INTO orders (id, seller_id, external_id, state, epoch, created_at, purge_step, "
            "purge_attempts) VALUES ('o1', 's1', 'O', 'open', '2026', '2026-01-01', 0, 0)"
        )
    )
    columns = "".join(f", {c}" for c in item)
    values = "".join(f", :{c}" for c in item)
    conn.execute(
        text(
            "INSERT INTO items (id, order_id, kind, content_type, size, stored_size, state, "
            f"created_at{columns}) VALUES ('i1', 'o1', 'text', 'text/plain', 1, 1, :state, "
            f"'2026-01-01'{values})"
        ),
        {"state": state, **item},
    )


def test_review_cases_opened_before_0002_learn_their_order_and_seller(db_url: str) -> None:
    """The upgrade backfills the queue's filter columns from each case's item."""
    engine = create_db_engine(db_url)
    try:
        migrate(engine, "0001")
        with engine.begin() as conn:
            _seller_order_item(conn, state="flagged")
            conn.execute(
                text(
                    "INSERT INTO review_cases (id, item_id, state, created_at) "
                    "VALUES ('c1', 'i1', 'open', '2026-01-01')"
                )
            )
        migrate(engine)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT order_id, seller_id FROM review_cases WHERE id = 'c1'")).one()
        assert tuple(row) == ("o1", "s1")
    finally:
        engine.dispose()


def test_unkeyed_request_digests_are_dropped_by_0007(db_url: str) -> None:
    """Digests stored before 0007 are a plain SHA-256 of the content: the upgrade forgets them."""
    engine = create_db_engine(db_url)
    try:
        migrate(engine, "0006")
        with engine.begin() as conn:
            _seller_order_item(conn, state="clear", idempotency_key="k", request_digest="ab" * 32)
        migrate(engine, "0007")
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT idempotency_key, request_digest FROM items WHERE id = 'i1'")
            ).one()
        assert tuple(row) == ("k", None)
    finally:
        engine.dispose()
