"""screening jobs: the durable queue between an upload and its verdict

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from customization_vault.catalog.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("crashes", sa.Integer(), nullable=False),
        sa.Column("available_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id"),
    )
    with op.batch_alter_table("screening_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_screening_jobs_due", ["state", "available_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_screening_jobs_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screening_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_jobs_order_id"))
        batch_op.drop_index("ix_screening_jobs_due")
    op.drop_table("screening_jobs")
