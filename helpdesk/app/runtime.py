"""Everything is built here, once: settings, engine, sessions, secret. Tests build their own."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from helpdesk.app import keys
from helpdesk.app.settings import Settings
from helpdesk.domain.auth import DnsFunc
from storage import spool
from storage.db import make_engine, make_session_factory, reading, upgrade


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secret: bytes
    dkim_dns: DnsFunc | None = None  # None: the system resolver (tests give their own)
    previous_secrets: tuple[bytes, ...] = ()  # rotated-out keys, verifying reply addresses only

    def reading(self) -> Session:
        """A session for reads only: on SQLite it takes no write lock (the sessions of
        ``sessions`` begin IMMEDIATE, and would queue behind every writer)."""
        return Session(reading(self.engine), expire_on_commit=False)

    def close(self) -> None:
        spool.release(self.engine)
        self.engine.dispose()


def build(settings: Settings | None = None, *, migrate: bool = False) -> App:
    settings = settings or Settings()
    keys.private_dir(settings.var_dir)
    signing = keys.load(settings)
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    sessions = make_session_factory(engine)
    return App(settings, engine, sessions, signing.current, previous_secrets=signing.previous)
