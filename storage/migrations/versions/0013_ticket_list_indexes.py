"""The ticket list at a million tickets: an index per filter in the newest-first order, with the
assignee columns (an agent's view is checked on the index), replacing the status, the customer and
the bare assignee indexes; the tags as rows of their own (``ticket_tags``, with the ticket's creation
time and assignee, filled from every ticket's list) for the tag filter

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEW = ["assignee_agent_id", "assignee_group_id"]
TAG_INDEX = "ix_ticket_tags_view"
INDEXES = {
    "ix_tickets_created_at_view": ["created_at", "id", *VIEW],
    "ix_tickets_status_view": ["status", "created_at", "id", *VIEW],
    "ix_tickets_status_priority_view": ["status", "priority", "created_at", "id", *VIEW],
    "ix_tickets_priority_view": ["priority", "created_at", "id", *VIEW],
    "ix_tickets_category_view": ["category", "created_at", "id", *VIEW],
    "ix_tickets_customer_view": ["customer_id", "created_at", "id", *VIEW],
    "ix_tickets_assignee_agent_id_created_at_id": ["assignee_agent_id", "created_at", "id"],
    "ix_tickets_assignee_group_id_assignee_agent_id_created_at_id": [
        "assignee_group_id",
        "assignee_agent_id",
        "created_at",
        "id",
    ],
}
REPLACED = {
    "ix_tickets_status_created_at": ["status", "created_at"],
    "ix_tickets_customer_id_created_at": ["customer_id", "created_at"],
    "ix_tickets_assignee_agent_id": ["assignee_agent_id"],
    "ix_tickets_assignee_group_id": ["assignee_group_id"],
}
# every ticket's tags as rows (lower case, the first 100 characters, once each)
FILL_SQLITE = (
    "INSERT OR IGNORE INTO ticket_tags "
    "(ticket_id, tag, created_at, assignee_agent_id, assignee_group_id) "
    "SELECT tickets.id, substr(lower(trim(tag.value)), 1, 100), tickets.created_at, "
    "tickets.assignee_agent_id, tickets.assignee_group_id "
    "FROM tickets, json_each(tickets.tags) AS tag "
    "WHERE tag.type = 'text' AND trim(tag.value) != ''"
)
FILL_POSTGRESQL = (
    "INSERT INTO ticket_tags (ticket_id, tag, created_at, assignee_agent_id, assignee_group_id) "
    "SELECT DISTINCT tickets.id, left(lower(trim(tag)), 100), tickets.created_at, "
    "tickets.assignee_agent_id, tickets.assignee_group_id "
    "FROM tickets, json_array_elements_text(tickets.tags) AS tag "
    "WHERE json_typeof(tickets.tags) = 'array' AND trim(tag) != ''"
)


def upgrade() -> None:
    op.create_table(
        "ticket_tags",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assignee_agent_id", sa.Integer(), nullable=True),
        sa.Column("assignee_group_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_tags_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", "tag", name=op.f("pk_ticket_tags")),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(FILL_SQLITE if sqlite else FILL_POSTGRESQL)
    op.create_index(TAG_INDEX, "ticket_tags", ["tag", "created_at", "ticket_id", *VIEW])
    for name, columns in INDEXES.items():
        op.create_index(op.f(name), "tickets", columns)
    for name in REPLACED:
        op.drop_index(op.f(name), table_name="tickets")


def downgrade() -> None:
    for name, columns in REPLACED.items():
        op.create_index(op.f(name), "tickets", columns)
    for name in INDEXES:
        op.drop_index(op.f(name), table_name="tickets")
    op.drop_index(TAG_INDEX, table_name="ticket_tags")
    op.drop_table("ticket_tags")
