"""inbound mail: the bytes in a table of their own

A mail's row is updated when the mail is processed, and SQLite rewrites a whole row on update,
the 10-50 KB of the raw mail included. In ``inbound_raws`` the bytes are written once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_raws",
        sa.Column("mail_id", ID, nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mail_id"], ["inbound_mails.id"], name=op.f("fk_inbound_raws_mail_id_inbound_mails")
        ),
        sa.PrimaryKeyConstraint("mail_id", name=op.f("pk_inbound_raws")),
    )
    op.execute("INSERT INTO inbound_raws (mail_id, raw) SELECT id, raw FROM inbound_mails")
    op.drop_column("inbound_mails", "raw")


def downgrade() -> None:
    op.add_column("inbound_mails", sa.Column("raw", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE inbound_mails SET raw = "
        "(SELECT raw FROM inbound_raws WHERE inbound_raws.mail_id = inbound_mails.id)"
    )
    if op.get_bind().dialect.name == "postgresql":  # SQLite would rebuild the table for it
        op.alter_column("inbound_mails", "raw", nullable=False)
    op.drop_table("inbound_raws")
