"""API tokens: an agent's bearer tokens for the HTTP API. A token is 32 random bytes, shown once;
only its SHA-256 is kept, so a copy of the database gives no one a working token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Agent, ApiToken

PREFIX = "hd_"  # recognisable in a log or a leak scanner
USE_RECORDED = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, agent: Agent, name: str, now: datetime) -> tuple[ApiToken, str]:
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(agent=agent, name=name, digest=digest(token), created_at=now)
    session.add(row)
    session.flush()
    return row, token


def holder(session: Session, token: str, now: datetime) -> tuple[Agent | None, int | None]:
    """The active agent whose live token this is, or None; and the token's id when its last
    use should be recorded (``used``)."""
    if not token.startswith(PREFIX):
        return None, None
    row = session.scalar(
        select(ApiToken).where(ApiToken.digest == digest(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.agent.active:
        return None, None
    stale = row.last_used_at is None or now - row.last_used_at > USE_RECORDED
    return row.agent, row.id if stale else None


def used(session: Session, token_id: int, now: datetime) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = now
