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
    verified: bool  # False: its sender was only named by From:, not proven


def comments(
    session: Session, ticket_id: int, internal: bool, page: int = 1, limit: int = 20
) -> tuple[list[Comment], int]:
    """A ticket's public messages, newest first, and how many there are: for the team (with
    ``internal``) its notes too; for its customer only messages proven theirs or the team's."""
    kinds = [MessageKind.PUBLIC, MessageKind.INTERNAL] if internal else [MessageKind.PUBLIC]
    where = and_(Message.ticket_id == ticket_id, Message.kind.in_(kinds))
    if not internal:
        where = and_(where, Message.verified)
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
    return _comments(session, rows), total


def comment_by_id(session: Session, message_id: int) -> Comment:
    message = session.get(Message, message_id)
    assert message is not None
    [found] = _comments(session, [message])
    return found


def _comments(session: Session, rows: list[Message]) -> list[Comment]:
    names = attachment_names(session, [m.id for m in rows])
    return [
        Comment(
            m.id,
            m.kind.value,
            m.author_email,
            m.author_kind.value,
            m.body,
            m.created_at,
            names.get(m.id, []),
            m.verified,
        )
        for m in rows
    ]
