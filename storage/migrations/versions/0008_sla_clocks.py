"""SLA clocks: a next-response target per priority, the next-response due date of a ticket, and
the time its resolution clock has spent paused (waiting for the customer)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sla_policies") as batch:
        batch.add_column(sa.Column("next_response_minutes", sa.Integer(), nullable=True))
    op.execute("UPDATE sla_policies SET next_response_minutes = first_response_minutes")
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column("next_response_due", storage.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("sla_paused_at", storage.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("sla_paused_seconds", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("sla_paused_seconds")
        batch.drop_column("sla_paused_at")
        batch.drop_column("next_response_due")
    with op.batch_alter_table("sla_policies") as batch:
        batch.drop_column("next_response_minutes")
