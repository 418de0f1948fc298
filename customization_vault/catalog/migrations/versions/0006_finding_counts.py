"""finding counts: what the dashboard keeps of purged items' findings

The purge deletes an item's findings with its content (their entry and label name what the customer
wrote or drew). The dashboard's "top matched entries" still counts them: before deleting, the purge
adds them to these per-day, per-entry counts, which name no order, item or position.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finding_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("list_ref", sa.String(length=200), nullable=False),
        sa.Column("entry", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "list_ref", "entry"),
    )


def downgrade() -> None:
    op.drop_table("finding_counts")
