"""Everything is built here, once: settings, engine, sessions, secret. Tests build their own."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from helpdesk.app import keys
from helpdesk.app.settings import Settings
from helpdesk.domain.auth import DnsFunc
from storage import spool
from storage.checkpoints import AUTOCHECKPOINT_BEHIND, Checkpointer
from storage.db import make_engine, make_session_factory, reading, upgrade


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secret: bytes
    dkim_dns: DnsFunc | None = None  # None: the system resolver (tests give their own)
    previous_secrets: tuple[bytes, ...] = ()  # rotated-out keys, verifying reply addresses only
    checkpointer: Checkpointer | None = None  # SQLite checkpoints in the background, if started

    def reading(self) -> Session:
        """A session for reads only: on SQLite it takes no write lock (the sessions of
        ``sessions`` begin IMMEDIATE, and would queue behind every writer)."""
        return Session(reading(self.engine), expire_on_commit=False)

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        spool.release(self.engine)
        self.engine.dispose()


def build(
    settings: Settings | None = None, *, migrate: bool = False, checkpoints: bool = False
) -> App:
    """The application; with ``checkpoints``, for a process that writes most of the database
    (the workers), SQLite's checkpoints run in a thread of their own (``storage.checkpoints``)."""
    settings = settings or Settings()
    keys.private_dir(settings.var_dir)
    signing = keys.load(settings)
    behind = AUTOCHECKPOINT_BEHIND if checkpoints else None
    engine = make_engine(settings.resolved_database_url, wal_autocheckpoint=behind)
    if migrate:
        upgrade(engine)
    sessions = make_session_factory(engine)
    checkpointer = Checkpointer(engine) if checkpoints else None
    if checkpointer is not None:
        checkpointer.start()
    return App(
        settings,
        engine,
        sessions,
        signing.current,
        previous_secrets=signing.previous,
        checkpointer=checkpointer,
    )
