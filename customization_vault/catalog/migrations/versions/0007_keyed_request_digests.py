"""keyed request digests: forget the unkeyed ones

Request digests were a plain SHA-256 of an item's kind and bytes: a short text could be found again by
guessing. They are now an HMAC under a key derived from the order's data key (`_crypto.request_digest`),
which a migration can not compute, so the old ones are dropped. A retry that reuses the Idempotency-Key
of an upload made before this revision answers 409 (it can no longer be proven the same request).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE items SET request_digest = NULL WHERE request_digest IS NOT NULL")


def downgrade() -> None:
    """Nothing to restore: the unkeyed digests are gone on purpose."""
