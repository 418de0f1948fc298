"""Initial schema: sellers, api keys, orders, wrapped keys, items, findings, reviews, holds, receipts, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 08:39:03.334902
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from customization_vault.catalog.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_events",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("hash"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_target_id"), ["target_id"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The audit chain starts from a fixed genesis head; appenders lock this row to serialise.
    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer),
            sa.column("seq", sa.BigInteger),
            sa.column("hash", sa.String),
        ),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "sellers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("seller_id", sa.String(length=36), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefix"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seller_id", sa.String(length=36), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("first_upload_at", UTCDateTime(), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=True),
        sa.Column("triggered_at", UTCDateTime(), nullable=True),
        sa.Column("purge_due_at", UTCDateTime(), nullable=True),
        sa.Column("purge_step", sa.Integer(), nullable=False),
        sa.Column("purge_attempts", sa.Integer(), nullable=False),
        sa.Column("purge_next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("purge_last_error", sa.String(length=500), nullable=True),
        sa.Column("key_destroyed_at", UTCDateTime(), nullable=True),
        sa.Column("blobs_deleted_at", UTCDateTime(), nullable=True),
        sa.Column("purged_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seller_id", "external_id", name="uq_orders_seller_external"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_state_due", ["state", "purge_due_at"], unique=False)

    op.create_table(
        "items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("metadata_removed", sa.JSON(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_digest", sa.String(length=64), nullable=True),
        sa.Column("perceptual_hash", sa.String(length=128), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("screened_at", UTCDateTime(), nullable=True),
        sa.Column("rejected_at", UTCDateTime(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "idempotency_key", name="uq_items_idempotency"),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_order_id"), ["order_id"], unique=False)

    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("placed_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_holds_order_id"), ["order_id"], unique=False)

    op.create_table(
        "purge_receipts",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_table(
        "wrapped_keys",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("kek_id", sa.String(length=256), nullable=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("rewrapped_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("order_id"),
    )
    with op.batch_alter_table("wrapped_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wrapped_keys_epoch"), ["epoch"], unique=False)

    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("list_ref", sa.String(length=200), nullable=False),
        sa.Column("entry", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("span_start", sa.Integer(), nullable=True),
        sa.Column("span_end", sa.Integer(), nullable=True),
        sa.Column("region", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_findings_item_id"), ["item_id"], unique=False)

    op.create_table(
        "review_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("appealed_at", UTCDateTime(), nullable=True),
        sa.Column("appeal_decision", sa.String(length=16), nullable=True),
        sa.Column("appeal_decided_by", sa.String(length=64), nullable=True),
        sa.Column("appeal_decided_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_cases_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_cases_state"), ["state"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_cases_state"))
        batch_op.drop_index(batch_op.f("ix_review_cases_item_id"))

    op.drop_table("review_cases")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_item_id"))

    op.drop_table("findings")
    with op.batch_alter_table("wrapped_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wrapped_keys_epoch"))

    op.drop_table("wrapped_keys")
    op.drop_table("purge_receipts")
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_holds_order_id"))

    op.drop_table("legal_holds")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_order_id"))

    op.drop_table("items")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_state_due")

    op.drop_table("orders")
    op.drop_table("api_keys")
    op.drop_table("sellers")
    op.drop_table("meta")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_target_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
