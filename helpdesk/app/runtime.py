"""Everything is built here, once: settings, engine, sessions, secret. Tests build their own."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from helpdesk.app.settings import SecretStore, Settings
from helpdesk.domain.auth import DnsFunc
from storage import spool
from storage.db import make_engine, make_session_factory, upgrade


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secret: bytes
    dkim_dns: DnsFunc | None = None  # None: the system resolver (tests give their own)

    def close(self) -> None:
        spool.release(self.engine)
        self.engine.dispose()


def build(settings: Settings | None = None, *, migrate: bool = False) -> App:
    settings = settings or Settings()
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    return App(settings, engine, make_session_factory(engine), SecretStore(settings).load())
