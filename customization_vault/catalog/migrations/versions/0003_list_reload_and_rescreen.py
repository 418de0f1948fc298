"""list reload and re-screen: who runs a job, when it started, which processes use which lists

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from customization_vault.catalog.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_list_loads",
        sa.Column("process", sa.String(length=64), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("alive_until", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("process"),
    )
    with op.batch_alter_table("rescreen_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("started_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_created", ["created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_created")
    with op.batch_alter_table("rescreen_jobs", schema=None) as batch_op:
        batch_op.drop_column("started_at")
        batch_op.drop_column("claimed_by")
    op.drop_table("screening_list_loads")
