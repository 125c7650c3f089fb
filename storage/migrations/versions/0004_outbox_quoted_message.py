"""outbox: the message a notification quotes, as a key

Delivery finds the attachments to send by it. It was a value inside the row's JSON context,
which meant the message had to be flushed (to learn its id) before the row could be written;
as a foreign key the unit of work fills it in. Rows written before are filled from the context.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quoted_message_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_quoted_message_id_messages"),
            "messages",
            ["quoted_message_id"],
            ["id"],
        )
    if op.get_bind().dialect.name == "postgresql":
        quoted = "CAST(context::json -> 'message' ->> 'id' AS INTEGER)"
    else:
        quoted = "CAST(json_extract(context, '$.message.id') AS INTEGER)"
    op.execute(f"UPDATE outbox SET quoted_message_id = {quoted} WHERE status = 'pending'")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_quoted_message_id_messages"), type_="foreignkey"
        )
        batch_op.drop_column("quoted_message_id")
