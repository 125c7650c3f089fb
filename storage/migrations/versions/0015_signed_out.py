"""Signing out ends a person's web sessions everywhere: when they (or an admin) last did

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
TABLES = ("agents", "customers")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            column = sa.Column("signed_out_at", storage.base.UTCDateTime(timezone=True))
            batch.add_column(column)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("signed_out_at")
