"""trademark registers: findings keep the register's facts; orders and items name their product

`findings.register` holds what a trademark register says about a matched mark (serial and
registration numbers, status, Nice classes, owner, famous): public facts, no customer content, deleted
with the finding. `orders.product` and `items.product` name what the customization is printed on, which
maps to the Nice classes the class filter screens against (an item's own product wins over its
order's).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("register", sa.JSON(), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("product", sa.String(64), nullable=True))
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("product", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("product")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("product")
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("register")
