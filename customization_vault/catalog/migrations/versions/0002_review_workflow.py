"""review workflow: cases, webhooks, outbox, list versions, rescreen jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:08:27.457686
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from customization_vault.catalog.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seller_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["delivered_at", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "rescreen_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("cleared", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.String(length=36), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "screening_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "version", name="uq_screening_lists_kind_version"),
    )
    op.create_table(
        "seller_webhooks",
        sa.Column("seller_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
        ),
        sa.PrimaryKeyConstraint("seller_id"),
    )
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("seller_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("list_ref", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("escalated_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("appeal_statement", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("appeal_reason_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("appeal_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("closed_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_review_cases_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_review_cases_queue", ["state", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_cases_seller_id"), ["seller_id"], unique=False)
    # Cases opened before this revision learn their order and seller from their item.
    op.execute(
        "UPDATE review_cases SET order_id = "
        "(SELECT items.order_id FROM items WHERE items.id = review_cases.item_id)"
    )
    op.execute(
        "UPDATE review_cases SET seller_id = "
        "(SELECT orders.seller_id FROM orders WHERE orders.id = review_cases.order_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_cases_seller_id"))
        batch_op.drop_index("ix_review_cases_queue")
        batch_op.drop_index(batch_op.f("ix_review_cases_order_id"))
        batch_op.drop_column("closed_at")
        batch_op.drop_column("closed_reason")
        batch_op.drop_column("appeal_note")
        batch_op.drop_column("appeal_reason_code")
        batch_op.drop_column("appeal_statement")
        batch_op.drop_column("note")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalated_by")
        batch_op.drop_column("score")
        batch_op.drop_column("list_ref")
        batch_op.drop_column("kind")
        batch_op.drop_column("seller_id")
        batch_op.drop_column("order_id")

    op.drop_table("seller_webhooks")
    op.drop_table("screening_lists")
    op.drop_table("rescreen_jobs")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_seller_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
