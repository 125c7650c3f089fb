"""Read side: a ticket's conversation, page by page, for the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from helpdesk.domain.vocabulary import MessageKind
from storage.models import Message
from storage.queries import attachment_names


@dataclass(frozen=True)
class Comment:
    id: int
    kind: str
    author: str
    author_kind: str
    body: str
    created_at: datetime
    attachments: list[str]


def comments(
    session: Session, ticket_id: int, internal: bool, page: int = 1, limit: int = 20
) -> tuple[list[Comment], int]:
    """A ticket's public messages (and, with ``internal``, its notes), newest first; and how
    many there are."""
    kinds = [MessageKind.PUBLIC, MessageKind.INTERNAL] if internal else [MessageKind.PUBLIC]
    where = and_(Message.ticket_id == ticket_id, Message.kind.in_(kinds))
    total = session.scalar(select(func.count(Message.id)).where(where)) or 0
    rows = list(
        session.scalars(
            select(Message)
            .where(where)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .offset((max(page, 1) - 1) * limit)
            .limit(limit)
        )
    )
    names = attachment_names(session, [m.id for m in rows])
    found = [
        Comment(
            m.id,
            m.kind.value,
            m.author_email,
            m.author_kind.value,
            m.body,
            m.created_at,
            names.get(m.id, []),
        )
        for m in rows
    ]
    return found, total
