"""Where the IMAP poller and backfill stand in each mailbox (``imap_mailboxes``).

The poller writes the place after the mail it covers is committed and flagged (or moved): a
crash before it makes the next run search from the older place, which passes over the mail
flagged or moved already and fetches the rest again, stored once by the intake's duplicate key.
A backfill changes nothing in its folder: its place, (INTERNALDATE, UID), is all it resumes by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import ImapMailbox

MAILBOXES: Table = ImapMailbox.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Place:
    """The last mail taken: its UID under ``uidvalidity`` (and, for a backfill, its date)."""

    uidvalidity: int
    last_uid: int = 0
    last_date: datetime | None = None


def load(engine: Engine, mailbox: str) -> Place | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(MAILBOXES.c.uidvalidity, MAILBOXES.c.last_uid, MAILBOXES.c.last_date).where(
                MAILBOXES.c.mailbox == mailbox
            )
        ).first()
    return None if row is None else Place(row.uidvalidity, row.last_uid, row.last_date)


def save(engine: Engine, mailbox: str, place: Place) -> None:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    values = {
        "uidvalidity": place.uidvalidity,
        "last_uid": place.last_uid,
        "last_date": place.last_date,
        "updated_at": datetime.now(UTC),
    }
    statement = dialect.insert(MAILBOXES).values(mailbox=mailbox, **values)
    statement = statement.on_conflict_do_update(index_elements=["mailbox"], set_=values)
    with engine.begin() as connection:
        connection.execute(statement)
