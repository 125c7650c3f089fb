"""Business hours, escalation, absence and digests: the calendar SLA clocks count in, a
ticket's last agent activity and escalation, an agent's absence and digest period, and the
digest an outbox row was sent in

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = storage.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "business_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendar")),
    )
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("away_since", WHEN, nullable=True))
        batch.add_column(sa.Column("away_until", WHEN, nullable=True))
        batch.add_column(sa.Column("digest_minutes", sa.Integer(), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("agent_active_at", WHEN, nullable=True))
        batch.add_column(sa.Column("escalated_at", WHEN, nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("digest_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_outbox_digest_id_outbox"), "outbox", ["digest_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("fk_outbox_digest_id_outbox"), type_="foreignkey")
        batch.drop_column("digest_id")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("agent_active_at")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("digest_minutes")
        batch.drop_column("away_until")
        batch.drop_column("away_since")
    op.drop_table("business_calendar")
