"""PostgreSQL helpers shared by the test fixtures, the crash tests and the sweep benchmark."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def fresh_pg_database(server_url: str, prefix: str = "cv_test") -> str:
    """Create an empty database on the server; returns its URL (one per test or benchmark case)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
