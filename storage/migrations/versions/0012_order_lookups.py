"""Order look-ups: what the order service said about each reference, and when; and when a
ticket last came back to the team (escalation counts from then)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_lookups",
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("checked_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_order_lookups")),
    )
    op.create_index(
        op.f("ix_order_lookups_status_checked_at"), "order_lookups", ["status", "checked_at"]
    )
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column("team_turn_at", storage.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("team_turn_at")
    op.drop_index(op.f("ix_order_lookups_status_checked_at"), table_name="order_lookups")
    op.drop_table("order_lookups")
